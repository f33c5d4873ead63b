-- One row per device and local day: the device's own day totals from device/uploadData timeUnit 1 (kWh).
-- Input: raw_upload_data. Parameter: $day.
WITH responses AS (
    SELECT
        coalesce(r.plant_id, '')                                           AS plant_id,
        coalesce(r.device_sn, r.request_params::JSON ->> 'deviceSn')       AS device_sn,
        r.fetched_at,
        TRY_CAST(num(r.j -> 'data' ->> 'deviceType') AS INTEGER)           AS device_type,
        CAST(r.j -> '$.data.data' AS JSON[])                               AS points
    FROM saj_answers('raw_upload_data', 'device/uploadData') AS r
    WHERE (r.request_params::JSON ->> 'timeUnit') = '1'
      AND json_type(r.j, '$.data.data') = 'ARRAY'
),
points AS (
    SELECT plant_id, device_sn, fetched_at, device_type, unnest(points) AS p FROM responses
)
SELECT
    CAST(local_ts(p ->> 'dataTime') AS DATE)       AS day,
    device_sn, plant_id, device_type,
    coalesce(num(p ->> 'pVEnergy'), num(p ->> 'pvEnergy')) AS pv_kwh,
    num(p ->> 'loadEnergy')                        AS load_kwh,
    num(p ->> 'buyEnergy')                         AS grid_import_kwh,
    num(p ->> 'sellEnergy')                        AS grid_export_kwh,
    num(p ->> 'selfConsumption')                   AS self_consumption_kwh,
    fetched_at
FROM points
WHERE CAST(local_ts(p ->> 'dataTime') AS DATE) = CAST($day AS DATE)
QUALIFY row_number() OVER (PARTITION BY device_sn ORDER BY fetched_at DESC) = 1
ORDER BY device_sn;
