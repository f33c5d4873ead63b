-- SolaX -> conformed alarms: the fault states the polls saw (stg_alarms: inverterStatus 103/104, batStatus 1/2),
-- one row per occurrence observed that day, for every device, its alarm_id the same on every day that shows it.
-- SolaX keeps no alarm list, so there is no id of its own: vendor_alarm_id is NULL. Input: stg_alarms.
-- Parameter: $day.
SELECT 'solax' AS vendor, CAST($day AS DATE) AS day, alarm_id, CAST(NULL AS VARCHAR) AS vendor_alarm_id, device_sn, plant_id, CAST(alarm_code AS INTEGER) AS alarm_code,
       alarm_name, CAST(alarm_level AS INTEGER) AS alarm_level, alarm_level_name, CAST(alarm_state AS INTEGER) AS alarm_state,
       status, started_at, ended_at, updated_at, CAST(duration_minutes AS INTEGER) AS duration_minutes,
       CAST(NULL AS INTEGER) AS reported_duration_minutes, observed_at
FROM stg_alarms
ORDER BY alarm_id;
