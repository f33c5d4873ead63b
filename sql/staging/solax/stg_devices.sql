-- One row per dongle with uploads around the day: the inverter behind it and its role, read from what it reports
-- (the User API has no device list). Input: stg_uploads. Parameter: $day.
--
--   battery (batPower and soc reported, not all zero) and DC inputs: a hybrid (device_type 1): its PV is its AC
--     output plus what charges the battery (acpower + batPower);
--   battery without DC inputs (powerdc1/2 null): an AC-coupled storage inverter such as the X1-AC (device_type 2):
--     its yield counters count its AC output, the battery's discharge; with meter 2 (feedinpowerM2) it sees the
--     PV inverter beside it, which stands for the plant's PV (pv_scope 'plant');
--   otherwise a grid-tied inverter (device_type 0): PV only.
--   A grid meter on the dongle (feedinenergy / consumeenergy ever above 0; zeros mean no meter) reports the
--   plant's grid: `metered`.
-- device_sn is the inverter's serial (inverterSN) when it is a plain identifier, else the registration number.
WITH per_dongle AS (
    SELECT
        wifi_sn,
        any_value(plant_id)                                                          AS plant_id,
        mode(inverter_sn) FILTER (WHERE regexp_full_match(inverter_sn, '[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}'))
                                                                                     AS inverter_sn,
        mode(inverter_type)                                                          AS inverter_type,
        bool_or(bat_w IS NOT NULL AND soc_pct IS NOT NULL)
            AND bool_or(coalesce(bat_w, 0) <> 0 OR coalesce(soc_pct, 0) > 0)         AS has_battery,
        bool_or(dc1_w IS NOT NULL OR dc2_w IS NOT NULL)                              AS has_dc,
        bool_or(feedin_total_kwh > 0 OR consume_total_kwh > 0)                       AS metered,
        bool_or(m2_w IS NOT NULL)                                                    AS has_m2,
        bool_or(seen_in_day)                                                         AS seen_in_day,
        max(upload_utc)                                                              AS last_upload_utc,
        max(last_seen_at)                                                            AS fetched_at
    FROM stg_uploads
    GROUP BY wifi_sn
)
SELECT
    CAST($day AS DATE)                                                   AS day,
    coalesce(inverter_sn, wifi_sn)                                       AS device_sn,
    wifi_sn, inverter_sn, plant_id,
    CASE WHEN has_battery AND NOT has_dc THEN 'ac_battery' WHEN has_battery THEN 'hybrid' ELSE 'pv' END AS role,
    CASE WHEN has_battery AND NOT has_dc THEN 2 WHEN has_battery THEN 1 ELSE 0 END                      AS device_type,
    inverter_type,
    coalesce(solax_model(inverter_type), 'SolaX inverterType ' || inverter_type)                       AS device_model,
    has_battery,
    metered,
    has_battery AND NOT has_dc AND has_m2                                AS meter2,
    CASE WHEN has_battery AND NOT has_dc AND has_m2 THEN 'plant' ELSE 'own' END                         AS pv_scope,
    seen_in_day,
    last_upload_utc,
    fetched_at
FROM per_dongle
ORDER BY plant_id, wifi_sn;
