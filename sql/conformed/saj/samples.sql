-- SAJ -> conformed samples: the inverters' 5-minute uploadData samples (source 'device') and the load
-- monitors' secData samples (source 'load_monitor'). A sample stamped T stands for [T, T + 300 s): its energy
-- is its power x 300 s. Grid-tied (type 0) inverters measure only PV: their other terms are NULL (unknown).
-- `readable`: every term the device measures could be read and its instant is certain (a damaged value, or a
-- repeated daylight-saving stamp sent once, leaves its hour incomplete).
-- Inputs: stg_device_samples, stg_load_monitor_samples. Parameter: $day.
WITH device AS (
    SELECT device_sn, plant_id, ts_local, ts_utc, device_type, pv_w, load_w, grid_import_w, grid_export_w,
           battery_charge_w, battery_discharge_w, battery_soc_pct, self_use_w, today_energy_kwh, fetched_at,
           CASE WHEN device_type = 2 THEN 'plant' ELSE 'own' END AS pv_scope,
           coalesce(device_type IN (1, 2), false)               AS has_battery,
           NOT fold_ambiguous AND pv_w IS NOT NULL AND (device_type = 0 OR (load_w IS NOT NULL
               AND grid_import_w IS NOT NULL AND grid_export_w IS NOT NULL AND battery_charge_w IS NOT NULL
               AND battery_discharge_w IS NOT NULL))            AS readable
    FROM stg_device_samples
),
monitor AS (
    SELECT module_sn AS device_sn, plant_id, ts_local, ts_utc, CAST(NULL AS INTEGER) AS device_type, pv_w, load_w,
           grid_import_w, grid_export_w, CAST(NULL AS DOUBLE) AS battery_charge_w,
           CAST(NULL AS DOUBLE) AS battery_discharge_w, CAST(NULL AS DOUBLE) AS battery_soc_pct, self_use_w,
           CAST(NULL AS DOUBLE) AS today_energy_kwh, fetched_at, 'plant' AS pv_scope, false AS has_battery,
           NOT fold_ambiguous AND pv_w IS NOT NULL AND load_w IS NOT NULL AND grid_import_w IS NOT NULL
               AND grid_export_w IS NOT NULL                    AS readable
    FROM stg_load_monitor_samples
),
both_sources AS (
    SELECT 'device' AS source, * FROM device
    UNION ALL BY NAME
    SELECT 'load_monitor' AS source, * FROM monitor
)
SELECT 'saj' AS vendor, CAST($day AS DATE) AS day, source, plant_id, device_sn, device_type, ts_local, ts_utc,
       300 AS interval_s,
       pv_w, load_w, grid_import_w, grid_export_w, battery_charge_w, battery_discharge_w, battery_soc_pct,
       kwh_of(pv_w, 300) AS pv_kwh, kwh_of(load_w, 300) AS load_kwh,
       kwh_of(grid_import_w, 300) AS grid_import_kwh, kwh_of(grid_export_w, 300) AS grid_export_kwh,
       kwh_of(battery_charge_w, 300) AS battery_charge_kwh, kwh_of(battery_discharge_w, 300) AS battery_discharge_kwh,
       self_use_w, today_energy_kwh, pv_scope, has_battery, readable, fetched_at
FROM both_sources
ORDER BY source, plant_id, device_sn, ts_utc;
