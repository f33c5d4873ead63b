-- One row per device and 5-minute sample, typed, with its UTC instant, from device/uploadData timeUnit 0.
-- Inputs: raw_upload_data (the day's raw rows), stg_plants (time zones). Parameter: $day.
--
-- Time: dataTime is plant-local wall-clock time. On the day daylight-saving time ends a local hour repeats:
-- the n-th copy of a repeated stamp is its n-th instant, ordered by the device's todayEnergy counter where
-- every copy has one (it grows through the repeated hour), else by the order of the response (with_utc in
-- sql/macros/common.sql), so the answer does not depend on the order the API sends them in. A sample sent
-- twice (in one response, or in two: a day landed twice) is kept once.
WITH responses AS (
    SELECT
        coalesce(r.plant_id, '')                                                 AS plant_id,
        coalesce(r.device_sn, r.request_params::JSON ->> 'deviceSn')             AS device_sn,
        r.fetched_at,
        row_number() OVER (ORDER BY r.fetched_at, r.device_sn, r.request_params) AS response_id,
        CAST(r.j -> '$.data.data' AS JSON[])                                     AS points,
        TRY_CAST(num(r.j -> 'data' ->> 'deviceType') AS INTEGER)                 AS device_type
    FROM saj_answers('raw_upload_data', 'device/uploadData') AS r
    WHERE (r.request_params::JSON ->> 'timeUnit') = '0'
      AND json_type(r.j, '$.data.data') = 'ARRAY'
),
points AS (
    SELECT plant_id, device_sn, fetched_at, response_id, device_type,
           unnest(points) AS p, generate_subscripts(points, 1) AS seq
    FROM responses
),
typed AS (
    SELECT
        pt.plant_id, pt.device_sn, pt.device_type, pt.fetched_at, pt.response_id, pt.seq,
        pl.time_zone,
        local_ts(p ->> 'dataTime')                                          AS ts_local,
        coalesce(num(p ->> 'pvPower'), num(p ->> 'power'))                  AS pv_w,
        num(p ->> 'loadPower')                                              AS load_w,
        num(p ->> 'buyPower')                                               AS grid_import_w,
        num(p ->> 'sellPower')                                              AS grid_export_w,
        num(p ->> 'chargePower')                                            AS battery_charge_w,
        num(p ->> 'dischargePower')                                         AS battery_discharge_w,
        CASE WHEN num(p ->> 'batterySOC') < 0 THEN NULL ELSE num(p ->> 'batterySOC') END AS battery_soc_pct,
        num(p ->> 'selfUsePower')                                           AS self_use_w,
        num(p ->> 'todayEnergy')                                            AS today_energy_kwh,
        -- todayEnergy orders a repeated stamp's copies (0 is a glitch of the counter, not a value)
        CASE WHEN num(p ->> 'todayEnergy') > 0 THEN num(p ->> 'todayEnergy') END AS copy_key,
        CAST(p AS VARCHAR)                                                  AS payload,
        coalesce(num(p ->> 'pv1Volt'), num(p ->> 'pv1volt'))                AS pv1_volt,
        coalesce(num(p ->> 'pv1Curr'), num(p ->> 'pv1curr'))                AS pv1_curr,
        num(p ->> 'pv1Power')                                               AS pv1_power_w,
        coalesce(num(p ->> 'pv2Volt'), num(p ->> 'pv2volt'))                AS pv2_volt,
        coalesce(num(p ->> 'pv2Curr'), num(p ->> 'pv2curr'))                AS pv2_curr,
        num(p ->> 'pv2Power')                                               AS pv2_power_w,
        num(p ->> 'l1Volt')                                                 AS l1_volt
    FROM points AS pt
    JOIN stg_plants AS pl ON pl.plant_id = pt.plant_id
)
SELECT
    CAST($day AS DATE)  AS day,
    device_sn, plant_id, device_type,
    ts_local, ts_utc, seq AS sample_index,
    -- Grid-tied (type 0) inverters report only PV; the other terms are unknown for them, not 0.
    pv_w,
    CASE WHEN device_type = 0 THEN NULL ELSE load_w END               AS load_w,
    CASE WHEN device_type = 0 THEN NULL ELSE grid_import_w END        AS grid_import_w,
    CASE WHEN device_type = 0 THEN NULL ELSE grid_export_w END        AS grid_export_w,
    CASE WHEN device_type = 0 THEN NULL ELSE battery_charge_w END     AS battery_charge_w,
    CASE WHEN device_type = 0 THEN NULL ELSE battery_discharge_w END  AS battery_discharge_w,
    CASE WHEN device_type = 0 THEN NULL ELSE battery_soc_pct END      AS battery_soc_pct,
    self_use_w, today_energy_kwh,
    pv1_volt, pv1_curr, pv1_power_w, pv2_volt, pv2_curr, pv2_power_w, l1_volt,
    fold_ambiguous, time_zone, fetched_at
FROM with_utc('typed')
WHERE CAST(ts_local AS DATE) = CAST($day AS DATE)
QUALIFY row_number() OVER (PARTITION BY device_sn, ts_utc ORDER BY fetched_at DESC, seq) = 1
ORDER BY device_sn, ts_utc;
