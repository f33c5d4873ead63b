-- device_day_totals: per (vendor, device) and local day, the device's own day counters (SAJ: uploadData
-- timeUnit 1), kWh, kept to reconcile the hourly sums against. Input: conformed_device_day_totals.
-- Parameter: $days.
CREATE TABLE IF NOT EXISTS device_day_totals (
    vendor                VARCHAR,
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
SELECT vendor, device_sn, plant_id, day, device_type, pv_kwh, load_kwh, grid_import_kwh, grid_export_kwh,
       self_consumption_kwh, fetched_at
FROM conformed_device_day_totals
WHERE list_contains($days, day)
ORDER BY vendor, plant_id, device_sn, day;
