-- One row per plant from the newest /v1/plants answer of the day: the plants of every owner who consented.
-- Powers come in W; 0.0 means "not configured" in Sunny Portal (NULL here). Input: raw_plants. Parameter: $day.
WITH items AS (
    SELECT r.fetched_at, unnest(CAST(r.j -> 'plants' AS JSON[])) AS item
    FROM sma_answers('raw_plants', 'v1/plants') AS r
    WHERE json_type(r.j, '$.plants') = 'ARRAY'
),
plants AS (
    SELECT NULLIF(trim(item ->> 'plantId'), '') AS plant_id, fetched_at, item
    FROM items
    QUALIFY row_number() OVER (PARTITION BY plant_id ORDER BY fetched_at DESC) = 1
)
SELECT
    CAST($day AS DATE)                                                    AS day,
    plant_id,
    NULLIF(trim(item ->> 'name'), '')                                     AS plant_name,
    NULLIF(trim(item ->> 'timezone'), '')                                 AS time_zone,
    NULLIF(trim(item -> 'location' -> 'address' ->> 'country'), '')      AS country_code,
    NULLIF(num(item -> 'installation' ->> 'peakPower'), 0)                AS peak_power_w,
    NULLIF(num(item -> 'installation' ->> 'acNominalPower'), 0)           AS ac_nominal_power_w,
    num(item -> 'location' -> 'address' ->> 'latitude')                   AS latitude,
    num(item -> 'location' -> 'address' ->> 'longitude')                  AS longitude,
    TRY_STRPTIME(item -> 'installation' ->> 'startUpUtc', '%Y-%m-%dT%H:%M:%S') AS start_up_utc,
    fetched_at
FROM plants
WHERE plant_id IS NOT NULL
ORDER BY plant_id;
