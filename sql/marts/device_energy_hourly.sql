-- device_energy_hourly: per inverter and local hour (keyed by hour_utc, so a 25-hour day has 25 rows), the
-- energy in kWh of the samples that arrived (each sample's energy as the conformed layer gives it). A missing
-- sample is a gap, not energy; `samples` counts the samples whose values could all be read, `expected_samples`
-- how many an hour has, `coverage` the share of the hour the readable samples cover.
-- Input: conformed_samples. Parameter: $days.
CREATE TABLE IF NOT EXISTS device_energy_hourly (
    vendor                 VARCHAR,
    device_sn              VARCHAR,
    plant_id               VARCHAR,
    day                    DATE,
    hour_local             TIMESTAMP,
    hour_utc               TIMESTAMPTZ,
    device_type            INTEGER,
    pv_scope               VARCHAR,
    has_battery            BOOLEAN,
    -- @columns energies
    samples                INTEGER,
    expected_samples       INTEGER,
    coverage               DOUBLE
);

DELETE FROM device_energy_hourly WHERE day IN (SELECT unnest($days));

INSERT INTO device_energy_hourly BY NAME
SELECT
    vendor, device_sn, plant_id, day,
    date_trunc('hour', ts_local)                            AS hour_local,
    ts_utc - (ts_local - date_trunc('hour', ts_local))      AS hour_utc,
    any_value(device_type)                                  AS device_type,
    any_value(pv_scope)                                     AS pv_scope,
    bool_or(has_battery)                                    AS has_battery,
    -- each energy summed over the hour, under its own name (COLUMNS keeps it; the INSERT is BY NAME)
    sum(COLUMNS(['pv_kwh', 'load_kwh', 'grid_import_kwh', 'grid_export_kwh', 'battery_charge_kwh',
                 'battery_discharge_kwh'])),
    -- a value the API sent damaged, null or missing is unknown, not 0: its hour is incomplete
    count(*) FILTER (WHERE readable)                        AS samples,
    -- the hour's intervals: 3600 / the interval (SAJ: 12), or the intervals there are where they vary in length
    -- (SolaX: an upload's interval, cut at the hour and at the plant's other dongles' instants)
    greatest(count(*), CAST(round(3600 / max(interval_s)) AS INTEGER)) AS expected_samples,
    coalesce(sum(interval_s) FILTER (WHERE readable), 0) / 3600.0 AS coverage
FROM conformed_samples
WHERE source = 'device' AND day IN (SELECT unnest($days))
GROUP BY vendor, device_sn, plant_id, day, hour_local, hour_utc
ORDER BY vendor, plant_id, device_sn, hour_utc;
