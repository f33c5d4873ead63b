-- self_consumption_daily: per (vendor, plant) and local day, energies (kWh), flows, the two rates, and how much
-- of the day was measured and where its energies come from (the README's definitions).
--
-- energy_basis:
--   'samples'    every interval of the local day was measured: the energies are the sums of its hours;
--   'counters'   samples are missing, but the vendor's own day counters cover the gap: the energies are those
--                counters (the portal's day totals, else the inverters' own), the hours stay as measured;
--   'incomplete' samples are missing and nothing covers them: the energies are what was measured, too low.
-- Flows and rates are those of the measured intervals (a rate needs the interval split): self_consumption_rate
-- = (pv_to_load + pv_to_battery) / pv, self_sufficiency_rate = (pv_to_load + battery_to_load) / load, both in
-- [0, 1]; self_consumed_kwh and self_supplied_kwh apply them to the day's pv and load.
-- Inputs: plant_energy_hourly (warehouse), conformed_plants, conformed_devices, conformed_plant_day_totals,
-- conformed_device_day_totals. Parameter: $days.
CREATE TABLE IF NOT EXISTS self_consumption_daily (
    vendor                 VARCHAR,
    plant_id               VARCHAR,
    day                    DATE,
    -- @columns energies
    -- @columns flows
    self_consumed_kwh      DOUBLE,
    self_supplied_kwh      DOUBLE,
    self_consumption_rate  DOUBLE,
    self_sufficiency_rate  DOUBLE,
    hours                  INTEGER,
    samples                INTEGER,
    expected_samples       INTEGER,
    coverage               DOUBLE,
    energy_basis           VARCHAR,
    source                 VARCHAR
);

DELETE FROM self_consumption_daily WHERE day IN (SELECT unnest($days));

INSERT INTO self_consumption_daily BY NAME
WITH measured AS (
    SELECT vendor, plant_id, day,
           sum(COLUMNS(lambda c: c LIKE '%_kwh' AND c <> 'self_consumed_kwh')),  -- every energy and flow
           count(*) AS hours, sum(samples) AS samples, sum(coverage) * 3600 AS measured_s,
           min(expected_samples) AS per_hour, sum(expected_samples) AS hours_expected,
           string_agg(DISTINCT source, ',') AS source
    FROM plant_energy_hourly
    WHERE day IN (SELECT unnest($days))
    GROUP BY vendor, plant_id, day
),
day_length AS (  -- the local day's seconds: 23, 24 or 25 hours
    SELECT DISTINCT ON (vendor, plant_id, day) vendor, plant_id, day,
           epoch(timezone(time_zone, CAST(day + 1 AS TIMESTAMP))) - epoch(timezone(time_zone, CAST(day AS TIMESTAMP)))
               AS day_s
    FROM conformed_plants
    WHERE day IN (SELECT unnest($days)) AND time_zone IS NOT NULL
    ORDER BY vendor, plant_id, day, fetched_at DESC
),
portal AS (
    SELECT DISTINCT ON (vendor, plant_id, day) *
    FROM conformed_plant_day_totals
    WHERE day IN (SELECT unnest($days))
    ORDER BY vendor, plant_id, day, fetched_at DESC
),
-- The inverters' own day counters, where every inverter of the plant has one (a plant's PV counted once).
device_counters AS (
    SELECT t.vendor, t.plant_id, t.day,
           CASE WHEN bool_or(d.pv_scope = 'plant') THEN sum(t.pv_kwh) FILTER (WHERE d.pv_scope = 'plant')
                ELSE sum(t.pv_kwh) END AS pv_kwh,
           sum(t.load_kwh) AS load_kwh, sum(t.grid_import_kwh) AS grid_import_kwh,
           sum(t.grid_export_kwh) AS grid_export_kwh,
           count(*) = any_value(n.inverters) AS every_inverter
    FROM conformed_device_day_totals AS t
    JOIN conformed_devices AS d ON d.vendor = t.vendor AND d.device_sn = t.device_sn AND d.day = t.day
    JOIN (SELECT vendor, plant_id, day, count(DISTINCT device_sn) AS inverters FROM conformed_devices
          WHERE device_kind = 'inverter' GROUP BY ALL) AS n
      ON n.vendor = t.vendor AND n.plant_id = t.plant_id AND n.day = t.day
    WHERE t.day IN (SELECT unnest($days))
    GROUP BY t.vendor, t.plant_id, t.day
),
counters AS (
    SELECT m.vendor, m.plant_id, m.day,
           coalesce(p.today_pv_kwh, dc.pv_kwh)                          AS pv_kwh,
           coalesce(p.today_load_kwh, dc.load_kwh)                      AS load_kwh,
           coalesce(p.today_grid_import_kwh, dc.grid_import_kwh)        AS grid_import_kwh,
           coalesce(p.today_grid_export_kwh, dc.grid_export_kwh)        AS grid_export_kwh,
           p.today_battery_charge_kwh                                    AS battery_charge_kwh,
           p.today_battery_discharge_kwh                                 AS battery_discharge_kwh
    FROM measured AS m
    LEFT JOIN portal AS p ON p.vendor = m.vendor AND p.plant_id = m.plant_id AND p.day = m.day
    LEFT JOIN device_counters AS dc ON dc.vendor = m.vendor AND dc.plant_id = m.plant_id AND dc.day = m.day
                                   AND dc.every_inverter
),
judged AS (
    SELECT m.*, c.pv_kwh AS c_pv, c.load_kwh AS c_load, c.grid_import_kwh AS c_import,
           c.grid_export_kwh AS c_export, c.battery_charge_kwh AS c_charge, c.battery_discharge_kwh AS c_discharge,
           -- every hour of the local day at the hours' interval, or the hours' own counts where they vary
           CAST(round(greatest(l.day_s / 3600 * m.per_hour, m.hours_expected)) AS INTEGER) AS expected_samples,
           least(m.measured_s / l.day_s, 1.0) AS coverage,
           CASE WHEN m.measured_s >= l.day_s - 1 THEN 'samples'
                -- counters cover the day if they give every term the samples give
                WHEN c.pv_kwh IS NOT NULL
                     AND (m.load_kwh IS NULL OR c.load_kwh IS NOT NULL)
                     AND (m.grid_import_kwh IS NULL OR (c.grid_import_kwh IS NOT NULL AND c.grid_export_kwh IS NOT NULL))
                     AND (coalesce(m.battery_charge_kwh, 0) + coalesce(m.battery_discharge_kwh, 0) = 0
                          OR (c.battery_charge_kwh IS NOT NULL AND c.battery_discharge_kwh IS NOT NULL))
                THEN 'counters'
                ELSE 'incomplete' END AS energy_basis
    FROM measured AS m
    JOIN counters AS c ON c.vendor = m.vendor AND c.plant_id = m.plant_id AND c.day = m.day
    LEFT JOIN day_length AS l ON l.vendor = m.vendor AND l.plant_id = m.plant_id AND l.day = m.day
),
rated AS (
    SELECT * EXCLUDE (pv_kwh, load_kwh, grid_import_kwh, grid_export_kwh, battery_charge_kwh, battery_discharge_kwh),
        CASE WHEN energy_basis = 'counters' THEN c_pv ELSE pv_kwh END                           AS pv_kwh,
        CASE WHEN energy_basis = 'counters' AND load_kwh IS NOT NULL THEN c_load ELSE load_kwh END AS load_kwh,
        CASE WHEN energy_basis = 'counters' AND grid_import_kwh IS NOT NULL THEN c_import
             ELSE grid_import_kwh END                                                           AS grid_import_kwh,
        CASE WHEN energy_basis = 'counters' AND grid_export_kwh IS NOT NULL THEN c_export
             ELSE grid_export_kwh END                                                           AS grid_export_kwh,
        CASE WHEN energy_basis = 'counters' AND c_charge IS NOT NULL THEN c_charge
             ELSE battery_charge_kwh END                                                        AS battery_charge_kwh,
        CASE WHEN energy_basis = 'counters' AND c_discharge IS NOT NULL THEN c_discharge
             ELSE battery_discharge_kwh END                                                     AS battery_discharge_kwh,
        share(pv_to_load_kwh + pv_to_battery_kwh, pv_to_load_kwh + pv_to_battery_kwh + pv_to_grid_kwh)
                                                                                                AS self_consumption_rate,
        share(pv_to_load_kwh + battery_to_load_kwh, pv_to_load_kwh + battery_to_load_kwh + grid_to_load_kwh)
                                                                                                AS self_sufficiency_rate
    FROM judged
)
SELECT vendor, plant_id, day, pv_kwh, load_kwh, grid_import_kwh, grid_export_kwh, battery_charge_kwh,
       battery_discharge_kwh, pv_to_load_kwh, pv_to_battery_kwh, pv_to_grid_kwh, grid_to_load_kwh,
       grid_to_battery_kwh, battery_to_load_kwh, battery_to_grid_kwh,
       self_consumption_rate * pv_kwh AS self_consumed_kwh,
       self_sufficiency_rate * load_kwh AS self_supplied_kwh,
       self_consumption_rate, self_sufficiency_rate,
       hours, samples, expected_samples, coverage, energy_basis, source
FROM rated
ORDER BY vendor, plant_id, day;
