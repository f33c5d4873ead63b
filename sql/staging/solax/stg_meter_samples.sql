-- The plant's meter stream: one row per instant of a metered plant's samples in the day, for every plant with a
-- grid meter on one of its dongles (a hybrid's or X1-AC's meter, or the first PV inverter's). The User API has no
-- plant-level data and no load: each row carries the plant's grid (the meter), its PV (meter 2 where an X1-AC
-- sees the PV inverter beside it, else the sum of the PV inverters' own PV), its battery (the storage inverters';
-- NULL for a plant without one) and its load from the balance: load = pv + import + discharge - export - charge. The samples of a plant's
-- dongles share their instants (stg_device_samples), so each row sums the dongles' samples at one instant; it is
-- kept only where every dongle it needs has a sample there, and readable where all of them are.
-- Inputs: stg_device_samples, stg_devices. Parameter: $day.
WITH present AS (
    SELECT DISTINCT wifi_sn FROM stg_device_samples
),
devices AS (
    SELECT d.* FROM stg_devices AS d JOIN present USING (wifi_sn)
),
meters AS (
    -- the dongle whose meter stands for the plant's grid: a storage inverter's meter first
    SELECT plant_id, first(wifi_sn ORDER BY has_battery DESC, wifi_sn) AS meter_sn
    FROM devices WHERE metered GROUP BY plant_id
),
scoped AS (
    SELECT plant_id, bool_or(pv_scope = 'plant') AS plant_pv_meter FROM devices GROUP BY plant_id
),
roles AS (
    -- who gives each metered plant its grid, its PV and its battery
    SELECT d.plant_id, d.wifi_sn, d.wifi_sn = m.meter_sn AS gives_grid,
           CASE WHEN s.plant_pv_meter THEN d.pv_scope = 'plant' ELSE d.role IN ('pv', 'hybrid') END AS gives_pv,
           d.has_battery AS gives_battery
    FROM devices AS d
    JOIN meters AS m USING (plant_id)
    JOIN scoped AS s USING (plant_id)
),
needed AS (
    SELECT plant_id, count(*) FILTER (WHERE gives_grid OR gives_pv OR gives_battery) AS n FROM roles GROUP BY plant_id
),
instants AS (
    SELECT
        s.plant_id, s.ts_utc,
        any_value(s.time_zone)                                                   AS time_zone,
        any_value(s.ts_local)                                                    AS ts_local,
        min(s.interval_s)                                                        AS interval_s,
        max(s.interval_s)                                                        AS longest_s,
        count(*)                                                                 AS dongles,
        any_value(s.wifi_sn) FILTER (WHERE r.gives_grid)                         AS meter_sn,
        sum(s.grid_import_kwh) FILTER (WHERE r.gives_grid)                       AS grid_import_kwh,
        sum(s.grid_export_kwh) FILTER (WHERE r.gives_grid)                       AS grid_export_kwh,
        sum(s.pv_kwh) FILTER (WHERE r.gives_pv)                                  AS pv_kwh,
        sum(s.battery_charge_kwh) FILTER (WHERE r.gives_battery)                 AS battery_charge_kwh,
        sum(s.battery_discharge_kwh) FILTER (WHERE r.gives_battery)              AS battery_discharge_kwh,
        bool_and(s.readable)                                                     AS readable,
        max(s.fetched_at)                                                        AS fetched_at
    FROM stg_device_samples AS s
    JOIN roles AS r ON r.wifi_sn = s.wifi_sn AND (r.gives_grid OR r.gives_pv OR r.gives_battery)
    GROUP BY s.plant_id, s.ts_utc
),
complete AS (
    SELECT i.*,
           greatest(i.pv_kwh + i.grid_import_kwh + coalesce(i.battery_discharge_kwh, 0) - i.grid_export_kwh
                    - coalesce(i.battery_charge_kwh, 0), 0) AS load_kwh
    FROM instants AS i
    JOIN needed AS n ON n.plant_id = i.plant_id
    WHERE i.dongles = n.n AND i.interval_s = i.longest_s AND i.meter_sn IS NOT NULL
)
SELECT
    CAST($day AS DATE)                                      AS day,
    plant_id, meter_sn, time_zone, ts_local, ts_utc, interval_s,
    pv_kwh, load_kwh, grid_import_kwh, grid_export_kwh, battery_charge_kwh, battery_discharge_kwh,
    pv_kwh * 3.6e6 / interval_s                             AS pv_w,
    load_kwh * 3.6e6 / interval_s                           AS load_w,
    grid_import_kwh * 3.6e6 / interval_s                    AS grid_import_w,
    grid_export_kwh * 3.6e6 / interval_s                    AS grid_export_w,
    battery_charge_kwh * 3.6e6 / interval_s                 AS battery_charge_w,
    battery_discharge_kwh * 3.6e6 / interval_s              AS battery_discharge_w,
    (load_kwh - grid_import_kwh) * 3.6e6 / interval_s       AS self_use_w,
    readable,
    fetched_at
FROM complete
ORDER BY plant_id, ts_utc;
