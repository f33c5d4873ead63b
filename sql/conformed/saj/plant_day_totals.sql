-- SAJ -> conformed plant day totals: the portal's counters (getPlantStatisticsData as of client_date), kWh.
-- Input: stg_plant_statistics. Parameter: $day.
SELECT 'saj' AS vendor, day, plant_id, client_date,
       today_pv_kwh, today_load_kwh, today_grid_import_kwh, today_grid_export_kwh,
       today_battery_charge_kwh, today_battery_discharge_kwh,
       month_pv_kwh, month_load_kwh, month_grid_import_kwh, month_grid_export_kwh,
       year_pv_kwh, year_load_kwh, year_grid_import_kwh, year_grid_export_kwh,
       total_pv_kwh, total_load_kwh, total_grid_import_kwh, total_grid_export_kwh,
       total_battery_charge_kwh, total_battery_discharge_kwh, battery_soc_pct, fetched_at
FROM stg_plant_statistics
ORDER BY plant_id;
