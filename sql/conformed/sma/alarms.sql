-- SMA -> conformed alarms: the fault occurrences of the plant's and devices' logs (stg_alarms). alarm_code is the
-- ennexOS event id (logId; classic plants send none: alarm_history then takes the code the same message has
-- elsewhere); alarm_level from the log category (Warning 1, Error 2); SMA has no state code or reported duration,
-- and no id of its own for an occurrence (logId names the event, not its occurrence): vendor_alarm_id is NULL.
-- Input: stg_alarms. Parameter: $day.
SELECT 'sma' AS vendor, day, alarm_id, CAST(NULL AS VARCHAR) AS vendor_alarm_id, device_id AS device_sn, plant_id,
       TRY_CAST(log_id AS INTEGER)                                              AS alarm_code,
       message                                                                  AS alarm_name,
       CASE category WHEN 'Information' THEN 0 WHEN 'Warning' THEN 1 WHEN 'Error' THEN 2 END AS alarm_level,
       category                                                                 AS alarm_level_name,
       CAST(NULL AS INTEGER)                                                    AS alarm_state,
       status, started_at, ended_at, updated_at, duration_minutes,
       CAST(NULL AS INTEGER)                                                    AS reported_duration_minutes,
       fetched_at                                                               AS observed_at
FROM stg_alarms
ORDER BY alarm_id;
