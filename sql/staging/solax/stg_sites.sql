-- One row per dongle of the sites file the day's rounds used (SOLAX_SITES_FILE as landed with each round: the
-- newest landing of the day). Input: raw_realtime (the day's rounds). Parameter: $day.
WITH landings AS (
    SELECT r.fetched_at, r.body::JSON AS j
    FROM raw_realtime AS r
    WHERE r.endpoint = 'sites.csv' AND json_valid(r.body)
),
latest AS (
    SELECT * FROM landings
    ORDER BY fetched_at DESC
    LIMIT 1
),
rows AS (
    SELECT fetched_at, j ->> 'sha256' AS sites_sha256, unnest(CAST(j -> 'sites' AS JSON[])) AS s FROM latest
)
SELECT
    CAST($day AS DATE)                                 AS day,
    s ->> 'wifi_sn'                                    AS wifi_sn,
    s ->> 'plant_id'                                   AS plant_id,
    s ->> 'plant_name'                                 AS plant_name,
    s ->> 'time_zone'                                  AS time_zone,
    num(s ->> 'system_power_kwp')                      AS system_power_kwp,
    TRY_CAST(s ->> 'line' AS INTEGER)                  AS line,
    sites_sha256,
    fetched_at
FROM rows
ORDER BY line;
