-- One row per device, measurement set and row of the plant-local day from the devices' EnergyAndPowerPv and
-- EnergyAndPowerBattery sets (ReturnEnergyValues=true: Wh in the row's interval), with the interval it stands
-- for (see sma_set_rows). A property SMA left out is unknown (NULL), never 0. `plausible`: the PV is no more than
-- the device's AC nominal power (generatorPower) can produce in the interval: SMA's first reading of a newly
-- added device can be absurd. Inputs: raw_device_sets, stg_plants, stg_devices. Parameters: $day, $time_basis.
WITH series AS (
    SELECT * FROM sma_set_rows('raw_device_sets', 'v1/devices/{deviceId}/measurements/sets/{setType}/Day',
                               'stg_plants', CAST($day AS DATE), $time_basis)
)
SELECT
    CAST($day AS DATE)                                  AS day,
    s.device_id, s.plant_id, s.set_type, s.time_zone, s.ts_sent, s.start_utc, s.end_utc, s.elapsed_s, s.resolution_s,
    s.fold_ambiguous,
    sma_wh(s.p, 'pvGeneration')                         AS pv_wh,
    sma_wh(s.p, 'batteryCharging')                      AS battery_charge_wh,
    sma_wh(s.p, 'batteryDischarging')                   AS battery_discharge_wh,
    num(s.p ->> 'batteryStateOfCharge')                 AS battery_soc_pct,
    sma_pv_limit_wh(dv.generator_power_w, s.elapsed_s)  AS pv_limit_wh,
    coalesce(sma_wh(s.p, 'pvGeneration') <= sma_pv_limit_wh(dv.generator_power_w, s.elapsed_s), true) AS plausible,
    s.fetched_at
FROM series AS s
LEFT JOIN stg_devices AS dv ON dv.device_id = s.device_id
ORDER BY s.plant_id, s.device_id, s.set_type, s.end_utc;
