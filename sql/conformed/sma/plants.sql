-- SMA -> conformed plants: /v1/plants as staged, with the plant kind of the conformed layer (0 grid-tied, 1 storage,
-- 3 AC-coupled) and whether it has a load monitor (an Energy Meter), both from its devices' measurement sets.
-- system_power_kwp is SMA's peakPower (W) in kWp, NULL where Sunny Portal says "not configured".
-- SMA gives no country name or plant uid (NULL). Inputs: stg_plants, stg_devices. Parameter: $day.
WITH kinds AS (
    SELECT plant_id,
           bool_or(sma_device_kind(sets) = 'load_monitor') AS has_load_monitor,
           CASE WHEN bool_or(sma_device_type(sets) = 2) THEN 3
                WHEN bool_or(sma_device_type(sets) = 1) THEN 1
                ELSE 0 END                                AS plant_type
    FROM stg_devices
    WHERE deactivated_at IS NULL OR deactivated_at > CAST(CAST($day AS DATE) AS TIMESTAMP)
    GROUP BY plant_id
)
SELECT 'sma' AS vendor, CAST($day AS DATE) AS day, p.plant_id, p.plant_name, CAST(NULL AS VARCHAR) AS plant_uid,
       k.plant_type, p.time_zone, CAST(NULL AS VARCHAR) AS country, p.country_code,
       p.peak_power_w / 1000.0 AS system_power_kwp, coalesce(k.has_load_monitor, false) AS has_load_monitor,
       p.latitude, p.longitude, p.fetched_at
FROM stg_plants AS p
LEFT JOIN kinds AS k ON k.plant_id = p.plant_id
ORDER BY p.plant_id;
