-- SMA -> conformed samples, one per interval of the plant's resolution (5 minutes on ennexOS, 15 on classic
-- plants), starting at ts_utc (SMA stamps the END of a row's interval: sma_set_rows converts), energies from
-- SMA's Wh (ReturnEnergyValues) and powers as their mean over the interval:
--   source 'load_monitor': the plant's EnergyBalance, for plants with an Energy Meter (pv, consumption, grid,
--     and battery where there is one); device_sn is the meter's deviceId. A plant without a meter knows only its
--     PV, which its inverters give: its balance adds nothing.
--   source 'device': each inverter's EnergyAndPowerPv and EnergyAndPowerBattery rows.
-- A term the stream does not measure is NULL; `readable` is false where a measured term is missing (SMA left the
-- property out), the PV was implausible (rejected: NULL) or the row was spread over intervals it carried
-- (see sma_samples). Inputs: stg_energy_balance, stg_device_samples, stg_devices. Parameter: $day.
WITH meters AS (
    SELECT plant_id, min(device_id) AS device_id
    FROM stg_devices
    WHERE sma_device_kind(sets) = 'load_monitor'
      AND (deactivated_at IS NULL OR deactivated_at > CAST(CAST($day AS DATE) AS TIMESTAMP))
    GROUP BY plant_id
),
series_rows AS (
    SELECT 'load_monitor' AS stream, b.plant_id, m.device_id, 'EnergyBalance' AS set_type, b.time_zone, b.start_utc,
           b.end_utc, b.resolution_s, b.fold_ambiguous,
           b.plausible, b.pv_wh, b.load_wh, b.grid_import_wh, b.grid_export_wh, b.battery_charge_wh,
           b.battery_discharge_wh, b.self_supply_wh, b.battery_soc_pct, b.fetched_at
    FROM stg_energy_balance AS b
    JOIN meters AS m ON m.plant_id = b.plant_id
    UNION ALL BY NAME
    SELECT 'device' AS stream, plant_id, device_id, set_type, time_zone, start_utc, end_utc, resolution_s,
           fold_ambiguous, plausible, pv_wh,
           CAST(NULL AS DOUBLE) AS load_wh, CAST(NULL AS DOUBLE) AS grid_import_wh,
           CAST(NULL AS DOUBLE) AS grid_export_wh, battery_charge_wh, battery_discharge_wh,
           CAST(NULL AS DOUBLE) AS self_supply_wh, battery_soc_pct, fetched_at
    FROM stg_device_samples
),
samples AS (
    SELECT *,
           bool_or(pv_wh IS NOT NULL) OVER stream_day                AS pv_measured,
           bool_or(load_wh IS NOT NULL) OVER stream_day              AS load_measured,
           bool_or(grid_import_wh IS NOT NULL) OVER stream_day       AS import_measured,
           bool_or(grid_export_wh IS NOT NULL) OVER stream_day       AS export_measured,
           bool_or(battery_charge_wh IS NOT NULL) OVER stream_day    AS charge_measured,
           bool_or(battery_discharge_wh IS NOT NULL) OVER stream_day AS discharge_measured
    FROM sma_samples('series_rows')
    WINDOW stream_day AS (PARTITION BY stream, plant_id, device_id)
)
SELECT 'sma' AS vendor, CAST($day AS DATE) AS day, s.stream AS source, s.plant_id, s.device_id AS device_sn,
       CASE WHEN s.stream = 'device' THEN sma_device_type(d.sets) END AS device_type,
       CAST(timezone(s.time_zone, s.ts_utc) AS TIMESTAMP) AS ts_local, s.ts_utc, CAST(s.interval_s AS INTEGER) AS interval_s,
       s.pv_wh * 3600.0 / s.interval_s AS pv_w, s.load_wh * 3600.0 / s.interval_s AS load_w,
       s.grid_import_wh * 3600.0 / s.interval_s AS grid_import_w, s.grid_export_wh * 3600.0 / s.interval_s AS grid_export_w,
       s.battery_charge_wh * 3600.0 / s.interval_s AS battery_charge_w,
       s.battery_discharge_wh * 3600.0 / s.interval_s AS battery_discharge_w,
       s.battery_soc_pct,
       s.pv_wh / 1000.0 AS pv_kwh, s.load_wh / 1000.0 AS load_kwh, s.grid_import_wh / 1000.0 AS grid_import_kwh,
       s.grid_export_wh / 1000.0 AS grid_export_kwh, s.battery_charge_wh / 1000.0 AS battery_charge_kwh,
       s.battery_discharge_wh / 1000.0 AS battery_discharge_kwh,
       s.self_supply_wh * 3600.0 / s.interval_s AS self_use_w, CAST(NULL AS DOUBLE) AS today_energy_kwh,
       CASE WHEN s.stream = 'device' THEN 'own' ELSE 'plant' END AS pv_scope,
       s.charge_measured OR s.discharge_measured AS has_battery,
       s.exact
           AND (s.pv_wh IS NOT NULL OR NOT s.pv_measured) AND (s.load_wh IS NOT NULL OR NOT s.load_measured)
           AND (s.grid_import_wh IS NOT NULL OR NOT s.import_measured)
           AND (s.grid_export_wh IS NOT NULL OR NOT s.export_measured)
           AND (s.battery_charge_wh IS NOT NULL OR NOT s.charge_measured)
           AND (s.battery_discharge_wh IS NOT NULL OR NOT s.discharge_measured) AS readable,
       s.fetched_at
FROM samples AS s
LEFT JOIN stg_devices AS d ON d.device_id = s.device_id AND s.stream = 'device'
ORDER BY source, s.plant_id, device_sn, s.ts_utc;
