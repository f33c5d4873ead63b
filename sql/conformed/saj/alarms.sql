-- SAJ -> conformed alarms: one row per alarm occurrence observed that day (getDeviceAlarmList, with the code
-- alarmList gives). Input: stg_alarms. Parameter: $day.
SELECT 'saj' AS vendor, day, alarm_id, device_sn, plant_id, alarm_code, alarm_name, alarm_level, alarm_level_name,
       alarm_state, status, started_at, ended_at, updated_at, duration_minutes, reported_duration_minutes, observed_at
FROM stg_alarms
ORDER BY alarm_id;
