-- device_samples: one row per inverter sample (powers W, SOC %), keyed by (vendor, device_sn, ts_utc); the
-- sample stands for [ts_utc, ts_utc + interval_s). Input: conformed_samples. Parameter: $days.
CREATE TABLE IF NOT EXISTS device_samples (
    vendor               VARCHAR,
    device_sn            VARCHAR,
    plant_id             VARCHAR,
    day                  DATE,
    ts_local             TIMESTAMP,
    ts_utc               TIMESTAMPTZ,
    interval_s           INTEGER,
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
SELECT vendor, device_sn, plant_id, day, ts_local, ts_utc, interval_s, device_type, pv_w, load_w, grid_import_w,
       grid_export_w, battery_charge_w, battery_discharge_w, battery_soc_pct, self_use_w, today_energy_kwh
FROM conformed_samples
WHERE source = 'device' AND day IN (SELECT unnest($days));
-- No ORDER BY: the conformed files are written in (plant, device, time) order per day already, and sorting a
-- year of a large fleet again was most of a full rebuild's time.
