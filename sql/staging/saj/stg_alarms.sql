-- One row per alarm occurrence the day's answers show, the latest observation winning:
--   every occurrence of device/alarmList (the 90 days of starts up to the day, and the pending ones: it has
--   the code, the start as local time and pending/closed, for every device), with what device/getDeviceAlarmList
--   adds where the device was asked (matched on device, name and start): SAJ's alarmID, the start and update
--   times with their zone, the end of a recovered alarm, the level's name and the reported duration.
-- (What getDeviceAlarmList alone lists, alarms recovered lately that began before alarmList's window, stays in
-- the raw layer: which devices were asked varies, and alarm_history's depth must not.)
-- An occurrence that began after the day ended belongs to a later day. alarm_id names the occurrence whatever
-- answer shows it, so every landing of it is one row in alarm_history: "<device_sn>@<start, UTC>/<name>".
-- Times with a zone are read as such, times without one in the plant's zone (alarmList's start in the repeated
-- hour of a fall-back day as the earlier instant unless getDeviceAlarmList says otherwise); durations whole
-- ("1 days 12 hours 50 minutes"). ended_at is NULL for a closed occurrence only alarmList shows.
-- Inputs: raw_alarms, stg_devices, stg_plants. Parameter: $day.
WITH zones AS (
    SELECT dv.device_sn, dv.plant_id, pl.time_zone
    FROM stg_devices AS dv JOIN stg_plants AS pl ON pl.plant_id = dv.plant_id
),
day_ends AS (  -- when the day ends in each zone (once per zone: zone arithmetic per row was most of the cost)
    SELECT time_zone, local_to_utc(time_zone, CAST(CAST($day AS DATE) + 1 AS TIMESTAMP), false) AS day_end
    FROM (SELECT DISTINCT time_zone FROM zones)
),
listed AS (  -- alarmList: one row per occurrence, the latest answer winning
    SELECT NULLIF(a ->> 'deviceSn', '')                              AS device_sn,
           TRY_CAST(num(a ->> 'alarmCode') AS INTEGER)                AS alarm_code,
           NULLIF(a ->> 'alarmName', '')                              AS alarm_name,
           TRY_CAST(num(a ->> 'alarmLevel') AS INTEGER)               AS alarm_level,
           TRY_CAST(num(a ->> 'status') AS INTEGER)                   AS list_status,
           local_ts(a ->> 'alarmTime')                                AS start_local,
           fetched_at
    FROM (SELECT unnest(CAST(j -> 'data' AS JSON[])) AS a, fetched_at
          FROM saj_answers('raw_alarms', 'device/alarmList') WHERE json_type(j, '$.data') = 'ARRAY')
    WHERE device_sn IS NOT NULL AND start_local IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY device_sn, alarm_code, alarm_name, start_local
                               ORDER BY fetched_at DESC, list_status DESC) = 1
),
listed_utc AS (
    SELECT l.*, z.plant_id, z.time_zone,
           local_to_utc(z.time_zone, l.start_local, false) AS start_early,
           local_to_utc(z.time_zone, l.start_local, true)  AS start_late
    FROM listed AS l JOIN zones AS z ON z.device_sn = l.device_sn
),
detailed AS (  -- getDeviceAlarmList: one row per alarmID, the latest observation winning
    SELECT
        NULLIF(a ->> 'alarmID', '')                                    AS vendor_alarm_id,
        coalesce(NULLIF(a ->> 'deviceSn', ''), NULLIF(a ->> 'optSn', ''), o.device_sn) AS device_sn,
        o.plant_id                                                     AS raw_plant_id,
        NULLIF(a ->> 'alarmName', '')                                  AS alarm_name,
        TRY_CAST(num(a ->> 'alarmLevel') AS INTEGER)                   AS alarm_level,
        NULLIF(a ->> 'alarmLevelName', '')                             AS alarm_level_name,
        TRY_CAST(num(a ->> 'alarmState') AS INTEGER)                   AS alarm_state,
        instant_of(a ->> 'alarmStartTime', pl.time_zone)               AS started_at,
        instant_of(a ->> 'alarmUpdateTime', pl.time_zone)              AS updated_at,
        duration_minutes(a ->> 'alarmDuration')                        AS reported_duration_minutes,
        o.fetched_at
    FROM (SELECT plant_id, device_sn, fetched_at, unnest(CAST(j -> 'data' AS JSON[])) AS a
          FROM saj_answers('raw_alarms', 'device/getDeviceAlarmList') WHERE json_type(j, '$.data') = 'ARRAY') AS o
    LEFT JOIN stg_plants AS pl ON pl.plant_id = o.plant_id
    WHERE vendor_alarm_id IS NOT NULL
    -- at the same moment a recovered state beats a happening one
    QUALIFY row_number() OVER (PARTITION BY vendor_alarm_id
                               ORDER BY o.fetched_at DESC, updated_at DESC NULLS LAST, alarm_state DESC) = 1
),
paired AS (  -- each listed occurrence with its details, where the device was asked (the nearest start)
    SELECT l.*, d.vendor_alarm_id
    FROM listed_utc AS l
    LEFT JOIN detailed AS d
      ON d.device_sn = l.device_sn AND d.alarm_name IS NOT DISTINCT FROM l.alarm_name
     AND least(abs(epoch(d.started_at) - epoch(l.start_early)), abs(epoch(d.started_at) - epoch(l.start_late))) < 60
    QUALIFY row_number() OVER (PARTITION BY l.device_sn, l.alarm_code, l.alarm_name, l.start_local
                               ORDER BY least(abs(epoch(d.started_at) - epoch(l.start_early)),
                                              abs(epoch(d.started_at) - epoch(l.start_late))) NULLS LAST) = 1
),
occurrences AS (
    SELECT p.device_sn, coalesce(d.raw_plant_id, p.plant_id) AS plant_id, p.alarm_code,
           coalesce(d.alarm_name, p.alarm_name) AS alarm_name, coalesce(d.alarm_level, p.alarm_level) AS alarm_level,
           d.alarm_level_name, d.alarm_state, d.vendor_alarm_id,
           coalesce(d.started_at, p.start_early) AS started_at,
           d.updated_at, d.reported_duration_minutes,
           -- closed per the newer of the two answers
           CASE WHEN d.fetched_at IS NOT NULL AND d.fetched_at >= p.fetched_at THEN d.alarm_state = 4
                ELSE p.list_status = 4 END AS closed,
           d.alarm_state = 4 AS closed_in_details,
           greatest(p.fetched_at, d.fetched_at) AS observed_at, p.time_zone
    FROM paired AS p
    LEFT JOIN detailed AS d ON d.vendor_alarm_id = p.vendor_alarm_id
)
SELECT
    CAST($day AS DATE) AS day,
    device_sn || '@' || strftime(timezone('UTC', started_at), '%Y-%m-%dT%H:%M:%SZ') || '/' || coalesce(alarm_name, '')
        AS alarm_id,
    vendor_alarm_id, device_sn, plant_id, alarm_code, alarm_name, alarm_level, alarm_level_name, alarm_state,
    CASE WHEN closed THEN 'closed' ELSE 'open' END AS status,
    started_at,
    CASE WHEN closed AND closed_in_details THEN updated_at END AS ended_at,
    updated_at,
    CASE WHEN closed AND closed_in_details
         THEN coalesce(CAST(round((epoch(updated_at) - epoch(started_at)) / 60.0) AS INTEGER),
                       reported_duration_minutes) END AS duration_minutes,
    reported_duration_minutes,
    observed_at
FROM occurrences AS o
LEFT JOIN day_ends AS e ON e.time_zone = o.time_zone
WHERE started_at IS NOT NULL AND (o.time_zone IS NULL OR started_at < e.day_end)
ORDER BY alarm_id;
