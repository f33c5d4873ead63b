-- plants: one row per (vendor, plant), the latest details seen (a day never overwrites a later day's row).
-- Input: conformed_plants (the partition's days). Parameter: $days.
CREATE TABLE IF NOT EXISTS plants (
    vendor            VARCHAR,
    plant_id          VARCHAR,
    plant_name        VARCHAR,
    time_zone         VARCHAR,
    country           VARCHAR,
    system_power_kwp  DOUBLE,
    has_load_monitor  BOOLEAN,
    plant_type        INTEGER,
    plant_uid         VARCHAR,
    country_code      VARCHAR,
    latitude          DOUBLE,
    longitude         DOUBLE,
    last_seen_day     DATE,
    updated_at        TIMESTAMPTZ
);

CREATE OR REPLACE TEMP TABLE _plants_new AS
SELECT * FROM conformed_plants
WHERE list_contains($days, day)
QUALIFY row_number() OVER (PARTITION BY vendor, plant_id ORDER BY day DESC, fetched_at DESC) = 1;

DELETE FROM plants
WHERE (vendor, plant_id) IN (SELECT (n.vendor, n.plant_id) FROM _plants_new AS n
                             JOIN plants AS p ON p.vendor = n.vendor AND p.plant_id = n.plant_id
                                             AND p.last_seen_day <= n.day);

INSERT INTO plants BY NAME
SELECT vendor, plant_id, plant_name, time_zone, country, system_power_kwp, has_load_monitor, plant_type, plant_uid,
       country_code, latitude, longitude, day AS last_seen_day, fetched_at AS updated_at
FROM _plants_new AS n
WHERE NOT EXISTS (SELECT 1 FROM plants AS p WHERE p.vendor = n.vendor AND p.plant_id = n.plant_id);

DROP TABLE temp._plants_new;
