-- One row per dongle and local day: the day's energies from its own counters alone (kWh), to reconcile the
-- samples against. The lifetime counters (yieldtotal, feedinenergy, consumeenergy) are cut at the local
-- midnights by the power shape of the interval that spans them, so a day reads the same whatever the poll
-- interval; their step is 0.1 kWh (yield) and 0.01 kWh (grid), the resolution of these totals. A term is NULL
-- where a piece of the day has no counter difference (a first upload, with no earlier one to count from: the
-- first day of polling, or after a pause of more than a day): the counters do not cover that day's samples.
-- `yield_today_kwh` is the inverter's own day counter at its last upload seen the same day.
-- Input: stg_device_samples. Parameter: $day.
SELECT
    CAST($day AS DATE)                                                           AS day,
    wifi_sn, any_value(device_sn) AS device_sn, any_value(plant_id) AS plant_id,
    any_value(device_type) AS device_type, any_value(role) AS role,
    CASE WHEN any_value(role) <> 'ac_battery' AND bool_and(pv_counter_kwh IS NOT NULL)
         THEN sum(pv_counter_kwh) END                                            AS pv_kwh,
    CASE WHEN bool_or(metered) AND bool_and(grid_import_counter_kwh IS NOT NULL)
         THEN sum(grid_import_counter_kwh) END                                   AS grid_import_kwh,
    CASE WHEN bool_or(metered) AND bool_and(grid_export_counter_kwh IS NOT NULL)
         THEN sum(grid_export_counter_kwh) END                                   AS grid_export_kwh,
    CASE WHEN any_value(role) = 'ac_battery' AND bool_and(battery_discharge_counter_kwh IS NOT NULL)
         THEN sum(battery_discharge_counter_kwh) END                             AS battery_discharge_kwh,
    arg_max(today_energy_kwh, ts_utc) FILTER (WHERE today_energy_kwh IS NOT NULL) AS yield_today_kwh,
    max(fetched_at)                                                              AS fetched_at
FROM stg_device_samples
GROUP BY wifi_sn
ORDER BY plant_id, wifi_sn;
