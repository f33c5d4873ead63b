-- One row per plant and EnergyBalance row of its local day (ReturnEnergyValues=true: Wh in the row's interval),
-- with the interval it stands for (see sma_set_rows: `time` is the END of the interval; a row after rows SMA left
-- out carries their energy). A property SMA left out is unknown (NULL), never 0: a plant without an Energy Meter
-- sends PV only. `plausible`: the PV is no more than the plant's inverters can produce in the interval (a newly
-- added inverter's first reading is booked here too, and can be absurd).
-- Inputs: raw_energy_balance, stg_plants, stg_devices. Parameters: $day, $time_basis.
WITH series AS (
    SELECT * FROM sma_set_rows('raw_energy_balance', 'v1/plants/{plantId}/measurements/sets/EnergyBalance/Day',
                               'stg_plants', CAST($day AS DATE), $time_basis)
),
rating AS (
    -- the plant's AC nominal power: its inverters active that day, else the plant's own figures
    SELECT pl.plant_id,
           coalesce(sum(dv.generator_power_w), any_value(pl.ac_nominal_power_w), any_value(pl.peak_power_w)) AS rated_w
    FROM stg_plants AS pl
    LEFT JOIN stg_devices AS dv
           ON dv.plant_id = pl.plant_id
          AND (dv.deactivated_at IS NULL OR dv.deactivated_at > CAST(CAST($day AS DATE) AS TIMESTAMP))
    GROUP BY pl.plant_id
)
SELECT
    CAST($day AS DATE)                                  AS day,
    s.plant_id, s.time_zone, s.ts_sent, s.start_utc, s.end_utc, s.elapsed_s, s.resolution_s,
    s.fold_ambiguous,
    sma_wh(s.p, 'pvGeneration')                         AS pv_wh,
    sma_wh(s.p, 'totalConsumption')                     AS load_wh,
    sma_wh(s.p, 'gridConsumption')                      AS grid_import_wh,
    sma_wh(s.p, 'gridFeedIn')                           AS grid_export_wh,
    sma_wh(s.p, 'batteryCharging')                      AS battery_charge_wh,
    sma_wh(s.p, 'batteryDischarging')                   AS battery_discharge_wh,
    num(s.p ->> 'batteryStateOfCharge')                 AS battery_soc_pct,
    sma_wh(s.p, 'directConsumption')                    AS direct_consumption_wh,
    sma_wh(s.p, 'selfConsumption')                      AS self_consumption_wh,
    sma_wh(s.p, 'selfSupply')                           AS self_supply_wh,
    sma_pv_limit_wh(r.rated_w, s.elapsed_s)             AS pv_limit_wh,
    coalesce(sma_wh(s.p, 'pvGeneration') <= sma_pv_limit_wh(r.rated_w, s.elapsed_s), true) AS plausible,
    s.fetched_at
FROM series AS s
LEFT JOIN rating AS r ON r.plant_id = s.plant_id
ORDER BY s.plant_id, s.end_utc;
