-- SAJ -> conformed device day totals: the inverters' own day counters (uploadData timeUnit 1), kWh.
-- Input: stg_device_day_totals. Parameter: $day.
SELECT 'saj' AS vendor, day, device_sn, plant_id, device_type, pv_kwh, load_kwh, grid_import_kwh, grid_export_kwh,
       self_consumption_kwh, fetched_at
FROM stg_device_day_totals
ORDER BY plant_id, device_sn;
