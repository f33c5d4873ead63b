-- SolaX -> conformed plants: the plants of the sites file (the User API knows none), with the kind and the meter
-- their dongles reveal. SolaX sends no country, location or plant uid: NULL. Input: stg_plants. Parameter: $day.
SELECT 'solax' AS vendor, CAST($day AS DATE) AS day, plant_id, plant_name, CAST(NULL AS VARCHAR) AS plant_uid,
       CAST(plant_type AS INTEGER) AS plant_type, time_zone, CAST(NULL AS VARCHAR) AS country,
       CAST(NULL AS VARCHAR) AS country_code, CAST(system_power_kwp AS DOUBLE) AS system_power_kwp,
       has_load_monitor, CAST(NULL AS DOUBLE) AS latitude, CAST(NULL AS DOUBLE) AS longitude, fetched_at
FROM stg_plants
ORDER BY plant_id;
