-- SAJ -> conformed devices. SAJ's inverter types become roles the marts read:
--   type 0 grid-tied: its own PV (pv_scope 'own'), no battery;
--   type 1 storage/hybrid: its own PV, a battery;
--   type 2 AC-coupled storage: a battery, and a PV meter that sees the grid-tied inverter beside it, so its PV
--   stands for the whole plant's (pv_scope 'plant': the plant's PV is counted once).
-- Load monitors (monitorData) are devices of kind 'load_monitor'. Input: stg_devices. Parameter: $day.
SELECT 'saj' AS vendor, CAST($day AS DATE) AS day, device_sn, plant_id, device_kind, device_type, device_model,
       CASE WHEN device_kind <> 'inverter' THEN NULL WHEN device_type = 2 THEN 'plant' ELSE 'own' END AS pv_scope,
       device_kind = 'inverter' AND coalesce(device_type IN (1, 2), false)                     AS has_battery,
       fetched_at
FROM stg_devices
ORDER BY plant_id, device_sn;
