-- device_energy_hourly: per device and local hour (keyed by hour_utc, so a 25-hour day has 25 rows), the
-- energy in kWh of the samples that arrived: each sample stamped T stands for [T, T+5 min), power × 5 min.
-- A missing sample is a gap, not energy; `samples` counts the samples whose values could all be read. Input: device_samples. Parameter: $days.
CREATE TABLE IF NOT EXISTS device_energy_hourly (
    device_sn              VARCHAR,
    plant_id               VARCHAR,
    day                    DATE,
    hour_local             TIMESTAMP,
    hour_utc               TIMESTAMPTZ,
    device_type            INTEGER,
    pv_kwh                 DOUBLE,
    load_kwh               DOUBLE,
    grid_import_kwh        DOUBLE,
    grid_export_kwh        DOUBLE,
    battery_charge_kwh     DOUBLE,
    battery_discharge_kwh  DOUBLE,
    samples                INTEGER
);

DELETE FROM device_energy_hourly WHERE day IN (SELECT unnest($days));

INSERT INTO device_energy_hourly BY NAME
SELECT
    device_sn, plant_id, day,
    date_trunc('hour', ts_local)                            AS hour_local,
    ts_utc - (ts_local - date_trunc('hour', ts_local))      AS hour_utc,
    any_value(device_type)                                  AS device_type,
    sum(kwh_5min(pv_w))                                     AS pv_kwh,
    sum(kwh_5min(load_w))                                   AS load_kwh,
    sum(kwh_5min(grid_import_w))                            AS grid_import_kwh,
    sum(kwh_5min(grid_export_w))                            AS grid_export_kwh,
    sum(kwh_5min(battery_charge_w))                         AS battery_charge_kwh,
    sum(kwh_5min(battery_discharge_w))                      AS battery_discharge_kwh,
    -- a sample counts only if every energy term the device reports could be read (a value the API sent
    -- damaged, null or missing is unknown, not 0): an hour with samples < its intervals is incomplete
    count(*) FILTER (WHERE pv_w IS NOT NULL AND (device_type = 0 OR (load_w IS NOT NULL
        AND grid_import_w IS NOT NULL AND grid_export_w IS NOT NULL
        AND battery_charge_w IS NOT NULL AND battery_discharge_w IS NOT NULL)))  AS samples
FROM device_samples
WHERE day IN (SELECT unnest($days))
GROUP BY device_sn, plant_id, day, hour_local, hour_utc
ORDER BY plant_id, device_sn, hour_utc;
