-- SMA -> conformed plant day totals: the plant's day counters, from its EnergyBalance rows. SMA's energy values
-- are deltas of the plant's whole-Wh counters, started at local midnight, and the row after rows SMA left out
-- carries their energy (stg_energy_balance): so the day's rows add up to the counters' day totals, even where
-- the rows themselves have gaps (the hours then say how that energy fell is unknown; the day's total is not).
-- A plant-day gets its totals only once its rows reach the next local midnight (a day not over, or an outage
-- reaching midnight, leaves the end of the day unknown). A term is NULL where a row lacks it (SMA left it out:
-- the plant does not measure it) or, for PV, where a row was implausible (rejected: its energy is unknown).
-- SMA's Day series give no month, year or lifetime counters (NULL); battery_soc_pct is the day's last.
-- client_date: the plant-local time the counters reach. Input: stg_energy_balance. Parameter: $day.
WITH rows_of_day AS (
    SELECT *, sma_local_instant(time_zone, CAST(CAST($day AS DATE) + 1 AS TIMESTAMP)) AS day_end_utc
    FROM stg_energy_balance
),
days AS (
    SELECT plant_id, any_value(time_zone) AS time_zone, max(end_utc) AS last_end, any_value(day_end_utc) AS day_end_utc,
           CASE WHEN count(pv_wh) = count(*) AND bool_and(plausible) THEN sum(pv_wh) END AS pv_wh,
           CASE WHEN count(load_wh) = count(*) THEN sum(load_wh) END                       AS load_wh,
           CASE WHEN count(grid_import_wh) = count(*) THEN sum(grid_import_wh) END         AS grid_import_wh,
           CASE WHEN count(grid_export_wh) = count(*) THEN sum(grid_export_wh) END         AS grid_export_wh,
           CASE WHEN count(battery_charge_wh) = count(*) THEN sum(battery_charge_wh) END   AS battery_charge_wh,
           CASE WHEN count(battery_discharge_wh) = count(*) THEN sum(battery_discharge_wh) END
                                                                                           AS battery_discharge_wh,
           arg_max(battery_soc_pct, end_utc)                                               AS battery_soc_pct,
           max(fetched_at)                                                                 AS fetched_at
    FROM rows_of_day
    GROUP BY plant_id
)
SELECT 'sma' AS vendor, CAST($day AS DATE) AS day, plant_id,
       CAST(timezone(time_zone, last_end) AS TIMESTAMP) AS client_date,
       pv_wh / 1000.0 AS today_pv_kwh, load_wh / 1000.0 AS today_load_kwh,
       grid_import_wh / 1000.0 AS today_grid_import_kwh, grid_export_wh / 1000.0 AS today_grid_export_kwh,
       battery_charge_wh / 1000.0 AS today_battery_charge_kwh,
       battery_discharge_wh / 1000.0 AS today_battery_discharge_kwh,
       CAST(NULL AS DOUBLE) AS month_pv_kwh, CAST(NULL AS DOUBLE) AS month_load_kwh,
       CAST(NULL AS DOUBLE) AS month_grid_import_kwh, CAST(NULL AS DOUBLE) AS month_grid_export_kwh,
       CAST(NULL AS DOUBLE) AS year_pv_kwh, CAST(NULL AS DOUBLE) AS year_load_kwh,
       CAST(NULL AS DOUBLE) AS year_grid_import_kwh, CAST(NULL AS DOUBLE) AS year_grid_export_kwh,
       CAST(NULL AS DOUBLE) AS total_pv_kwh, CAST(NULL AS DOUBLE) AS total_load_kwh,
       CAST(NULL AS DOUBLE) AS total_grid_import_kwh, CAST(NULL AS DOUBLE) AS total_grid_export_kwh,
       CAST(NULL AS DOUBLE) AS total_battery_charge_kwh, CAST(NULL AS DOUBLE) AS total_battery_discharge_kwh,
       battery_soc_pct, fetched_at
FROM days
WHERE last_end >= day_end_utc
ORDER BY plant_id;
