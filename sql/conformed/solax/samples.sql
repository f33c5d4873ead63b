-- SolaX -> conformed samples: each inverter's samples (source 'device': a distinct upload standing for the
-- interval since the previous one, cut at local hours; stg_device_samples) and each metered plant's meter stream
-- (source 'load_monitor': PV, load from the balance, grid, and the battery its storage inverters measured at the
-- same instants; stg_meter_samples). A term the dongle does not measure is NULL; inverters have no load of their
-- own (the User API has no load field: the plant's is in its meter stream). A plant's samples share their
-- instants, whatever its dongles' upload phases.
-- Inputs: stg_device_samples, stg_meter_samples. Parameter: $day.
WITH device AS (
    SELECT 'device' AS source, plant_id, device_sn, CAST(device_type AS INTEGER) AS device_type, ts_local, ts_utc,
           interval_s, pv_w, CAST(NULL AS DOUBLE) AS load_w, grid_import_w, grid_export_w, battery_charge_w,
           battery_discharge_w, battery_soc_pct, pv_kwh, CAST(NULL AS DOUBLE) AS load_kwh, grid_import_kwh,
           grid_export_kwh, battery_charge_kwh, battery_discharge_kwh, CAST(NULL AS DOUBLE) AS self_use_w,
           today_energy_kwh, pv_scope, has_battery, readable, fetched_at
    FROM stg_device_samples
),
meter AS (
    SELECT 'load_monitor' AS source, plant_id, meter_sn AS device_sn, CAST(NULL AS INTEGER) AS device_type, ts_local,
           ts_utc, interval_s, pv_w, load_w, grid_import_w, grid_export_w, battery_charge_w, battery_discharge_w,
           CAST(NULL AS DOUBLE) AS battery_soc_pct, pv_kwh, load_kwh, grid_import_kwh, grid_export_kwh,
           battery_charge_kwh, battery_discharge_kwh, self_use_w, CAST(NULL AS DOUBLE) AS today_energy_kwh,
           'plant' AS pv_scope, false AS has_battery, readable, fetched_at
    FROM stg_meter_samples
)
SELECT 'solax' AS vendor, CAST($day AS DATE) AS day, *
FROM (SELECT * FROM device UNION ALL BY NAME SELECT * FROM meter)
ORDER BY source, plant_id, device_sn, ts_utc;
