-- plant_statistics_daily: per (vendor, plant) and local day, the vendor portal's own counters (SAJ:
-- getPlantStatisticsData) in kWh, NULL where the vendor sent nothing. today_* cover the local day up to
-- client_date. Input: conformed_plant_day_totals. Parameter: $days.
CREATE TABLE IF NOT EXISTS plant_statistics_daily (
    vendor                       VARCHAR,
    plant_id                     VARCHAR,
    day                          DATE,
    client_date                  TIMESTAMP,
    today_pv_kwh                 DOUBLE,
    today_load_kwh               DOUBLE,
    today_grid_import_kwh        DOUBLE,
    today_grid_export_kwh        DOUBLE,
    today_battery_charge_kwh     DOUBLE,
    today_battery_discharge_kwh  DOUBLE,
    month_pv_kwh                 DOUBLE,
    month_load_kwh               DOUBLE,
    month_grid_import_kwh        DOUBLE,
    month_grid_export_kwh        DOUBLE,
    year_pv_kwh                  DOUBLE,
    year_load_kwh                DOUBLE,
    year_grid_import_kwh         DOUBLE,
    year_grid_export_kwh         DOUBLE,
    total_pv_kwh                 DOUBLE,
    total_load_kwh               DOUBLE,
    total_grid_import_kwh        DOUBLE,
    total_grid_export_kwh        DOUBLE,
    total_battery_charge_kwh     DOUBLE,
    total_battery_discharge_kwh  DOUBLE,
    battery_soc_pct              DOUBLE,
    fetched_at                   TIMESTAMPTZ
);

DELETE FROM plant_statistics_daily WHERE list_contains($days, day);

INSERT INTO plant_statistics_daily BY NAME
SELECT vendor, plant_id, day, client_date,
       today_pv_kwh, today_load_kwh, today_grid_import_kwh, today_grid_export_kwh,
       today_battery_charge_kwh, today_battery_discharge_kwh,
       month_pv_kwh, month_load_kwh, month_grid_import_kwh, month_grid_export_kwh,
       year_pv_kwh, year_load_kwh, year_grid_import_kwh, year_grid_export_kwh,
       total_pv_kwh, total_load_kwh, total_grid_import_kwh, total_grid_export_kwh,
       total_battery_charge_kwh, total_battery_discharge_kwh, battery_soc_pct, fetched_at
FROM conformed_plant_day_totals
WHERE list_contains($days, day)
ORDER BY vendor, plant_id, day;
