-- devices: one row per (vendor, inverter), the latest seen. device_type: 0 grid-tied, 1 storage/hybrid,
-- 2 AC-coupled storage; pv_scope 'plant' where the device's PV meter stands for the whole plant's PV.
-- Load monitors are not devices here (plants.has_load_monitor tells them). Input: conformed_devices.
-- Parameter: $days.
CREATE TABLE IF NOT EXISTS devices (
    vendor         VARCHAR,
    device_sn      VARCHAR,
    plant_id       VARCHAR,
    device_type    INTEGER,
    device_model   VARCHAR,
    pv_scope       VARCHAR,
    has_battery    BOOLEAN,
    last_seen_day  DATE,
    updated_at     TIMESTAMPTZ
);

CREATE OR REPLACE TEMP TABLE _devices_new AS
SELECT * FROM conformed_devices
WHERE list_contains($days, day) AND device_kind = 'inverter'
QUALIFY row_number() OVER (PARTITION BY vendor, device_sn ORDER BY day DESC, fetched_at DESC) = 1;

DELETE FROM devices
WHERE (vendor, device_sn) IN (SELECT (n.vendor, n.device_sn) FROM _devices_new AS n
                              JOIN devices AS d ON d.vendor = n.vendor AND d.device_sn = n.device_sn
                                               AND d.last_seen_day <= n.day);

INSERT INTO devices BY NAME
SELECT vendor, device_sn, plant_id, device_type, device_model, pv_scope, has_battery, day AS last_seen_day,
       fetched_at AS updated_at
FROM _devices_new AS n
WHERE NOT EXISTS (SELECT 1 FROM devices AS d WHERE d.vendor = n.vendor AND d.device_sn = n.device_sn);

DROP TABLE temp._devices_new;
