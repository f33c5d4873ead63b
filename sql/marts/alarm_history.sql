-- alarm_history: one row per alarm occurrence across all days, keyed by (vendor, alarm_id): every occurrence
-- the vendor's alarm listing showed on any landed day (SAJ: alarmList's 90 days of starts up to the day), for
-- every device. An alarm seen open on one day and closed on a later day is one row: the latest observation wins
-- (re-running an older day never overwrites what a later day saw), what only an older one knew (code, the
-- vendor's id, the end) is kept, and other days' history is never deleted. first_seen_day is the first landed
-- day that showed it (never before the day it started).
-- Input: conformed_alarms. Parameter: $days.
CREATE TABLE IF NOT EXISTS alarm_history (
    vendor            VARCHAR,
    alarm_id          VARCHAR,
    vendor_alarm_id   VARCHAR,
    device_sn         VARCHAR,
    plant_id          VARCHAR,
    alarm_code        INTEGER,
    alarm_name        VARCHAR,
    alarm_level       INTEGER,
    alarm_level_name  VARCHAR,
    started_at        TIMESTAMPTZ,
    ended_at          TIMESTAMPTZ,
    status            VARCHAR,
    duration_minutes  INTEGER,
    first_seen_day    DATE,
    last_seen_day     DATE,
    observed_at       TIMESTAMPTZ
);

CREATE OR REPLACE TEMP TABLE _alarms_new AS
WITH latest AS (
    SELECT * FROM conformed_alarms
    WHERE list_contains($days, day)
    QUALIFY row_number() OVER (PARTITION BY vendor, alarm_id ORDER BY observed_at DESC, day DESC) = 1
),
seen AS (
    SELECT vendor, alarm_id, min(day) AS first_seen_day, any_value(alarm_code) AS any_code,
           any_value(vendor_alarm_id) AS any_vendor_id, max(ended_at) AS any_end, max(duration_minutes) AS any_duration
    FROM conformed_alarms WHERE list_contains($days, day) GROUP BY vendor, alarm_id
)
SELECT l.vendor, l.alarm_id, coalesce(l.vendor_alarm_id, s.any_vendor_id, h.vendor_alarm_id) AS vendor_alarm_id,
       l.device_sn, l.plant_id,
       coalesce(l.alarm_code, s.any_code, h.alarm_code)                      AS alarm_code,
       l.alarm_name, l.alarm_level, l.alarm_level_name, l.started_at,
       CASE WHEN l.status = 'closed' THEN coalesce(l.ended_at, s.any_end, h.ended_at) END            AS ended_at,
       l.status,
       CASE WHEN l.status = 'closed' THEN coalesce(l.duration_minutes, s.any_duration, h.duration_minutes) END
                                                                            AS duration_minutes,
       least(s.first_seen_day, h.first_seen_day)                            AS first_seen_day,
       l.day                                                                AS last_seen_day,
       l.observed_at,
       h.alarm_id IS NULL OR h.observed_at <= l.observed_at                 AS wins
FROM latest AS l
JOIN seen AS s ON s.vendor = l.vendor AND s.alarm_id = l.alarm_id
LEFT JOIN alarm_history AS h ON h.vendor = l.vendor AND h.alarm_id = l.alarm_id;

-- An older observation being re-run still contributes what it knows (first seen day, code, id, end).
UPDATE alarm_history AS h
SET first_seen_day = n.first_seen_day, alarm_code = coalesce(h.alarm_code, n.alarm_code),
    vendor_alarm_id = coalesce(h.vendor_alarm_id, n.vendor_alarm_id),
    ended_at = CASE WHEN h.status = 'closed' THEN coalesce(h.ended_at, n.ended_at) END,
    duration_minutes = CASE WHEN h.status = 'closed' THEN coalesce(h.duration_minutes, n.duration_minutes) END
FROM _alarms_new AS n
WHERE h.vendor = n.vendor AND h.alarm_id = n.alarm_id AND NOT n.wins;

DELETE FROM alarm_history WHERE (vendor, alarm_id) IN (SELECT (vendor, alarm_id) FROM _alarms_new WHERE wins);

INSERT INTO alarm_history BY NAME
SELECT * EXCLUDE (wins) FROM _alarms_new WHERE wins ORDER BY vendor, alarm_id;

-- A vendor may send a code only in some answers (SAJ: alarmList has it, getDeviceAlarmList not, and alarmList
-- covers only alarms that started in a landed day). An occurrence without a code takes the code the same
-- vendor gives the same alarm name.
UPDATE alarm_history AS h
SET alarm_code = c.alarm_code
FROM (SELECT vendor, alarm_name, min(alarm_code) AS alarm_code
      FROM alarm_history WHERE alarm_code IS NOT NULL GROUP BY vendor, alarm_name) AS c
WHERE h.alarm_code IS NULL AND h.vendor = c.vendor AND h.alarm_name = c.alarm_name;

DROP TABLE temp._alarms_new;
