-- One row per dongle and distinct upload seen in the polls of the day and of the days around it (the models of a
-- day need the upload before its first one and the one after its last). A dongle that did not upload repeats its
-- last snapshot: the polls of one upload become one row (`polls` says how many saw it). Values are typed and
-- range-checked (a value no inverter could report is NULL, and named in `out_of_range`); each field takes the
-- first readable value among the polls of the upload (a poll may have sent it damaged).
-- Inputs: raw_realtime (the day and the days around it), stg_sites. Parameter: $day.
--
-- Time: `utcDateTime` (v2) is the upload's instant. Without it, `uploadTime` is read in the plant's zone (the
-- stand-in's and most clients' reading); in the hour that repeats when daylight-saving time ends, the instant is
-- the latest one not after the poll that saw it.
WITH answers AS (
    SELECT r.partition_date, r.device_sn AS wifi_sn, r.fetched_at, r.j -> 'result' AS res
    FROM solax_answers('raw_realtime') AS r
),
typed AS (
    SELECT
        a.wifi_sn, a.partition_date, a.fetched_at,
        s.plant_id, s.time_zone, s.system_power_kwp,
        NULLIF(trim(res ->> 'inverterSN'), '')                          AS inverter_sn,
        NULLIF(trim(res ->> 'inverterType'), '')                        AS inverter_type,
        TRY_CAST(num(res ->> 'inverterStatus') AS INTEGER)              AS inverter_status,
        TRY_CAST(num(res ->> 'batStatus') AS INTEGER)                   AS battery_status,
        solax_power(res ->> 'acpower')                                  AS ac_w,
        solax_power(res ->> 'feedinpower')                              AS feed_w,
        solax_power(res ->> 'feedinpowerM2')                            AS m2_w,
        solax_power(res ->> 'batPower')                                 AS bat_w,
        solax_power(res ->> 'powerdc1')                                 AS dc1_w,
        solax_power(res ->> 'powerdc2')                                 AS dc2_w,
        solax_power(res ->> 'powerdc3')                                 AS dc3_w,
        solax_power(res ->> 'powerdc4')                                 AS dc4_w,
        solax_power(res ->> 'peps1')                                    AS eps1_w,
        solax_power(res ->> 'peps2')                                    AS eps2_w,
        solax_power(res ->> 'peps3')                                    AS eps3_w,
        CASE WHEN num(res ->> 'soc') BETWEEN 0 AND 100 THEN num(res ->> 'soc') END AS soc_pct,
        -- a day's yield beyond 24 h at the plant's capacity is not a measurement (a capture shows 876 kWh at 10:54)
        CASE WHEN num(res ->> 'yieldtoday') BETWEEN 0 AND 24 * coalesce(s.system_power_kwp, 1000)
             THEN num(res ->> 'yieldtoday') END                         AS yield_today_kwh,
        solax_counter(res ->> 'yieldtotal')                             AS yield_total_kwh,
        solax_counter(res ->> 'feedinenergy')                           AS feedin_total_kwh,
        solax_counter(res ->> 'consumeenergy')                          AS consume_total_kwh,
        list_filter([
            CASE WHEN num(res ->> 'yieldtoday') IS NOT NULL
                  AND NOT num(res ->> 'yieldtoday') BETWEEN 0 AND 24 * coalesce(s.system_power_kwp, 1000)
                 THEN 'yieldtoday' END,
            CASE WHEN num(res ->> 'soc') IS NOT NULL AND NOT num(res ->> 'soc') BETWEEN 0 AND 100 THEN 'soc' END,
            CASE WHEN num(res ->> 'acpower') IS NOT NULL AND solax_power(res ->> 'acpower') IS NULL THEN 'acpower' END,
            CASE WHEN num(res ->> 'feedinpower') IS NOT NULL AND solax_power(res ->> 'feedinpower') IS NULL
                 THEN 'feedinpower' END,
            CASE WHEN num(res ->> 'batPower') IS NOT NULL AND solax_power(res ->> 'batPower') IS NULL
                 THEN 'batPower' END,
            CASE WHEN num(res ->> 'yieldtotal') IS NOT NULL AND solax_counter(res ->> 'yieldtotal') IS NULL
                 THEN 'yieldtotal' END,
            CASE WHEN num(res ->> 'feedinenergy') IS NOT NULL AND solax_counter(res ->> 'feedinenergy') IS NULL
                 THEN 'feedinenergy' END,
            CASE WHEN num(res ->> 'consumeenergy') IS NOT NULL AND solax_counter(res ->> 'consumeenergy') IS NULL
                 THEN 'consumeenergy' END], x -> x IS NOT NULL)           AS out_of_range,
        instant_of(res ->> 'utcDateTime', 'UTC')                        AS utc_stamp,
        local_ts(res ->> 'uploadTime')                                  AS upload_time
    FROM answers AS a
    JOIN stg_sites AS s ON s.wifi_sn = a.wifi_sn
),
stamped AS (
    SELECT *,
        coalesce(utc_stamp,
                 list_filter(utc_candidates(time_zone, upload_time), c -> c <= fetched_at)[-1],
                 local_to_utc(time_zone, upload_time, false)) AS upload_utc
    FROM typed
    WHERE utc_stamp IS NOT NULL OR upload_time IS NOT NULL
)
SELECT
    CAST($day AS DATE)                                                      AS day,
    wifi_sn,
    upload_utc,
    timezone(any_value(time_zone), upload_utc)                              AS upload_local,
    any_value(plant_id)                                                     AS plant_id,
    any_value(time_zone)                                                    AS time_zone,
    any_value(system_power_kwp)                                             AS system_power_kwp,
    min(fetched_at)                                                         AS first_seen_at,
    max(fetched_at)                                                         AS last_seen_at,
    count(*)                                                                AS polls,
    bool_or(partition_date = CAST($day AS DATE))                            AS seen_in_day,
    arg_min(inverter_sn, fetched_at) FILTER (WHERE inverter_sn IS NOT NULL)         AS inverter_sn,
    arg_min(inverter_type, fetched_at) FILTER (WHERE inverter_type IS NOT NULL)     AS inverter_type,
    arg_min(inverter_status, fetched_at) FILTER (WHERE inverter_status IS NOT NULL) AS inverter_status,
    solax_inverter_state(arg_min(inverter_status, fetched_at) FILTER (WHERE inverter_status IS NOT NULL))
                                                                            AS inverter_state,
    arg_min(battery_status, fetched_at) FILTER (WHERE battery_status IS NOT NULL)   AS battery_status,
    solax_battery_state(arg_min(battery_status, fetched_at) FILTER (WHERE battery_status IS NOT NULL))
                                                                            AS battery_state,
    arg_min(ac_w, fetched_at) FILTER (WHERE ac_w IS NOT NULL)               AS ac_w,
    arg_min(feed_w, fetched_at) FILTER (WHERE feed_w IS NOT NULL)           AS feed_w,
    arg_min(m2_w, fetched_at) FILTER (WHERE m2_w IS NOT NULL)               AS m2_w,
    arg_min(bat_w, fetched_at) FILTER (WHERE bat_w IS NOT NULL)             AS bat_w,
    arg_min(soc_pct, fetched_at) FILTER (WHERE soc_pct IS NOT NULL)         AS soc_pct,
    arg_min(dc1_w, fetched_at) FILTER (WHERE dc1_w IS NOT NULL)             AS dc1_w,
    arg_min(dc2_w, fetched_at) FILTER (WHERE dc2_w IS NOT NULL)             AS dc2_w,
    arg_min(dc3_w, fetched_at) FILTER (WHERE dc3_w IS NOT NULL)             AS dc3_w,
    arg_min(dc4_w, fetched_at) FILTER (WHERE dc4_w IS NOT NULL)             AS dc4_w,
    arg_min(eps1_w, fetched_at) FILTER (WHERE eps1_w IS NOT NULL)           AS eps1_w,
    arg_min(eps2_w, fetched_at) FILTER (WHERE eps2_w IS NOT NULL)           AS eps2_w,
    arg_min(eps3_w, fetched_at) FILTER (WHERE eps3_w IS NOT NULL)           AS eps3_w,
    -- the cloud zeroes yieldtoday at local midnight even for an upload of the day before: only a poll of the
    -- upload's own local day shows its day's yield
    max(yield_today_kwh) FILTER (WHERE CAST(timezone(time_zone, fetched_at) AS DATE)
                                     = CAST(timezone(time_zone, upload_utc) AS DATE)) AS yield_today_kwh,
    arg_min(yield_total_kwh, fetched_at) FILTER (WHERE yield_total_kwh IS NOT NULL)     AS yield_total_kwh,
    arg_min(feedin_total_kwh, fetched_at) FILTER (WHERE feedin_total_kwh IS NOT NULL)   AS feedin_total_kwh,
    arg_min(consume_total_kwh, fetched_at) FILTER (WHERE consume_total_kwh IS NOT NULL) AS consume_total_kwh,
    list_distinct(flatten(list(out_of_range)))                              AS out_of_range
FROM stamped
GROUP BY wifi_sn, upload_utc
ORDER BY wifi_sn, upload_utc;
