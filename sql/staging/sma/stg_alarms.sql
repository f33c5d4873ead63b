-- One row per fault occurrence seen in the plant's and its devices' logs of the day: a "Began" entry and the
-- next "Ended" entry of the same device and message (messageTagId). An occurrence that ends on this day may have
-- begun on an earlier day: the raw landing then also holds the earlier days' logs back to its beginning, so its
-- id (device, message and start) is the one the earlier day gave it, and alarm_history keeps one row for it.
-- Entries of both logs are the same events: kept once. Entries without Began/Ended are not fault occurrences.
-- logId is the ennexOS event id (empty on classic plants). Inputs: raw_logs, stg_plants.
-- Parameters: $day, $time_basis.
WITH answers AS (
    SELECT * FROM sma_answers('raw_logs', 'v1/plants/{plantId}/logs')
    UNION ALL BY NAME
    SELECT * FROM sma_answers('raw_logs', 'v1/devices/{deviceId}/logs')
),
responses AS (
    SELECT plant_id, device_sn, fetched_at, CAST(j -> 'logs' AS JSON[]) AS items,
           row_number() OVER (ORDER BY fetched_at, endpoint, request_params) AS response_id
    FROM answers
    WHERE json_type(j, '$.logs') = 'ARRAY'
),
items AS (
    SELECT plant_id, device_sn, fetched_at, response_id, unnest(items) AS e, generate_subscripts(items, 1) AS seq
    FROM responses
),
stamped AS (
    SELECT i.plant_id, i.fetched_at, i.response_id, i.seq, pl.time_zone,
           coalesce(NULLIF(trim(e ->> 'deviceId'), ''), i.device_sn) AS device_id,
           NULLIF(trim(e ->> 'logId'), '')                           AS log_id,
           NULLIF(trim(e ->> 'messageTagId'), '')                    AS message_tag_id,
           NULLIF(trim(e ->> 'message'), '')                         AS message,
           NULLIF(trim(e ->> 'category'), '')                        AS category,
           (e ->> 'status')                                          AS status,
           sma_ts(e ->> 'time')                                      AS ts_local,
           CAST(NULL AS DOUBLE)                                      AS copy_key,
           CAST(e AS VARCHAR)                                        AS payload
    FROM items AS i
    JOIN stg_plants AS pl ON pl.plant_id = i.plant_id
    WHERE (e ->> 'status') IN ('Began', 'Ended')
),
events AS (
    SELECT plant_id, device_id, message_tag_id, status, time_zone,
           CASE WHEN $time_basis = 'utc' THEN timezone('UTC', ts_local) ELSE ts_utc END AS event_at,
           any_value(log_id) AS log_id, any_value(message) AS message, any_value(category) AS category,
           max(fetched_at) AS fetched_at
    FROM with_utc('stamped')
    GROUP BY ALL
),
numbered AS (
    -- the n-th Began of a device's message opens its n-th occurrence; an Ended closes the one open (at the same
    -- instant an Ended comes first: one occurrence ends as the next begins)
    SELECT *, sum(CASE WHEN status = 'Began' THEN 1 ELSE 0 END)
                  OVER (PARTITION BY plant_id, device_id, message_tag_id
                        ORDER BY event_at, status DESC ROWS UNBOUNDED PRECEDING) AS occurrence
    FROM events
),
occurrences AS (
    SELECT plant_id, device_id, message_tag_id, occurrence,
           min(event_at) FILTER (WHERE status = 'Began') AS started_at,
           min(event_at) FILTER (WHERE status = 'Ended') AS ended_at,
           any_value(log_id) AS log_id, any_value(message) AS message, any_value(category) AS category,
           any_value(time_zone) AS time_zone, max(fetched_at) AS fetched_at
    FROM numbered
    GROUP BY ALL
)
SELECT
    CAST($day AS DATE)                                                         AS day,
    md5(concat_ws('|', plant_id, coalesce(device_id, ''), coalesce(message_tag_id, ''),
                  coalesce(strftime(started_at, '%Y-%m-%dT%H:%M:%SZ'), 'ended ' || strftime(ended_at, '%Y-%m-%dT%H:%M:%SZ'))))
                                                                               AS alarm_id,
    plant_id, device_id, log_id, message_tag_id, message, category,
    started_at, ended_at,
    CASE WHEN ended_at IS NULL THEN 'open' ELSE 'closed' END                   AS status,
    greatest(started_at, ended_at)                                              AS updated_at,
    CAST(round((epoch(ended_at) - epoch(started_at)) / 60.0) AS INTEGER)        AS duration_minutes,
    fetched_at
FROM occurrences
WHERE CAST(timezone(time_zone, started_at) AS DATE) = CAST($day AS DATE)
   OR CAST(timezone(time_zone, ended_at) AS DATE) = CAST($day AS DATE)
ORDER BY plant_id, device_id, started_at;
