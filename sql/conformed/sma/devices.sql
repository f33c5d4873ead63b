-- SMA -> conformed devices: the devices listed for the plant that are active on the day, with the roles the
-- marts read, from the measurement sets each offers:
--   EnergyAndPowerPv only: an inverter with its own PV (device_type 0, pv_scope 'own');
--   EnergyAndPowerPv and EnergyAndPowerBattery: a hybrid inverter with a battery (1);
--   EnergyAndPowerBattery only: a battery inverter, AC-coupled storage (2);
--   EnergyAndPowerInOut / EnergyAndPowerConsumption: the Energy Meter, the plant's load monitor;
--   none of these (a Data Manager, a sensor, a charging station): kind 'other'.
-- device_sn is SMA's deviceId (every call names a device by it; not every device has a serial).
-- Input: stg_devices. Parameter: $day.
SELECT 'sma' AS vendor, CAST($day AS DATE) AS day, device_id AS device_sn, plant_id,
       sma_device_kind(sets) AS device_kind, sma_device_type(sets) AS device_type, product AS device_model,
       CASE WHEN sma_device_kind(sets) = 'inverter' THEN 'own' END AS pv_scope,
       list_contains(sets, 'EnergyAndPowerBattery') AS has_battery,
       fetched_at
FROM stg_devices
WHERE deactivated_at IS NULL OR deactivated_at > CAST(CAST($day AS DATE) AS TIMESTAMP)
ORDER BY plant_id, device_sn;
