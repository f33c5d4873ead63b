-- One row per device of a plant from plant/getPlantAllDeviceList: inverters (inverterData; type 0 grid-tied,
-- 1 storage, 2 AC-coupled storage) and load monitors (monitorData). Input: raw_devices. Parameter: $day.
WITH lists AS (
    SELECT plant_id, fetched_at, data AS items
    FROM saj_plant_data('raw_devices', 'plant/getPlantAllDeviceList', 'ARRAY')
    QUALIFY row_number() OVER (PARTITION BY plant_id ORDER BY fetched_at DESC) = 1
),
items AS (
    SELECT plant_id, fetched_at, unnest(CAST(items AS JSON[])) AS item FROM lists
),
devices AS (
    SELECT
        plant_id,
        fetched_at,
        CASE WHEN json_type(item, '$.inverterData') = 'OBJECT' THEN 'inverter'
             WHEN json_type(item, '$.monitorData') = 'OBJECT' THEN 'load_monitor'
             ELSE 'other' END                                                AS device_kind,
        coalesce(NULLIF(item -> 'inverterData' ->> 'deviceSn', ''),
                 NULLIF(item -> 'monitorData' ->> 'moduleSn', ''),
                 NULLIF(item ->> 'sn', ''))                                  AS device_sn,
        TRY_CAST(num(item -> 'inverterData' ->> 'type') AS INTEGER)          AS device_type,
        NULLIF(trim(item -> 'inverterData' ->> 'deviceModel'), '')           AS device_model,
        TRY_CAST(num(item ->> 'deviceType') AS INTEGER)                      AS wrapper_device_type
    FROM items
)
SELECT CAST($day AS DATE) AS day, device_sn, plant_id, device_kind, device_type, device_model,
       wrapper_device_type, fetched_at
FROM devices
WHERE device_sn IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY device_sn ORDER BY fetched_at DESC) = 1
ORDER BY plant_id, device_sn;
