-- One row per plant and local day from plant/getPlantStatisticsData (numbers arrive as strings; "" = unknown).
-- The latest response of the day wins. Input: raw_plant_statistics. Parameter: $day.
WITH responses AS (
    SELECT plant_id, request_params::JSON ->> 'clientDate' AS client_date, fetched_at, data AS d
    FROM saj_plant_data('raw_plant_statistics', 'plant/getPlantStatisticsData', 'OBJECT')
    QUALIFY row_number() OVER (PARTITION BY plant_id ORDER BY fetched_at DESC) = 1
)
SELECT
    CAST($day AS DATE)                 AS day,
    plant_id,
    local_ts(client_date)              AS client_date,
    TRY_CAST(num(d ->> 'type') AS INTEGER) AS plant_type,
    num(d ->> 'todayPvEnergy')         AS today_pv_kwh,
    num(d ->> 'todayLoadEnergy')       AS today_load_kwh,
    num(d ->> 'todayBuyEnergy')        AS today_grid_import_kwh,
    num(d ->> 'todaySellEnergy')       AS today_grid_export_kwh,
    num(d ->> 'todayChargeEnergy')     AS today_battery_charge_kwh,
    num(d ->> 'todayDisChargeEnergy')  AS today_battery_discharge_kwh,
    num(d ->> 'monthPvEnergy')         AS month_pv_kwh,
    num(d ->> 'monthLoadEnergy')       AS month_load_kwh,
    num(d ->> 'monthBuyEnergy')        AS month_grid_import_kwh,
    num(d ->> 'monthSellEnergy')       AS month_grid_export_kwh,
    num(d ->> 'yearPvEnergy')          AS year_pv_kwh,
    num(d ->> 'yearLoadEnergy')        AS year_load_kwh,
    num(d ->> 'yearBuyEnergy')         AS year_grid_import_kwh,
    num(d ->> 'yearSellEnergy')        AS year_grid_export_kwh,
    num(d ->> 'totalPvEnergy')         AS total_pv_kwh,
    num(d ->> 'totalLoadEnergy')       AS total_load_kwh,
    num(d ->> 'totalBuyEnergy')        AS total_grid_import_kwh,
    num(d ->> 'totalSellEnergy')       AS total_grid_export_kwh,
    num(d ->> 'totalChargeEnergy')     AS total_battery_charge_kwh,
    num(d ->> 'totalDisChargeEnergy')  AS total_battery_discharge_kwh,
    CASE WHEN num(d ->> 'batEnergyPercent') < 0 THEN NULL ELSE num(d ->> 'batEnergyPercent') END AS battery_soc_pct,
    local_ts(d ->> 'dataTime')         AS data_time_local,
    local_ts(d ->> 'updateDate')       AS update_date_local,
    fetched_at
FROM responses
WHERE plant_id IS NOT NULL
ORDER BY plant_id;
