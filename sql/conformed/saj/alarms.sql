-- SAJ -> conformed alarms: one row per alarm occurrence the day's answers show (alarmList's, with what
-- getDeviceAlarmList adds). Input: stg_alarms. Parameter: $day.
SELECT 'saj' AS vendor, day, alarm_id, vendor_alarm_id, device_sn, plant_id, alarm_code, alarm_name, alarm_level, alarm_level_name,
       alarm_state, status, started_at, ended_at, updated_at, duration_minutes, reported_duration_minutes, observed_at
FROM stg_alarms
ORDER BY alarm_id;
