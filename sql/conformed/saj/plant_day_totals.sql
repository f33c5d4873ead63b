-- SAJ -> conformed plant day totals: the portal's counters (getPlantStatisticsData as of client_date), kWh.
-- A plant that cannot know its load (grid-tied, no load monitor: load and purchases come as "") gets its PV
-- booked as sold by the portal: its export figures are not measurements and stay NULL. A plant without a
-- battery reports a state of charge of "0": NULL here. Input: stg_plant_statistics. Parameter: $day.
SELECT 'saj' AS vendor, day, plant_id, client_date,
       today_pv_kwh, today_load_kwh, today_grid_import_kwh,
       CASE WHEN today_load_kwh IS NOT NULL THEN today_grid_export_kwh END AS today_grid_export_kwh,
       today_battery_charge_kwh, today_battery_discharge_kwh,
       month_pv_kwh, month_load_kwh, month_grid_import_kwh,
       CASE WHEN month_load_kwh IS NOT NULL THEN month_grid_export_kwh END AS month_grid_export_kwh,
       year_pv_kwh, year_load_kwh, year_grid_import_kwh,
       CASE WHEN year_load_kwh IS NOT NULL THEN year_grid_export_kwh END AS year_grid_export_kwh,
       total_pv_kwh, total_load_kwh, total_grid_import_kwh,
       CASE WHEN total_load_kwh IS NOT NULL THEN total_grid_export_kwh END AS total_grid_export_kwh,
       total_battery_charge_kwh, total_battery_discharge_kwh,
       CASE WHEN plant_type IN (1, 3) THEN battery_soc_pct END AS battery_soc_pct,
       fetched_at
FROM stg_plant_statistics
ORDER BY plant_id;
