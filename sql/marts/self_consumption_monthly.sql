-- self_consumption_monthly: per (vendor, plant) and calendar month (of local days), rebuilt from
-- self_consumption_daily for every month the partition's days touch.
--
-- Energies and flows are the sums of the days. A rate over a month uses only the days that have both its
-- numerator and its denominator (a day from the inverters alone knows no load: it does not count for
-- self-sufficiency, and its PV does not water down the month's self-consumption): self_consumption_rate =
-- sum(self_consumed) / sum(pv) over the days with a self-consumption rate (their number: rated_days_pv), and
-- likewise self_sufficiency_rate over rated_days_load. days_complete, days_counters and days_incomplete count
-- the days by energy_basis; days_in_month says how many there are.
-- Input: self_consumption_daily. Parameter: $days.
CREATE TABLE IF NOT EXISTS self_consumption_monthly (
    vendor                 VARCHAR,
    plant_id               VARCHAR,
    month                  DATE,
    -- @columns energies
    -- @columns flows
    self_consumed_kwh      DOUBLE,
    self_supplied_kwh      DOUBLE,
    self_consumption_rate  DOUBLE,
    self_sufficiency_rate  DOUBLE,
    rated_days_pv          INTEGER,
    rated_days_load        INTEGER,
    days                   INTEGER,
    days_complete          INTEGER,
    days_counters          INTEGER,
    days_incomplete        INTEGER,
    days_in_month          INTEGER
);

DELETE FROM self_consumption_monthly
WHERE list_contains(list_transform($days, lambda d: CAST(date_trunc('month', d) AS DATE)), month);

INSERT INTO self_consumption_monthly BY NAME
SELECT vendor, plant_id, CAST(date_trunc('month', day) AS DATE) AS month,
       sum(COLUMNS(lambda c: c LIKE '%_kwh')),  -- every energy and flow, by its own name
       share(sum(self_consumed_kwh), sum(pv_kwh) FILTER (WHERE self_consumption_rate IS NOT NULL))
                                                                              AS self_consumption_rate,
       share(sum(self_supplied_kwh), sum(load_kwh) FILTER (WHERE self_sufficiency_rate IS NOT NULL))
                                                                              AS self_sufficiency_rate,
       count(self_consumption_rate) AS rated_days_pv,
       count(self_sufficiency_rate) AS rated_days_load,
       count(*) AS days,
       count(*) FILTER (WHERE energy_basis = 'samples') AS days_complete,
       count(*) FILTER (WHERE energy_basis = 'counters') AS days_counters,
       count(*) FILTER (WHERE energy_basis = 'incomplete') AS days_incomplete,
       day(last_day(min(day))) AS days_in_month
FROM self_consumption_daily
WHERE list_contains(list_transform($days, lambda d: CAST(date_trunc('month', d) AS DATE)),
                    CAST(date_trunc('month', day) AS DATE))
GROUP BY vendor, plant_id, month
ORDER BY vendor, plant_id, month;
