-- SAJ -> conformed plants: plant/details as staged. plant_type keeps SAJ's codes, which the conformed layer
-- adopts for every vendor (0 grid-tied, 1 storage, 3 AC-coupled). Input: stg_plants. Parameter: $day.
SELECT 'saj' AS vendor, CAST($day AS DATE) AS day, plant_id, plant_name, plant_uid, plant_type, time_zone, country,
       country_code, system_power_kwp, has_load_monitor, latitude, longitude, fetched_at
FROM stg_plants
ORDER BY plant_id;
