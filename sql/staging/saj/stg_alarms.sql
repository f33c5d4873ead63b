-- One row per alarm occurrence (alarmID) seen in the day's device/getDeviceAlarmList answers, the latest
-- observation winning, with the alarm code from device/alarmList (matched on device, name and start).
-- Inputs: raw_alarms, stg_devices, stg_plants. Parameter: $day.
WITH occurrences AS (
    SELECT r.plant_id AS raw_plant_id, r.device_sn AS raw_device_sn, r.fetched_at,
           unnest(CAST(r.j -> 'data' AS JSON[])) AS a
    FROM saj_answers('raw_alarms', 'device/getDeviceAlarmList') AS r
    WHERE json_type(r.j, '$.data') = 'ARRAY'
),
typed AS (
    SELECT
        NULLIF(a ->> 'alarmID', '')                                    AS alarm_id,
        coalesce(NULLIF(a ->> 'deviceSn', ''), NULLIF(a ->> 'optSn', ''), raw_device_sn) AS device_sn,
        raw_plant_id,
        NULLIF(a ->> 'plantUid', '')                                   AS plant_uid,
        NULLIF(a ->> 'alarmName', '')                                  AS alarm_name,
        TRY_CAST(num(a ->> 'alarmLevel') AS INTEGER)                   AS alarm_level,
        NULLIF(a ->> 'alarmLevelName', '')                             AS alarm_level_name,
        TRY_CAST(num(a ->> 'alarmState') AS INTEGER)                   AS alarm_state,
        utc_ts(a ->> 'alarmStartTime')                                 AS started_at,
        utc_ts(a ->> 'alarmUpdateTime')                                AS updated_at,
        TRY_CAST(regexp_extract(a ->> 'alarmDuration', '(\d+)', 1) AS INTEGER) AS reported_duration_minutes,
        fetched_at
    FROM occurrences
),
latest AS (
    SELECT * FROM typed
    WHERE alarm_id IS NOT NULL
    -- the latest observation wins; at the same moment a recovered state beats a happening one
    QUALIFY row_number() OVER (PARTITION BY alarm_id
                               ORDER BY fetched_at DESC, updated_at DESC NULLS LAST, alarm_state DESC) = 1
),
codes AS (
    SELECT NULLIF(a ->> 'deviceSn', '') AS device_sn,
           TRY_CAST(num(a ->> 'alarmCode') AS INTEGER) AS alarm_code,
           NULLIF(a ->> 'alarmName', '') AS alarm_name,
           local_ts(a ->> 'alarmTime') AS alarm_time_local
    FROM (SELECT unnest(CAST(j -> 'data' AS JSON[])) AS a
          FROM saj_answers('raw_alarms', 'device/alarmList') WHERE json_type(j, '$.data') = 'ARRAY')
),
coded AS (
    SELECT c.*, pl.time_zone,
           local_to_utc(pl.time_zone, c.alarm_time_local, false) AS started_at_early,
           local_to_utc(pl.time_zone, c.alarm_time_local, true)  AS started_at_late
    FROM codes AS c
    JOIN stg_devices AS dv ON dv.device_sn = c.device_sn
    JOIN stg_plants AS pl ON pl.plant_id = dv.plant_id
    WHERE c.alarm_code IS NOT NULL AND c.alarm_time_local IS NOT NULL
),
matched AS (
    SELECT l.alarm_id, min(c.alarm_code) AS alarm_code
    FROM latest AS l
    JOIN coded AS c
      ON c.device_sn = l.device_sn
     AND c.alarm_name IS NOT DISTINCT FROM l.alarm_name
     AND least(abs(epoch(c.started_at_early) - epoch(l.started_at)),
               abs(epoch(c.started_at_late) - epoch(l.started_at))) < 60
    GROUP BY l.alarm_id
)
SELECT
    CAST($day AS DATE) AS day,
    l.alarm_id,
    l.device_sn,
    coalesce(l.raw_plant_id, dv.plant_id) AS plant_id,
    m.alarm_code,
    l.alarm_name, l.alarm_level, l.alarm_level_name, l.alarm_state,
    CASE WHEN l.alarm_state = 4 THEN 'closed' ELSE 'open' END AS status,
    l.started_at,
    CASE WHEN l.alarm_state = 4 THEN l.updated_at END AS ended_at,
    l.updated_at,
    CASE WHEN l.alarm_state = 4
         THEN coalesce(CAST(round((epoch(l.updated_at) - epoch(l.started_at)) / 60.0) AS INTEGER),
                       l.reported_duration_minutes) END AS duration_minutes,
    l.reported_duration_minutes,
    l.fetched_at AS observed_at
FROM latest AS l
LEFT JOIN stg_devices AS dv ON dv.device_sn = l.device_sn
LEFT JOIN matched AS m ON m.alarm_id = l.alarm_id
ORDER BY l.alarm_id;
