-- plant_energy_hourly: per (vendor, plant) and local hour (keyed by hour_utc), kWh.
--
-- source = 'load_monitor' where the plant's load monitor sent samples that day: PV, load, grid import and
--   export from it; battery charge/discharge from the plant's inverters with a battery.
-- source = 'devices' otherwise: from the inverters. PV: where an inverter's PV meter stands for the whole
--   plant (pv_scope 'plant': an AC-coupled storage inverter metering the grid-tied inverter beside it), the
--   plant's PV is that meter's alone (in an hour where it sent samples), so it is counted once; else the sum of
--   the inverters' own PV. Load and grid come from the inverters that measure them; a plant whose inverters
--   measure only PV knows only its PV: load and grid are NULL (unknown), and its battery terms 0 (it has none).
-- self_consumed = pv - grid_export.
-- Inputs: device_energy_hourly (warehouse), conformed_samples (the load monitors'). Parameter: $days.
CREATE TABLE IF NOT EXISTS plant_energy_hourly (
    vendor                 VARCHAR,
    plant_id               VARCHAR,
    day                    DATE,
    hour_local             TIMESTAMP,
    hour_utc               TIMESTAMPTZ,
    pv_kwh                 DOUBLE,
    load_kwh               DOUBLE,
    grid_import_kwh        DOUBLE,
    grid_export_kwh        DOUBLE,
    battery_charge_kwh     DOUBLE,
    battery_discharge_kwh  DOUBLE,
    self_consumed_kwh      DOUBLE,
    source                 VARCHAR,
    samples                INTEGER
);

DELETE FROM plant_energy_hourly WHERE day IN (SELECT unnest($days));

INSERT INTO plant_energy_hourly BY NAME
WITH plant_kind AS (
    SELECT vendor, plant_id, day, count(DISTINCT device_sn) AS devices, bool_or(has_battery) AS has_storage
    FROM device_energy_hourly
    WHERE day IN (SELECT unnest($days))
    GROUP BY vendor, plant_id, day
),
-- From the inverters' own hours (not their samples again). An hour is as complete as its least complete
-- inverter: `samples` is the fewest readable samples any of the plant's inverters had, 0 if one sent none.
dev_hourly AS (
    SELECT
        d.vendor, d.plant_id, d.day, d.hour_utc,
        min(d.hour_local) AS hour_local,
        CASE WHEN count(*) FILTER (WHERE d.pv_scope = 'plant') > 0
             THEN sum(d.pv_kwh) FILTER (WHERE d.pv_scope = 'plant')
             ELSE sum(d.pv_kwh) END                                          AS pv_kwh,
        sum(d.load_kwh)                                                      AS load_kwh,
        sum(d.grid_import_kwh)                                               AS grid_import_kwh,
        sum(d.grid_export_kwh)                                               AS grid_export_kwh,
        CASE WHEN any_value(k.has_storage) THEN sum(d.battery_charge_kwh) ELSE 0 END    AS battery_charge_kwh,
        CASE WHEN any_value(k.has_storage) THEN sum(d.battery_discharge_kwh) ELSE 0 END AS battery_discharge_kwh,
        CASE WHEN count(*) = any_value(k.devices) THEN min(d.samples) ELSE 0 END AS samples,
        any_value(k.has_storage)                                             AS has_storage
    FROM device_energy_hourly AS d
    JOIN plant_kind AS k ON k.vendor = d.vendor AND k.plant_id = d.plant_id AND k.day = d.day
    WHERE d.day IN (SELECT unnest($days))
    GROUP BY d.vendor, d.plant_id, d.day, d.hour_utc
),
mon_hourly AS (
    SELECT
        vendor, plant_id, day,
        ts_utc - (ts_local - date_trunc('hour', ts_local)) AS hour_utc,
        min(date_trunc('hour', ts_local))                  AS hour_local,
        sum(pv_kwh)                                        AS pv_kwh,
        sum(load_kwh)                                      AS load_kwh,
        sum(grid_import_kwh)                               AS grid_import_kwh,
        sum(grid_export_kwh)                               AS grid_export_kwh,
        bit_count(bit_or(slot_bit(ts_local)))              AS samples
    FROM conformed_samples
    WHERE source = 'load_monitor' AND day IN (SELECT unnest($days))
    GROUP BY vendor, plant_id, day, hour_utc
),
mon_days AS (SELECT DISTINCT vendor, plant_id, day FROM mon_hourly),
from_monitor AS (
    SELECT
        m.vendor, m.plant_id, m.day, m.hour_local, m.hour_utc,
        m.pv_kwh, m.load_kwh, m.grid_import_kwh, m.grid_export_kwh,
        CASE WHEN k.has_storage IS NULL OR NOT k.has_storage THEN 0.0 ELSE h.battery_charge_kwh END    AS battery_charge_kwh,
        CASE WHEN k.has_storage IS NULL OR NOT k.has_storage THEN 0.0 ELSE h.battery_discharge_kwh END AS battery_discharge_kwh,
        'load_monitor' AS source,
        m.samples
    FROM mon_hourly AS m
    LEFT JOIN plant_kind AS k ON k.vendor = m.vendor AND k.plant_id = m.plant_id AND k.day = m.day
    LEFT JOIN dev_hourly AS h ON h.vendor = m.vendor AND h.plant_id = m.plant_id AND h.day = m.day
                             AND h.hour_utc = m.hour_utc
),
from_devices AS (
    SELECT
        h.vendor, h.plant_id, h.day, h.hour_local, h.hour_utc,
        h.pv_kwh, h.load_kwh, h.grid_import_kwh, h.grid_export_kwh,
        h.battery_charge_kwh, h.battery_discharge_kwh,
        'devices' AS source,
        h.samples
    FROM dev_hourly AS h
    WHERE NOT EXISTS (SELECT 1 FROM mon_days AS md
                      WHERE md.vendor = h.vendor AND md.plant_id = h.plant_id AND md.day = h.day)
)
SELECT *, pv_kwh - grid_export_kwh AS self_consumed_kwh
FROM (SELECT * FROM from_monitor UNION ALL BY NAME SELECT * FROM from_devices)
ORDER BY vendor, plant_id, hour_utc;
