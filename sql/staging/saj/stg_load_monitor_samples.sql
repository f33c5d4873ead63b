-- One row per plant, load monitor and 5-minute sample from device/secData timeUnit 0 (W), with its UTC instant.
-- Plants without a load monitor answer code 10021 and give no rows. Inputs: raw_sec_data, stg_plants. Parameter: $day.
WITH responses AS (
    SELECT
        coalesce(r.plant_id, r.request_params::JSON ->> 'plantId')         AS plant_id,
        r.fetched_at,
        CAST(r.j -> '$.data.dataList' AS JSON[])                           AS modules
    FROM saj_answers('raw_sec_data', 'device/secData') AS r
    WHERE coalesce(r.request_params::JSON ->> 'timeUnit', '0') = '0'
      AND json_type(r.j, '$.data.dataList') = 'ARRAY'
),
modules AS (
    SELECT plant_id, fetched_at, unnest(modules) AS m, generate_subscripts(modules, 1) AS module_index
    FROM responses
),
module_points AS (
    SELECT plant_id, fetched_at, module_index,
           row_number() OVER (ORDER BY fetched_at, plant_id, module_index) AS response_id,
           NULLIF(m ->> 'moduleSn', '') AS module_sn,
           CAST(CASE WHEN json_type(m, '$.data') = 'ARRAY' THEN m -> 'data' ELSE '[]' END AS JSON[]) AS points
    FROM modules
),
points AS (
    SELECT plant_id, fetched_at, response_id, module_sn,
           unnest(points) AS p, generate_subscripts(points, 1) AS seq
    FROM module_points
),

typed AS (
    SELECT pt.plant_id, pt.module_sn, pt.fetched_at, pt.response_id, pt.seq, pl.time_zone,
           local_ts(p ->> 'dataTime')  AS ts_local,
           num(p ->> 'pvPower')        AS pv_w,
           num(p ->> 'loadPower')      AS load_w,
           num(p ->> 'selfUsePower')   AS self_use_w,
           num(p ->> 'buyPower')       AS grid_import_w,
           num(p ->> 'sellPower')      AS grid_export_w,
           CAST(NULL AS DOUBLE)        AS copy_key,  -- no counter: a repeated stamp's copies go by their order
           CAST(p AS VARCHAR)          AS payload
    FROM points AS pt
    JOIN stg_plants AS pl ON pl.plant_id = pt.plant_id
)
SELECT
    CAST($day AS DATE) AS day,
    plant_id, module_sn, ts_local, ts_utc,
    seq AS sample_index,
    pv_w, load_w, self_use_w, grid_import_w, grid_export_w,
    fold_ambiguous, time_zone, fetched_at
FROM with_utc('typed')
WHERE CAST(ts_local AS DATE) = CAST($day AS DATE)
QUALIFY row_number() OVER (PARTITION BY plant_id, module_sn, ts_utc ORDER BY fetched_at DESC, seq) = 1
ORDER BY plant_id, module_sn, ts_utc;
