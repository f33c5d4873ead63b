-- devices: one row per inverter (device_type 0 grid-tied, 1 storage, 2 AC-coupled), the latest seen.
-- Load monitors are not devices here (plants.has_load_monitor tells them). Input: stg_devices. Parameter: $days.
CREATE TABLE IF NOT EXISTS devices (
    device_sn      VARCHAR,
    plant_id       VARCHAR,
    device_type    INTEGER,
    device_model   VARCHAR,
    last_seen_day  DATE,
    updated_at     TIMESTAMPTZ
);

CREATE OR REPLACE TEMP TABLE _devices_new AS
SELECT * FROM stg_devices
WHERE list_contains($days, day) AND device_kind = 'inverter'
QUALIFY row_number() OVER (PARTITION BY device_sn ORDER BY day DESC, fetched_at DESC) = 1;

DELETE FROM devices
WHERE device_sn IN (SELECT n.device_sn FROM _devices_new AS n
                    JOIN devices AS d ON d.device_sn = n.device_sn AND d.last_seen_day <= n.day);

INSERT INTO devices BY NAME
SELECT device_sn, plant_id, device_type, device_model, day AS last_seen_day, fetched_at AS updated_at
FROM _devices_new AS n
WHERE NOT EXISTS (SELECT 1 FROM devices AS d WHERE d.device_sn = n.device_sn);

DROP TABLE temp._devices_new;
