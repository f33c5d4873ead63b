-- The plant's meter stream: one row per piece of the metered dongle's samples in the day, for every plant with a
-- grid meter on one of its dongles (a hybrid's or X1-AC's meter, or the first PV inverter's). The User API has no
-- plant-level data and no load: each piece carries the plant's grid (the meter), its PV (meter 2 where an X1-AC
-- sees the PV inverter beside it, else the sum of the PV inverters' own PV), its battery (the storage inverters')
-- and its load from the balance: load = pv + import + discharge - export - charge. The other dongles upload at
-- other instants: their energy over a piece is their pieces' energy in proportion to the overlap (each piece of a
-- dongle has one mean power). A piece is kept only where every dongle of the plant that contributes covers it
-- whole; it is readable where all of them are. Inputs: stg_device_samples, stg_devices. Parameter: $day.
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
contributors AS (
    -- who gives each plant its PV and its battery
    SELECT d.plant_id, d.wifi_sn,
           CASE WHEN s.plant_pv_meter THEN d.pv_scope = 'plant' ELSE d.role IN ('pv', 'hybrid') END AS gives_pv,
           d.has_battery AS gives_battery
    FROM devices AS d JOIN scoped AS s USING (plant_id)
    WHERE (CASE WHEN s.plant_pv_meter THEN d.pv_scope = 'plant' ELSE d.role IN ('pv', 'hybrid') END)
       OR d.has_battery
),
needed AS (
    SELECT plant_id, count(*) AS n FROM contributors GROUP BY plant_id
),
meter_pieces AS (
    SELECT s.*, epoch(s.ts_utc) AS a, epoch(s.ts_utc) + s.interval_s AS b
    FROM stg_device_samples AS s JOIN meters AS m ON m.meter_sn = s.wifi_sn
),
overlapping AS (
    SELECT m.plant_id, m.ts_utc, c.wifi_sn,
           least(m.b, epoch(o.ts_utc) + o.interval_s) - greatest(m.a, epoch(o.ts_utc)) AS overlap_s,
           o.interval_s, o.pv_kwh, o.battery_charge_kwh, o.battery_discharge_kwh, o.readable,
           c.gives_pv, c.gives_battery
    FROM meter_pieces AS m
    JOIN contributors AS c ON c.plant_id = m.plant_id
    JOIN stg_device_samples AS o
      ON o.wifi_sn = c.wifi_sn AND epoch(o.ts_utc) < m.b AND epoch(o.ts_utc) + o.interval_s > m.a
),
per_dongle AS (
    SELECT plant_id, ts_utc, wifi_sn,
           sum(overlap_s)                                                                    AS covered_s,
           sum(pv_kwh * overlap_s / interval_s) FILTER (WHERE gives_pv)                      AS pv_kwh,
           sum(battery_charge_kwh * overlap_s / interval_s) FILTER (WHERE gives_battery)     AS charge_kwh,
           sum(battery_discharge_kwh * overlap_s / interval_s) FILTER (WHERE gives_battery)  AS discharge_kwh,
           bool_and(readable)                                                                AS readable
    FROM overlapping
    GROUP BY plant_id, ts_utc, wifi_sn
),
per_piece AS (
    SELECT p.plant_id, p.ts_utc,
           count(*) FILTER (WHERE p.covered_s >= m.interval_s - 1e-6) AS whole,
           sum(p.pv_kwh) AS pv_kwh, coalesce(sum(p.charge_kwh), 0) AS charge_kwh,
           coalesce(sum(p.discharge_kwh), 0) AS discharge_kwh, bool_and(p.readable) AS readable
    FROM per_dongle AS p
    JOIN meter_pieces AS m ON m.plant_id = p.plant_id AND m.ts_utc = p.ts_utc
    GROUP BY p.plant_id, p.ts_utc
),
plant_pieces AS (
    SELECT m.*, pp.pv_kwh AS plant_pv_kwh, pp.charge_kwh, pp.discharge_kwh, pp.readable AS all_readable,
           greatest(pp.pv_kwh + m.grid_import_kwh + pp.discharge_kwh - m.grid_export_kwh - pp.charge_kwh, 0)
               AS load_kwh
    FROM meter_pieces AS m
    JOIN per_piece AS pp ON pp.plant_id = m.plant_id AND pp.ts_utc = m.ts_utc
    JOIN needed AS n ON n.plant_id = m.plant_id
    WHERE pp.whole = n.n
)
SELECT
    CAST($day AS DATE)                                  AS day,
    plant_id,
    wifi_sn                                             AS meter_sn,
    time_zone, ts_local, ts_utc, interval_s,
    plant_pv_kwh                                        AS pv_kwh,
    load_kwh,
    grid_import_kwh,
    grid_export_kwh,
    charge_kwh                                          AS battery_charge_kwh,
    discharge_kwh                                       AS battery_discharge_kwh,
    plant_pv_kwh * 3.6e6 / interval_s                   AS pv_w,
    load_kwh * 3.6e6 / interval_s                       AS load_w,
    grid_import_w,
    grid_export_w,
    (load_kwh - grid_import_kwh) * 3.6e6 / interval_s   AS self_use_w,
    readable AND all_readable                           AS readable,
    fetched_at
FROM plant_pieces
ORDER BY plant_id, ts_utc;
