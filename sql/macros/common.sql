-- Macros every model file may use, whatever the vendor (temporary: they live in the session, never in the
-- warehouse file). A vendor's own macros live in its folder (sql/staging/<vendor>/_macros.sql).

-- A number the API may send as a number, a string, "" or null (anything else, "NaN" included: NULL).
CREATE OR REPLACE TEMP MACRO num_any(txt) AS TRY_CAST(NULLIF(trim(CAST(txt AS VARCHAR)), '') AS DOUBLE);
CREATE OR REPLACE TEMP MACRO num(txt) AS CASE WHEN isfinite(num_any(txt)) THEN num_any(txt) END;

-- A plant-local wall-clock stamp "yyyy-MM-dd HH:mm:ss" (SAJ's dataTime, SolaX's uploadTime).
CREATE OR REPLACE TEMP MACRO local_ts(txt) AS TRY_STRPTIME(trim(CAST(txt AS VARCHAR)), '%Y-%m-%d %H:%M:%S');

-- The offset from UTC of zone `tz` at an instant.
CREATE OR REPLACE TEMP MACRO utc_offset(tz, instant) AS timezone(tz, instant) - timezone('UTC', instant);

-- Every instant whose wall-clock time in `tz` is `ts_local`, earliest first: one normally, two in the
-- hour that repeats when daylight-saving time ends, none in the hour skipped when it starts.
CREATE OR REPLACE TEMP MACRO utc_candidates(tz, ts_local) AS list_sort(list_distinct(list_filter(
    [timezone('UTC', ts_local - utc_offset(tz, timezone(tz, ts_local) - INTERVAL 3 HOUR)),
     timezone('UTC', ts_local - utc_offset(tz, timezone(tz, ts_local) + INTERVAL 3 HOUR))],
    lambda c: timezone(tz, c) = ts_local)));

-- The instant of a local stamp among its `candidates` (utc_candidates): `second` picks the later one of a
-- repeated stamp; a skipped stamp is read with the zone's offset after the jump.
CREATE OR REPLACE TEMP MACRO pick_utc(candidates, tz, ts_local, second) AS CASE
    WHEN len(candidates) = 0 THEN timezone(tz, ts_local)
    WHEN second THEN candidates[-1]
    ELSE candidates[1] END;

-- The instant of a local stamp: `second` picks the later one of a repeated stamp.
CREATE OR REPLACE TEMP MACRO local_to_utc(tz, ts_local, second) AS
    pick_utc(utc_candidates(tz, ts_local), tz, ts_local, second);

-- An instant from a stamp with a zone ("2025-09-02T03:40:00Z", "2025-08-27T03:40Z", "2025-09-02 11:40:00+08:00"),
-- or, when the stamp has none ("2025-09-02 11:40:00"), read as wall-clock time in the zone `tz`.
CREATE OR REPLACE TEMP MACRO instant_of(txt, tz) AS CASE
    WHEN regexp_matches(trim(CAST(txt AS VARCHAR)), '(Z|[+-]\d\d(:?\d\d)?)$')
    THEN TRY_CAST(regexp_replace(trim(CAST(txt AS VARCHAR)), '^(\d{4}-\d\d-\d\dT\d\d:\d\d)Z$', '\1:00Z')
                  AS TIMESTAMPTZ)
    ELSE local_to_utc(tz, local_ts(txt), false) END;

-- A duration as SAJ writes it ("35 minutes", "3 hours 5 minutes", "1 days 12 hours 50 minutes"), in minutes.
CREATE OR REPLACE TEMP MACRO duration_minutes(txt) AS CASE WHEN txt IS NOT NULL THEN
    coalesce(TRY_CAST(regexp_extract(CAST(txt AS VARCHAR), '(\d+)\s*day', 1) AS INTEGER), 0) * 1440
    + coalesce(TRY_CAST(regexp_extract(CAST(txt AS VARCHAR), '(\d+)\s*hour', 1) AS INTEGER), 0) * 60
    + coalesce(TRY_CAST(regexp_extract(CAST(txt AS VARCHAR), '(\d+)\s*min', 1) AS INTEGER), 0) END;

