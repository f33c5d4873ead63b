-- self_consumption_monthly: per (vendor, plant) and calendar month (of local days), rebuilt from self_consumption_daily
-- for every month the partition's days touch; same definitions as the daily table.
-- Input: self_consumption_daily. Parameter: $days.
CREATE TABLE IF NOT EXISTS self_consumption_monthly (
    vendor                 VARCHAR,
    plant_id               VARCHAR,
    month                  DATE,
    pv_kwh                 DOUBLE,
    load_kwh               DOUBLE,
    grid_import_kwh        DOUBLE,
    grid_export_kwh        DOUBLE,
    battery_charge_kwh     DOUBLE,
    battery_discharge_kwh  DOUBLE,
    self_consumed_kwh      DOUBLE,
    self_consumption_rate  DOUBLE,
    self_sufficiency_rate  DOUBLE,
    days                   INTEGER
);

DELETE FROM self_consumption_monthly
WHERE list_contains(list_transform($days, lambda d: CAST(date_trunc('month', d) AS DATE)), month);

INSERT INTO self_consumption_monthly BY NAME
WITH sums AS (
    SELECT vendor, plant_id, CAST(date_trunc('month', day) AS DATE) AS month,
           sum(pv_kwh) AS pv_kwh, sum(load_kwh) AS load_kwh,
           sum(grid_import_kwh) AS grid_import_kwh, sum(grid_export_kwh) AS grid_export_kwh,
           sum(battery_charge_kwh) AS battery_charge_kwh, sum(battery_discharge_kwh) AS battery_discharge_kwh,
           count(*) AS days
    FROM self_consumption_daily
    WHERE list_contains(list_transform($days, lambda d: CAST(date_trunc('month', d) AS DATE)),
                        CAST(date_trunc('month', day) AS DATE))
    GROUP BY vendor, plant_id, month
)
SELECT *,
       pv_kwh - grid_export_kwh                                  AS self_consumed_kwh,
       self_consumption_rate_of(pv_kwh, grid_export_kwh)         AS self_consumption_rate,
       self_sufficiency_rate_of(load_kwh, grid_import_kwh)       AS self_sufficiency_rate
FROM sums
ORDER BY vendor, plant_id, month;
