-- plant_energy_hourly: per (vendor, plant) and local hour (keyed by hour_utc), kWh, with the energy flows and
-- how much of the hour was measured.
--
-- Each measured interval of the plant is built first, then split into flows, then summed by hour:
-- source = 'load_monitor' where the plant's load monitor sent samples that day: PV, load, grid import and
--   export from it; battery charge/discharge from the monitor if it measures them, else from the plant's
--   inverters with a battery at the same instant.
-- source = 'devices' otherwise: from the inverters at each instant. PV: where an inverter's PV meter stands for
--   the whole plant (pv_scope 'plant': an AC-coupled storage inverter metering the grid-tied inverter beside
--   it), the plant's PV is that meter's alone (at an instant where it sent a sample), so it is counted once;
--   else the sum of the inverters' own PV. Load and grid come from the inverters that measure them; a plant
--   whose inverters measure only PV knows only its PV: load, grid and flows are NULL (unknown), and its battery
--   terms 0 (it has none).
-- Flows, per interval, where PV, load and battery are known (the rule in the README, "Definitions"): PV serves
--   the load first, then charges the battery, then goes to the grid; the battery's discharge serves the load
--   first, then goes to the grid; the grid supplies the rest of the load and of the charge.
-- samples: the intervals of the hour in which every source the plant needs sent a readable sample;
--   expected_samples: how many intervals the hour has (3600 / the interval; where intervals vary in length, as
--   SolaX's do, the intervals there are); coverage: the share of the hour those samples cover.
-- self_consumed = pv_to_load + pv_to_battery (the PV not sent to the grid).
-- Inputs: conformed_samples. Parameter: $days.
CREATE TABLE IF NOT EXISTS plant_energy_hourly (
    vendor                 VARCHAR,
    plant_id               VARCHAR,
    day                    DATE,
    hour_local             TIMESTAMP,
    hour_utc               TIMESTAMPTZ,
    -- @columns energies
    -- @columns flows
    self_consumed_kwh      DOUBLE,
    source                 VARCHAR,
    samples                INTEGER,
    expected_samples       INTEGER,
    coverage               DOUBLE
);

DELETE FROM plant_energy_hourly WHERE day IN (SELECT unnest($days));

INSERT INTO plant_energy_hourly BY NAME
WITH inverters AS (
    SELECT * FROM conformed_samples WHERE source = 'device' AND day IN (SELECT unnest($days))
),
plant_kind AS (
    SELECT vendor, plant_id, day, count(DISTINCT device_sn) AS devices, bool_or(has_battery) AS has_storage
    FROM inverters
    GROUP BY ALL
),
-- The plant's inverters at each instant; complete where every one of them sent a readable sample.
from_inverters AS (
    SELECT
        d.vendor, d.plant_id, d.day, d.ts_utc,
        min(d.ts_local)                                                      AS ts_local,
        min(d.interval_s)                                                    AS interval_s,
        CASE WHEN bool_or(d.pv_scope = 'plant')
             THEN sum(d.pv_kwh) FILTER (WHERE d.pv_scope = 'plant')
             ELSE sum(d.pv_kwh) END                                          AS pv_kwh,
        sum(d.load_kwh)                                                      AS load_kwh,
        sum(d.grid_import_kwh)                                               AS grid_import_kwh,
        sum(d.grid_export_kwh)                                               AS grid_export_kwh,
        CASE WHEN any_value(k.has_storage) THEN sum(d.battery_charge_kwh) ELSE 0 END    AS battery_charge_kwh,
        CASE WHEN any_value(k.has_storage) THEN sum(d.battery_discharge_kwh) ELSE 0 END AS battery_discharge_kwh,
        count(*) FILTER (WHERE d.readable) = any_value(k.devices)            AS complete
    FROM inverters AS d
    JOIN plant_kind AS k ON k.vendor = d.vendor AND k.plant_id = d.plant_id AND k.day = d.day
    GROUP BY d.vendor, d.plant_id, d.day, d.ts_utc
),
from_monitor AS (
    SELECT vendor, plant_id, day, ts_utc, min(ts_local) AS ts_local, min(interval_s) AS interval_s,
           sum(pv_kwh) AS pv_kwh, sum(load_kwh) AS load_kwh, sum(grid_import_kwh) AS grid_import_kwh,
           sum(grid_export_kwh) AS grid_export_kwh, sum(battery_charge_kwh) AS battery_charge_kwh,
           sum(battery_discharge_kwh) AS battery_discharge_kwh, bool_and(readable) AS complete
    FROM conformed_samples
    WHERE source = 'load_monitor' AND day IN (SELECT unnest($days))
    GROUP BY vendor, plant_id, day, ts_utc
),
monitored_days AS (SELECT DISTINCT vendor, plant_id, day FROM from_monitor),
intervals AS (
    SELECT
        m.vendor, m.plant_id, m.day, m.ts_utc, m.ts_local, m.interval_s,
        m.pv_kwh, m.load_kwh, m.grid_import_kwh, m.grid_export_kwh,
        CASE WHEN m.battery_charge_kwh IS NOT NULL THEN m.battery_charge_kwh
             WHEN coalesce(k.has_storage, false) THEN i.battery_charge_kwh ELSE 0.0 END       AS battery_charge_kwh,
        CASE WHEN m.battery_discharge_kwh IS NOT NULL THEN m.battery_discharge_kwh
             WHEN coalesce(k.has_storage, false) THEN i.battery_discharge_kwh ELSE 0.0 END    AS battery_discharge_kwh,
        'load_monitor' AS source,
        m.complete AND (m.battery_charge_kwh IS NOT NULL OR NOT coalesce(k.has_storage, false)
                        OR coalesce(i.complete, false))                                       AS complete
    FROM from_monitor AS m
    LEFT JOIN plant_kind AS k ON k.vendor = m.vendor AND k.plant_id = m.plant_id AND k.day = m.day
    LEFT JOIN from_inverters AS i ON i.vendor = m.vendor AND i.plant_id = m.plant_id AND i.day = m.day
                                 AND i.ts_utc = m.ts_utc
    UNION ALL BY NAME
    SELECT i.*, 'devices' AS source
    FROM from_inverters AS i
    WHERE NOT EXISTS (SELECT 1 FROM monitored_days AS md
                      WHERE md.vendor = i.vendor AND md.plant_id = i.plant_id AND md.day = i.day)
),
flows AS (
    SELECT *,
        lesser(pv_kwh, load_kwh)                                             AS pv_to_load_kwh,
        lesser(pv_kwh - lesser(pv_kwh, load_kwh), battery_charge_kwh)        AS pv_to_battery_kwh,
        lesser(battery_discharge_kwh, load_kwh - lesser(pv_kwh, load_kwh))   AS battery_to_load_kwh
    FROM intervals
)
SELECT
    vendor, plant_id, day,
    date_trunc('hour', min(ts_local))                                    AS hour_local,
    ts_utc - (ts_local - date_trunc('hour', ts_local))                   AS hour_utc,
    sum(pv_kwh)                                                          AS pv_kwh,
    sum(load_kwh)                                                        AS load_kwh,
    sum(grid_import_kwh)                                                 AS grid_import_kwh,
    sum(grid_export_kwh)                                                 AS grid_export_kwh,
    sum(battery_charge_kwh)                                              AS battery_charge_kwh,
    sum(battery_discharge_kwh)                                           AS battery_discharge_kwh,
    sum(pv_to_load_kwh)                                                  AS pv_to_load_kwh,
    sum(pv_to_battery_kwh)                                               AS pv_to_battery_kwh,
    sum(pv_kwh - pv_to_load_kwh - pv_to_battery_kwh)                     AS pv_to_grid_kwh,
    sum(load_kwh - pv_to_load_kwh - battery_to_load_kwh)                 AS grid_to_load_kwh,
    sum(battery_charge_kwh - pv_to_battery_kwh)                          AS grid_to_battery_kwh,
    sum(battery_to_load_kwh)                                             AS battery_to_load_kwh,
    sum(battery_discharge_kwh - battery_to_load_kwh)                     AS battery_to_grid_kwh,
    sum(pv_to_load_kwh + pv_to_battery_kwh)                              AS self_consumed_kwh,
    any_value(source)                                                    AS source,
    count(*) FILTER (WHERE complete)                                     AS samples,
    greatest(count(*), CAST(round(3600 / max(interval_s)) AS INTEGER))   AS expected_samples,
    coalesce(sum(interval_s) FILTER (WHERE complete), 0) / 3600.0        AS coverage
FROM flows
GROUP BY vendor, plant_id, day, hour_utc
ORDER BY vendor, plant_id, hour_utc;
