-- self_consumption_daily: per (vendor, plant) and local day, the sums of plant_energy_hourly (kWh),
-- self_consumed and the two rates as the README defines them (macros in sql/macros/common.sql).
-- Input: plant_energy_hourly. Parameter: $days.
CREATE TABLE IF NOT EXISTS self_consumption_daily (
    vendor                 VARCHAR,
    plant_id               VARCHAR,
    day                    DATE,
    pv_kwh                 DOUBLE,
    load_kwh               DOUBLE,
    grid_import_kwh        DOUBLE,
    grid_export_kwh        DOUBLE,
    battery_charge_kwh     DOUBLE,
    battery_discharge_kwh  DOUBLE,
    self_consumed_kwh      DOUBLE,
    self_consumption_rate  DOUBLE,
    self_sufficiency_rate  DOUBLE,
    hours                  INTEGER,
    samples                INTEGER,
    source                 VARCHAR
);

DELETE FROM self_consumption_daily WHERE day IN (SELECT unnest($days));

INSERT INTO self_consumption_daily BY NAME
WITH sums AS (
    SELECT vendor, plant_id, day,
           sum(pv_kwh) AS pv_kwh, sum(load_kwh) AS load_kwh,
           sum(grid_import_kwh) AS grid_import_kwh, sum(grid_export_kwh) AS grid_export_kwh,
           sum(battery_charge_kwh) AS battery_charge_kwh, sum(battery_discharge_kwh) AS battery_discharge_kwh,
           count(*) AS hours, sum(samples) AS samples, string_agg(DISTINCT source, ',') AS source
    FROM plant_energy_hourly
    WHERE day IN (SELECT unnest($days))
    GROUP BY vendor, plant_id, day
)
SELECT *,
       pv_kwh - grid_export_kwh                                  AS self_consumed_kwh,
       self_consumption_rate_of(pv_kwh, grid_export_kwh)         AS self_consumption_rate,
       self_sufficiency_rate_of(load_kwh, grid_import_kwh)       AS self_sufficiency_rate
FROM sums
ORDER BY vendor, plant_id, day;