-- The samples of `samples` (a relation with response_id, seq, time_zone, ts_local, copy_key and payload) with
-- their instant ts_utc, and fold_ambiguous. On the day daylight-saving time ends a local hour repeats: each of
-- its stamps is sent twice. The n-th copy of a stamp in a response is its n-th instant, whatever order the
-- copies come in (time order, or sorted by local time); where every copy carries a counter that grows with
-- time (copy_key, such as a device's todayEnergy; NULL where there is none), the counter orders them instead.
-- More than two copies means a sample was sent twice: identical payloads (the sample as sent) count once. (Two
-- identical copies are the two instants: a night hour's samples can be equal.) A repeated stamp sent once is
-- ambiguous: it takes the instant the response's order suggests (after the clock went back: the later one)
-- and is flagged.
-- (A day's samples share a few hundred stamps: each distinct stamp of a zone is converted once, since time
-- zone arithmetic is most of this macro's cost.)
CREATE OR REPLACE TEMP MACRO with_utc(samples) AS TABLE
WITH stamps AS (
    SELECT time_zone, ts_local, utc_candidates(time_zone, ts_local) AS candidates
    FROM (SELECT DISTINCT time_zone, ts_local FROM query_table(samples)
          WHERE ts_local IS NOT NULL AND time_zone IS NOT NULL)
),
stamped AS (
    SELECT s.*, c.candidates, len(c.candidates) = 2 AS repeated,
           count(*) OVER (PARTITION BY s.response_id, s.ts_local) AS sent,
           row_number() OVER (PARTITION BY s.response_id, s.ts_local, s.payload ORDER BY s.seq) AS same_payload
    FROM query_table(samples) AS s
    JOIN stamps AS c ON c.time_zone = s.time_zone AND c.ts_local = s.ts_local
),
once AS (
    SELECT * EXCLUDE (sent, same_payload) FROM stamped
    WHERE NOT (repeated AND sent > 2 AND same_payload > 1)
),
copies AS (
    SELECT *,
        count(*) OVER stamp                                      AS copies,
        count(copy_key) OVER stamp                               AS keyed,
        row_number() OVER (stamp ORDER BY seq)                   AS nth_by_order,
        row_number() OVER (stamp ORDER BY copy_key, seq)         AS nth_by_key,
        lag(ts_local) OVER (PARTITION BY response_id ORDER BY seq) AS prev_local
    FROM once
    WINDOW stamp AS (PARTITION BY response_id, ts_local)
),
rewound AS (
    SELECT *, min(CASE WHEN repeated AND ts_local < prev_local THEN seq END)
                  OVER (PARTITION BY response_id) AS rewind_seq
    FROM copies
)
SELECT * EXCLUDE (candidates, repeated, copies, keyed, nth_by_order, nth_by_key, prev_local, rewind_seq, payload),
       pick_utc(candidates, time_zone, ts_local, CASE
           WHEN NOT repeated THEN false
           WHEN copies >= 2 THEN (CASE WHEN keyed = copies THEN nth_by_key ELSE nth_by_order END) >= 2
           ELSE coalesce(seq >= rewind_seq, false) END) AS ts_utc,
       repeated AND copies < 2 AS fold_ambiguous
FROM rewound;

-- The smaller of two amounts, unknown if either is (DuckDB's least() skips NULLs: an unknown load is not 0).
CREATE OR REPLACE TEMP MACRO lesser(a, b) AS CASE WHEN a IS NULL OR b IS NULL THEN NULL WHEN a <= b THEN a ELSE b END;

-- A rate: the share `part` is of `whole`, NULL where the whole is zero or unknown (the README's definitions).
CREATE OR REPLACE TEMP MACRO share(part, whole) AS CASE WHEN whole > 0 THEN part / whole END;

-- The energy in kWh of a mean power in W held for `seconds`.
CREATE OR REPLACE TEMP MACRO kwh_of(w, seconds) AS w * seconds / 3600.0 / 1000.0;
