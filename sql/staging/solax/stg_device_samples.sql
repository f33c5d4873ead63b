-- One row per piece of a dongle's sample that falls in the plant-local day: a sample is a distinct upload, and
-- stands for the interval since the dongle's previous distinct upload (at most a day before; else, or for the
-- first upload seen, for its own 5 minutes). The interval is cut at every local hour (so at midnight too): no
-- piece crosses an hour; and at the instants where the plant's other dongles start or end theirs: the samples
-- of one plant share their instants (ts_utc, interval_s), whatever the dongles' phases.
-- Inputs: stg_uploads (the day and the days around it), stg_devices. Parameter: $day.
--
-- Energies (kWh) per term, from `solax_source` (sql/staging/solax/_macros.sql): the mean power where the upload
-- covers its whole interval (consecutive 5-minute uploads), else the term's counter (yieldtotal: PV, or the X1-AC's
-- discharge; feedinenergy: export; consumeenergy: import), spread over the pieces by the power shape. A term
-- without a counter (battery charge; a hybrid's discharge; meter 2) is estimated from the powers across a gap.
-- The counters' own share of each piece (`*_counter_kwh`) is kept for the day totals.
-- Signs as the field guide gives them: feedinpower + export / - import, batPower + charging / - discharging.
-- `readable`: the piece lies in the 5 minutes the upload's powers describe and every term the dongle measures
-- was read; a gap filled from the counters carries energy but is not readable (its hour is incomplete).
WITH u AS (
    SELECT
        u.*, d.device_sn, d.role, d.device_type, d.metered, d.meter2, d.has_battery, d.pv_scope,
        CAST(epoch(u.upload_utc) AS BIGINT)                                         AS t,
        -- each term's mean power over the upload's 5 minutes (W), NULL where the dongle does not measure it
        CASE d.role WHEN 'ac_battery' THEN CASE WHEN d.meter2 THEN greatest(u.m2_w, 0) END
                    WHEN 'hybrid' THEN greatest(u.ac_w + u.bat_w, 0)
                    ELSE greatest(u.ac_w, 0) END                                      AS pv_p,
        CASE WHEN d.metered THEN greatest(-u.feed_w, 0) END                           AS imp_p,
        CASE WHEN d.metered THEN greatest(u.feed_w, 0) END                            AS exp_p,
        CASE WHEN d.has_battery THEN greatest(u.bat_w, 0) END                         AS chg_p,
        CASE WHEN d.has_battery THEN greatest(-u.bat_w, 0) END                        AS dis_p,
        -- the counters (kWh) of the terms that have one
        CASE WHEN d.role <> 'ac_battery' THEN u.yield_total_kwh END                   AS pv_c,
        CASE WHEN d.metered THEN u.consume_total_kwh END                              AS imp_c,
        CASE WHEN d.metered THEN u.feedin_total_kwh END                               AS exp_c,
        CASE WHEN d.role = 'ac_battery' THEN u.yield_total_kwh END                    AS dis_c,
        -- no average above 1.5 x the plant's capacity is PV (a counter that jumped is not used)
        coalesce(1500 * u.system_power_kwp, 1e6)                                      AS pv_max_w
    FROM stg_uploads AS u
    JOIN stg_devices AS d USING (wifi_sn)
),
linked AS (
    SELECT *,
        -- every term the dongle measures was read at this upload
        (pv_p IS NOT NULL OR role = 'ac_battery' AND NOT meter2) AND (imp_p IS NOT NULL OR NOT metered)
            AND (chg_p IS NOT NULL OR NOT has_battery)                                AS all_read,
        lag(t) OVER w AS t_prev,
        lag(pv_p) OVER w AS pv_p0, lag(imp_p) OVER w AS imp_p0, lag(exp_p) OVER w AS exp_p0,
        lag(chg_p) OVER w AS chg_p0, lag(dis_p) OVER w AS dis_p0,
        lag(pv_c) OVER w AS pv_c0, lag(imp_c) OVER w AS imp_c0, lag(exp_c) OVER w AS exp_c0,
        lag(dis_c) OVER w AS dis_c0
    FROM u
    WINDOW w AS (PARTITION BY wifi_sn ORDER BY t)
),
intervals AS (
    SELECT * EXCLUDE (pv_c0, imp_c0, exp_c0, dis_c0, pv_p0, imp_p0, exp_p0, chg_p0, dis_p0),
        -- a previous upload more than a day before does not start the interval: what happened in between cannot
        -- be placed in time (the counters' difference is not used)
        CASE WHEN t - t_prev <= 86400 THEN t_prev ELSE t - 300 END                  AS t0,
        CASE WHEN t - t_prev <= 86400 THEN pv_p0 END AS pv_p0, CASE WHEN t - t_prev <= 86400 THEN imp_p0 END AS imp_p0,
        CASE WHEN t - t_prev <= 86400 THEN exp_p0 END AS exp_p0, CASE WHEN t - t_prev <= 86400 THEN chg_p0 END AS chg_p0,
        CASE WHEN t - t_prev <= 86400 THEN dis_p0 END AS dis_p0,
        CASE WHEN t - t_prev <= 86400 THEN pv_c0 END AS pv_c0, CASE WHEN t - t_prev <= 86400 THEN imp_c0 END AS imp_c0,
        CASE WHEN t - t_prev <= 86400 THEN exp_c0 END AS exp_c0, CASE WHEN t - t_prev <= 86400 THEN dis_c0 END AS dis_c0
    FROM linked
),
sized AS (
    SELECT *, least(t - t0, 300) AS covered, (t - t0) - least(t - t0, 300) AS uncovered FROM intervals
),
sourced AS (
    SELECT *,
        solax_source(pv_p, pv_p0, pv_c, pv_c0, 0.1, covered, uncovered, pv_max_w)    AS pv_from,
        solax_source(imp_p, imp_p0, imp_c, imp_c0, 0.01, covered, uncovered, 1e6)    AS imp_from,
        solax_source(exp_p, exp_p0, exp_c, exp_c0, 0.01, covered, uncovered, 1e6)    AS exp_from,
        solax_source(chg_p, chg_p0, NULL, NULL, 0.1, covered, uncovered, 1e6)        AS chg_from,
        solax_source(dis_p, dis_p0, dis_c, dis_c0, 0.1, covered, uncovered, 1e6)    AS dis_from
    FROM sized
),
energies AS (
    SELECT *,
        solax_energy_kwh(pv_from, pv_p, pv_p0, pv_c, pv_c0, covered, uncovered, pv_max_w)  AS pv_e,
        solax_energy_kwh(imp_from, imp_p, imp_p0, imp_c, imp_c0, covered, uncovered, 1e6) AS imp_e,
        solax_energy_kwh(exp_from, exp_p, exp_p0, exp_c, exp_c0, covered, uncovered, 1e6) AS exp_e,
        solax_energy_kwh(chg_from, chg_p, chg_p0, NULL, NULL, covered, uncovered, 1e6)     AS chg_e,
        solax_energy_kwh(dis_from, dis_p, dis_p0, dis_c, dis_c0, covered, uncovered, 1e6) AS dis_e,
        solax_delta_kwh(pv_c, pv_c0, covered + uncovered, pv_max_w)                        AS pv_counter_e,
        solax_delta_kwh(imp_c, imp_c0, covered + uncovered, 1e6)                           AS imp_counter_e,
        solax_delta_kwh(exp_c, exp_c0, covered + uncovered, 1e6)                           AS exp_counter_e,
        solax_delta_kwh(dis_c, dis_c0, covered + uncovered, 1e6)                           AS dis_counter_e
    FROM sourced
),
segments AS (
    -- the part of the interval the upload's powers do not describe, then the 5 minutes they do; only what
    -- touches the plant's local day
    SELECT e.*, seg.a, seg.b, seg.in_covered, row_number() OVER () AS segment_id
    FROM energies AS e,
         unnest([{'a': e.t0, 'b': e.t - e.covered, 'in_covered': false},
                 {'a': e.t - e.covered, 'b': e.t, 'in_covered': true}]) AS x(seg)
    WHERE seg.b > seg.a
      AND seg.b > epoch(local_to_utc(e.time_zone, CAST(CAST($day AS DATE) AS TIMESTAMP), false))
      AND seg.a < epoch(local_to_utc(e.time_zone, CAST(CAST($day AS DATE) + 1 AS TIMESTAMP), false))
),
plant_points AS (
    -- every instant where one of the plant's dongles starts or ends a segment: the dongles of a plant upload at
    -- their own phases, and cutting each at the others' instants gives the plant's samples common instants
    SELECT DISTINCT plant_id, x FROM (SELECT plant_id, a AS x FROM segments UNION ALL SELECT plant_id, b FROM segments)
),
inner_points AS (
    SELECT s.segment_id, list(p.x) AS xs
    FROM segments AS s
    JOIN plant_points AS p ON p.plant_id = s.plant_id AND p.x > s.a AND p.x < s.b
    GROUP BY s.segment_id
),
cuts AS (
    -- and every local hour boundary inside a segment (local hours start on a UTC quarter hour in every zone)
    SELECT s.*, list_sort(list_distinct(list_concat(
               [s.a, s.b], coalesce(i.xs, []),
               list_filter(range(CAST(ceil(s.a / 900.0) * 900 AS BIGINT), s.b, 900),
                           x -> x > s.a AND strftime(timezone(s.time_zone, to_timestamp(x)), '%M:%S') = '00:00'))))
               AS points
    FROM segments AS s
    LEFT JOIN inner_points AS i USING (segment_id)
),
pieces AS (
    SELECT * EXCLUDE (points),
        points[i] AS p_start, points[i + 1] AS p_end
    FROM (SELECT *, unnest(generate_series(1, len(points) - 1)) AS i FROM cuts)
),
local_pieces AS (
    SELECT *, p_end - p_start AS seconds, timezone(time_zone, to_timestamp(p_start)) AS ts_local
    FROM pieces
    WHERE CAST(timezone(time_zone, to_timestamp(p_start)) AS DATE) = CAST($day AS DATE)
),
shared AS (
    SELECT *,
        solax_share(pv_p, pv_p0, covered, uncovered, in_covered, seconds)   AS pv_s,
        solax_share(imp_p, imp_p0, covered, uncovered, in_covered, seconds) AS imp_s,
        solax_share(exp_p, exp_p0, covered, uncovered, in_covered, seconds) AS exp_s,
        solax_share(chg_p, chg_p0, covered, uncovered, in_covered, seconds) AS chg_s,
        solax_share(dis_p, dis_p0, covered, uncovered, in_covered, seconds) AS dis_s
    FROM local_pieces
)
SELECT
    CAST($day AS DATE)                          AS day,
    wifi_sn, device_sn, plant_id, device_type, role, pv_scope, has_battery, metered, time_zone,
    ts_local,
    to_timestamp(p_start)                       AS ts_utc,
    CAST(seconds AS INTEGER)                    AS interval_s,
    upload_utc,
    to_timestamp(t0)                            AS interval_start_utc,
    in_covered,
    pv_e * pv_s                                 AS pv_kwh,
    imp_e * imp_s                               AS grid_import_kwh,
    exp_e * exp_s                               AS grid_export_kwh,
    chg_e * chg_s                               AS battery_charge_kwh,
    dis_e * dis_s                               AS battery_discharge_kwh,
    pv_e * pv_s * 3.6e6 / seconds               AS pv_w,
    imp_e * imp_s * 3.6e6 / seconds             AS grid_import_w,
    exp_e * exp_s * 3.6e6 / seconds             AS grid_export_w,
    chg_e * chg_s * 3.6e6 / seconds             AS battery_charge_w,
    dis_e * dis_s * 3.6e6 / seconds             AS battery_discharge_w,
    CASE WHEN has_battery THEN soc_pct END      AS battery_soc_pct,
    CASE WHEN role <> 'ac_battery' THEN yield_today_kwh END AS today_energy_kwh,
    pv_from, imp_from AS grid_import_from, exp_from AS grid_export_from, chg_from AS battery_charge_from,
    dis_from AS battery_discharge_from,
    pv_counter_e * pv_s                         AS pv_counter_kwh,
    imp_counter_e * imp_s                       AS grid_import_counter_kwh,
    exp_counter_e * exp_s                       AS grid_export_counter_kwh,
    dis_counter_e * dis_s                       AS battery_discharge_counter_kwh,
    in_covered AND all_read                     AS readable,
    first_seen_at                               AS fetched_at
FROM shared
ORDER BY plant_id, wifi_sn, ts_utc;
