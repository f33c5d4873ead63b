-- device_day_totals: per device and local day, the device's own day totals (device/uploadData timeUnit 1),
-- kWh, kept to reconcile the hourly sums against. Input: stg_device_day_totals. Parameter: $days.
CREATE TABLE IF NOT EXISTS device_day_totals (
    device_sn             VARCHAR,
    plant_id              VARCHAR,
    day                   DATE,
    device_type           INTEGER,
    pv_kwh                DOUBLE,
    load_kwh              DOUBLE,
    grid_import_kwh       DOUBLE,
    grid_export_kwh       DOUBLE,
    self_consumption_kwh  DOUBLE,
    fetched_at            TIMESTAMPTZ
);

DELETE FROM device_day_totals WHERE list_contains($days, day);

INSERT INTO device_day_totals BY NAME
SELECT device_sn, plant_id, day, device_type, pv_kwh, load_kwh, grid_import_kwh, grid_export_kwh,
       self_consumption_kwh, fetched_at
FROM stg_device_day_totals
WHERE list_contains($days, day)
ORDER BY plant_id, device_sn, day;
