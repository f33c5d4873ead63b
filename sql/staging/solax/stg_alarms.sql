-- One row per alarm occurrence observed in the day. The User API has no alarm list: an occurrence is a run of
-- consecutive uploads of a dongle whose inverterStatus is a fault (103 recoverable, 104 permanent) or whose
-- batStatus is (1 fault, 2 disconnected); it starts at the first upload showing it and ends at the first upload
-- showing another state (NULL while none has). A fault shorter than the time between two uploads may go
-- unseen. Its id is the dongle, the kind, the code and the start, so the same occurrence has the same id on
-- every day it is seen: an occurrence already running when the day's window of uploads begins takes its id and
-- start from the previous day's alarms (previous_stg_alarms).
-- Inputs: stg_uploads (the day and the days around it), stg_devices, previous_stg_alarms. Parameter: $day.

-- the previous day's alarms, empty when there is none
CREATE TEMP TABLE IF NOT EXISTS previous_stg_alarms AS
SELECT NULL::VARCHAR AS alarm_id, NULL::VARCHAR AS wifi_sn, NULL::VARCHAR AS kind, NULL::INTEGER AS alarm_code,
       NULL::TIMESTAMPTZ AS started_at, NULL::TIMESTAMPTZ AS ended_at
WHERE false;

WITH states AS (
    SELECT u.wifi_sn, d.device_sn, u.plant_id, u.time_zone, u.upload_utc, u.first_seen_at, u.last_seen_at,
           x.s.kind AS kind, x.s.code AS code
    FROM stg_uploads AS u
    JOIN stg_devices AS d USING (wifi_sn),
         unnest([{'kind': 'inverter', 'code': u.inverter_status}, {'kind': 'battery', 'code': u.battery_status}]) AS x(s)
    WHERE x.s.code IS NOT NULL
),
marked AS (
    SELECT *,
        solax_is_fault(kind, code)                                               AS fault,
        CASE WHEN code IS DISTINCT FROM lag(code) OVER w THEN 1 ELSE 0 END       AS change,
        lead(upload_utc) OVER w                                                  AS next_utc,
        lead(first_seen_at) OVER w                                               AS next_seen_at,
        row_number() OVER w = 1                                                  AS window_start
    FROM states
    WINDOW w AS (PARTITION BY wifi_sn, kind ORDER BY upload_utc)
),
runs AS (
    SELECT *, sum(change) OVER (PARTITION BY wifi_sn, kind ORDER BY upload_utc) AS run FROM marked
),
fault_runs AS (
    SELECT wifi_sn, kind, run,
           any_value(device_sn) AS device_sn, any_value(plant_id) AS plant_id, any_value(time_zone) AS time_zone,
           any_value(code) AS alarm_code,
           min(upload_utc) AS first_utc,
           max(upload_utc) AS last_utc,
           arg_max_null(next_utc, upload_utc) AS ended_at,  -- NULL while no upload followed the run
           greatest(max(last_seen_at), arg_max_null(next_seen_at, upload_utc)) AS observed_at,
           bool_or(window_start) AS from_window_start
    FROM runs
    WHERE fault
    GROUP BY wifi_sn, kind, run
),
inherited AS (
    SELECT f.*, p.alarm_id AS previous_id, p.started_at AS previous_start
    FROM fault_runs AS f
    LEFT JOIN previous_stg_alarms AS p
      ON f.from_window_start AND p.wifi_sn = f.wifi_sn AND p.kind = f.kind AND p.alarm_code = f.alarm_code
     AND p.started_at <= f.first_utc AND (p.ended_at IS NULL OR p.ended_at >= f.first_utc)
    QUALIFY row_number() OVER (PARTITION BY f.wifi_sn, f.kind, f.run ORDER BY p.started_at DESC NULLS LAST) = 1
),
occurrences AS (
    SELECT *, coalesce(previous_start, first_utc) AS started_at FROM inherited
)
SELECT
    CAST($day AS DATE)                                                                   AS day,
    coalesce(previous_id, 'solax-' || wifi_sn || '-' || kind || '-' || alarm_code || '-'
                          || strftime(started_at, '%Y%m%dT%H%M%SZ'))                     AS alarm_id,
    wifi_sn, device_sn, plant_id, kind, alarm_code,
    CASE kind WHEN 'inverter' THEN 'Inverter: ' || coalesce(solax_inverter_state(alarm_code), 'status ' || alarm_code)
              ELSE 'Battery: ' || coalesce(solax_battery_state(alarm_code), 'status ' || alarm_code) END AS alarm_name,
    CASE WHEN kind = 'inverter' AND alarm_code = 104 THEN 3 ELSE 2 END                   AS alarm_level,
    CASE WHEN kind = 'inverter' AND alarm_code = 104 THEN 'Urgent' ELSE 'Important' END  AS alarm_level_name,
    CASE WHEN ended_at IS NULL THEN 1 ELSE 4 END                                         AS alarm_state,
    CASE WHEN ended_at IS NULL THEN 'open' ELSE 'closed' END                             AS status,
    started_at,
    ended_at,
    coalesce(ended_at, last_utc)                                                         AS updated_at,
    CAST(round((epoch(ended_at) - epoch(started_at)) / 60.0) AS INTEGER)                 AS duration_minutes,
    observed_at
FROM occurrences
WHERE started_at < local_to_utc(time_zone, CAST(CAST($day AS DATE) + 1 AS TIMESTAMP), false)
  AND (ended_at IS NULL OR ended_at > local_to_utc(time_zone, CAST(CAST($day AS DATE) AS TIMESTAMP), false))
ORDER BY alarm_id;
