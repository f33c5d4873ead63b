-- Macros every model file may use, whatever the vendor (temporary: they live in the session, never in the
-- warehouse file). A vendor's own macros live in its folder (sql/staging/<vendor>/_macros.sql).

-- A number the API may send as a number, a string, "" or null (anything else, "NaN" included: NULL).
CREATE OR REPLACE TEMP MACRO num_any(txt) AS TRY_CAST(NULLIF(trim(CAST(txt AS VARCHAR)), '') AS DOUBLE);
CREATE OR REPLACE TEMP MACRO num(txt) AS CASE WHEN isfinite(num_any(txt)) THEN num_any(txt) END;

-- A plant-local wall-clock stamp "yyyy-MM-dd HH:mm:ss" (SAJ's dataTime, SolaX's uploadTime).
CREATE OR REPLACE TEMP MACRO local_ts(txt) AS TRY_STRPTIME(trim(CAST(txt AS VARCHAR)), '%Y-%m-%d %H:%M:%S');

-- An ISO-8601 UTC stamp ("2025-09-02T03:40:00Z", "2025-08-27T03:40Z").
CREATE OR REPLACE TEMP MACRO utc_ts(txt) AS timezone('UTC', coalesce(
    TRY_STRPTIME(trim(CAST(txt AS VARCHAR)), '%Y-%m-%dT%H:%M:%SZ'),
    TRY_STRPTIME(trim(CAST(txt AS VARCHAR)), '%Y-%m-%dT%H:%MZ'),
    TRY_STRPTIME(trim(CAST(txt AS VARCHAR)), '%Y-%m-%dT%H:%M:%S.%fZ'),
    TRY_STRPTIME(trim(CAST(txt AS VARCHAR)), '%Y-%m-%d %H:%M:%S')));

-- The offset from UTC of zone `tz` at an instant.
CREATE OR REPLACE TEMP MACRO utc_offset(tz, instant) AS timezone(tz, instant) - timezone('UTC', instant);

-- Every instant whose wall-clock time in `tz` is `ts_local`, earliest first: one normally, two in the
-- hour that repeats when daylight-saving time ends, none in the hour skipped when it starts.
CREATE OR REPLACE TEMP MACRO utc_candidates(tz, ts_local) AS list_sort(list_distinct(list_filter(
    [timezone('UTC', ts_local - utc_offset(tz, timezone(tz, ts_local) - INTERVAL 3 HOUR)),
     timezone('UTC', ts_local - utc_offset(tz, timezone(tz, ts_local) + INTERVAL 3 HOUR))],
    lambda c: timezone(tz, c) = ts_local)));

-- The instant of a local stamp: `second` picks the later one of a repeated stamp.
CREATE OR REPLACE TEMP MACRO local_to_utc(tz, ts_local, second) AS CASE
    WHEN len(utc_candidates(tz, ts_local)) = 0 THEN timezone(tz, ts_local)
    WHEN second THEN utc_candidates(tz, ts_local)[-1]
    ELSE utc_candidates(tz, ts_local)[1] END;

-- The samples of `samples` (a relation with response_id, seq, time_zone, ts_local) with their instant
-- ts_utc. On the day daylight-saving time ends a local hour repeats, and the API sends a response's samples in
-- time order: from the first stamp that goes back within a repeated hour on, the later instant is meant.
CREATE OR REPLACE TEMP MACRO with_utc(samples) AS TABLE
WITH ordered AS (
    SELECT *,
        len(utc_candidates(time_zone, ts_local)) = 2 AS ambiguous,
        lag(ts_local) OVER (PARTITION BY response_id ORDER BY seq) AS prev_local
    FROM query_table(samples)
    WHERE ts_local IS NOT NULL AND time_zone IS NOT NULL
),
folded AS (
    SELECT *, min(CASE WHEN ambiguous AND ts_local < prev_local THEN seq END)
                  OVER (PARTITION BY response_id) AS rewind_seq
    FROM ordered
)
SELECT * EXCLUDE (ambiguous, prev_local, rewind_seq),
       local_to_utc(time_zone, ts_local, coalesce(seq >= rewind_seq, false)) AS ts_utc
FROM folded;

-- The README's definitions: self_consumed = pv - grid_export; self_consumption_rate = self_consumed / pv;
-- self_sufficiency_rate = (load - grid_import) / load; NULL where the denominator is zero or unknown.
CREATE OR REPLACE TEMP MACRO self_consumption_rate_of(pv, grid_export) AS
    CASE WHEN pv > 0 THEN (pv - grid_export) / pv END;
CREATE OR REPLACE TEMP MACRO self_sufficiency_rate_of(load, grid_import) AS
    CASE WHEN load > 0 THEN (load - grid_import) / load END;

-- The energy in kWh of a mean power in W held for `seconds`.
CREATE OR REPLACE TEMP MACRO kwh_of(w, seconds) AS w * seconds / 3600.0 / 1000.0;

-- One bit per minute of the hour of a local stamp: bit_count(bit_or(slot_bit(ts))) counts the distinct
-- sample instants of an hour (stamps are whole minutes) without the hash set of a count(DISTINCT).
CREATE OR REPLACE TEMP MACRO slot_bit(ts_local) AS CAST(1 AS UBIGINT) << CAST(minute(ts_local) AS UBIGINT);
