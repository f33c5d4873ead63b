-- device_samples: one row per device and 5-minute sample (powers W, SOC %), keyed by (device_sn, ts_utc).
-- Input: stg_device_samples. Parameter: $days.
CREATE TABLE IF NOT EXISTS device_samples (
    device_sn            VARCHAR,
    plant_id             VARCHAR,
    day                  DATE,
    ts_local             TIMESTAMP,
    ts_utc               TIMESTAMPTZ,
    device_type          INTEGER,
    pv_w                 DOUBLE,
    load_w               DOUBLE,
    grid_import_w        DOUBLE,
    grid_export_w        DOUBLE,
    battery_charge_w     DOUBLE,
    battery_discharge_w  DOUBLE,
    battery_soc_pct      DOUBLE,
    self_use_w           DOUBLE,
    today_energy_kwh     DOUBLE
);

DELETE FROM device_samples WHERE day IN (SELECT unnest($days));

INSERT INTO device_samples BY NAME
SELECT device_sn, plant_id, day, ts_local, ts_utc, device_type, pv_w, load_w, grid_import_w, grid_export_w,
       battery_charge_w, battery_discharge_w, battery_soc_pct, self_use_w, today_energy_kwh
FROM stg_device_samples
WHERE day IN (SELECT unnest($days));
-- No ORDER BY: the staging files are written in (plant, device, time) order per day already, and sorting a
-- year of a large fleet again was most of a full rebuild's time.
