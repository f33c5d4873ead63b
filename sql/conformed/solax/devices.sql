-- SolaX -> conformed devices: the inverters whose dongles answered a poll of the day, with the role read from what
-- they report (stg_devices): device_type 0 grid-tied, 1 hybrid, 2 AC-coupled storage; pv_scope 'plant' where an
-- X1-AC's meter 2 sees the PV inverter beside it. Each plant's grid meter, read through the dongle it hangs on,
-- is a device of kind 'load_monitor' named by that dongle's registration number (its samples carry the plant's
-- meter stream). Inputs: stg_devices, stg_meter_samples. Parameter: $day.
SELECT 'solax' AS vendor, CAST($day AS DATE) AS day, device_sn, plant_id, 'inverter' AS device_kind,
       CAST(device_type AS INTEGER) AS device_type, device_model, pv_scope, has_battery, fetched_at
FROM stg_devices
WHERE seen_in_day
UNION ALL
SELECT 'solax' AS vendor, CAST($day AS DATE) AS day, meter_sn AS device_sn, plant_id, 'load_monitor' AS device_kind,
       CAST(NULL AS INTEGER) AS device_type, 'grid meter' AS device_model, CAST(NULL AS VARCHAR) AS pv_scope,
       false AS has_battery, max(fetched_at) AS fetched_at
FROM stg_meter_samples
GROUP BY plant_id, meter_sn
ORDER BY plant_id, device_sn;
