-- One row per plant of the sites file: its name, zone and capacity as the user keeps them there, and what its
-- dongles reveal: the plant kind (3 AC-coupled with an X1-AC-like battery inverter, 1 storage with a hybrid, else
-- 0 grid-tied; NULL before any dongle answered) and whether a grid meter reports (has_load_monitor).
-- Inputs: stg_sites, stg_devices. Parameter: $day.
WITH kinds AS (
    SELECT plant_id,
           CASE WHEN bool_or(role = 'ac_battery') THEN 3 WHEN bool_or(role = 'hybrid') THEN 1 ELSE 0 END AS plant_type,
           bool_or(metered) AS has_load_monitor
    FROM stg_devices
    GROUP BY plant_id
)
SELECT
    CAST($day AS DATE)                               AS day,
    s.plant_id,
    any_value(s.plant_name)                          AS plant_name,
    any_value(s.time_zone)                           AS time_zone,
    any_value(s.system_power_kwp)                    AS system_power_kwp,
    count(*)                                         AS dongles,
    any_value(k.plant_type)                          AS plant_type,
    coalesce(any_value(k.has_load_monitor), false)   AS has_load_monitor,
    max(s.fetched_at)                                AS fetched_at
FROM stg_sites AS s
LEFT JOIN kinds AS k USING (plant_id)
GROUP BY s.plant_id
ORDER BY s.plant_id;
