-- One row per plant: its plant/details for the day (the latest response if there are several).
-- Input: temp table raw_plants (the raw lake rows of the day). Parameter: $day.
WITH details AS (
    SELECT plant_id, fetched_at, data AS d FROM saj_plant_data('raw_plants', 'plant/details', 'OBJECT')
),
latest AS (
    SELECT * FROM details
    WHERE plant_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY plant_id ORDER BY fetched_at DESC) = 1
)
SELECT
    CAST($day AS DATE)                                  AS day,
    plant_id,
    NULLIF(trim(d ->> 'plantName'), '')                 AS plant_name,
    NULLIF(trim(d ->> 'plantUid'), '')                  AS plant_uid,
    TRY_CAST(num(d ->> 'type') AS INTEGER)              AS plant_type,
    NULLIF(trim(d ->> 'timeZone'), '')                  AS time_zone,
    NULLIF(trim(d ->> 'country'), '')                   AS country,
    NULLIF(trim(d ->> 'countryCode'), '')               AS country_code,
    num(d ->> 'systemPower')                            AS system_power_kwp,
    coalesce(num(d ->> 'isInstallMeter') = 1, false)    AS has_load_monitor,
    num(d ->> 'latitude')                               AS latitude,
    num(d ->> 'longitude')                              AS longitude,
    fetched_at
FROM latest
ORDER BY plant_id;
