-- SolaX -> conformed device day totals: each inverter's day from its own counters (stg_device_day_totals): PV from
-- yieldtotal, grid import and export from the meter's lifetime counters where the dongle has the meter. The
-- X1-AC's yield counts its discharge, which this table has no column for (pv NULL). No load counter exists: NULL.
-- Input: stg_device_day_totals. Parameter: $day.
SELECT 'solax' AS vendor, CAST($day AS DATE) AS day, device_sn, plant_id, CAST(device_type AS INTEGER) AS device_type,
       pv_kwh, CAST(NULL AS DOUBLE) AS load_kwh, grid_import_kwh, grid_export_kwh,
       CAST(NULL AS DOUBLE) AS self_consumption_kwh, fetched_at
FROM stg_device_day_totals
ORDER BY plant_id, device_sn;
