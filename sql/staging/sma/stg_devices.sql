-- One row per device of a plant from the newest /v1/plants/{plantId}/devices/lean answer (deactivated devices
-- too: they keep their history), with the measurement sets it offers (/v1/devices/{deviceId}/measurements/sets).
-- generatorPower (AC) and generatorPowerDc are W and only on PV inverters. deactivatedAt is plant-local.
-- Input: raw_devices. Parameter: $day.
WITH lists AS (
    SELECT r.plant_id, r.fetched_at, unnest(CAST(r.j -> 'devices' AS JSON[])) AS item
    FROM sma_answers('raw_devices', 'v1/plants/{plantId}/devices/lean') AS r
    WHERE json_type(r.j, '$.devices') = 'ARRAY'
),
devices AS (
    SELECT NULLIF(trim(item ->> 'deviceId'), '') AS device_id, plant_id, fetched_at, item
    FROM lists
    QUALIFY row_number() OVER (PARTITION BY device_id ORDER BY fetched_at DESC) = 1
),
sets AS (
    SELECT r.device_sn AS device_id, CAST(r.j -> 'sets' AS VARCHAR[]) AS sets
    FROM sma_answers('raw_devices', 'v1/devices/{deviceId}/measurements/sets') AS r
    WHERE json_type(r.j, '$.sets') = 'ARRAY'
)
SELECT
    CAST($day AS DATE)                                  AS day,
    d.device_id,
    d.plant_id,
    NULLIF(trim(d.item ->> 'name'), '')                 AS device_name,
    NULLIF(trim(d.item ->> 'type'), '')                 AS device_type_name,
    NULLIF(trim(d.item ->> 'product'), '')              AS product,
    TRY_CAST(num(d.item ->> 'productId') AS INTEGER)    AS product_id,
    NULLIF(trim(d.item ->> 'serial'), '')               AS serial,
    NULLIF(num(d.item ->> 'generatorPower'), 0)         AS generator_power_w,
    NULLIF(num(d.item ->> 'generatorPowerDc'), 0)       AS generator_power_dc_w,
    coalesce(TRY_CAST(d.item ->> 'isActive' AS BOOLEAN), true) AS is_active,
    sma_ts(d.item ->> 'deactivatedAt')                  AS deactivated_at,
    coalesce(s.sets, [])                                AS sets,
    d.fetched_at
FROM devices AS d
LEFT JOIN sets AS s ON s.device_id = d.device_id
WHERE d.device_id IS NOT NULL
ORDER BY d.plant_id, d.device_id;
