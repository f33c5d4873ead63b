-- SMA's staging macros (loaded before every file of sql/staging/sma/ and sql/conformed/sma/).

-- The answers of `ep` in the raw table `raw` that are data: HTTP 200 and a JSON body (parsed once, as `j`); the
-- newest answer per request (a day landed again replaces what the earlier attempts said). Everything else stays
-- in the raw layer only.
CREATE OR REPLACE TEMP MACRO sma_answers(raw, ep) AS TABLE
SELECT r.*, r.body::JSON AS j
FROM query_table(raw) AS r
WHERE r.endpoint = ep AND r.http_status = 200 AND json_valid(r.body)
QUALIFY row_number() OVER (PARTITION BY r.request_params ORDER BY r.fetched_at DESC) = 1;

-- A series' `time` ("2025-11-01T00:15:00", no offset).
CREATE OR REPLACE TEMP MACRO sma_ts(txt) AS TRY_STRPTIME(trim(CAST(txt AS VARCHAR)), '%Y-%m-%dT%H:%M:%S');

-- Seconds per row of a series' `resolution`; NULL for a resolution not known here.
CREATE OR REPLACE TEMP MACRO sma_resolution_s(resolution) AS CASE resolution
    WHEN 'OneMinute' THEN 60 WHEN 'FiveMinutes' THEN 300 WHEN 'FifteenMinutes' THEN 900 WHEN 'OneHour' THEN 3600 END;

-- A device's role, from the measurement sets it offers (stg_devices.sets): an inverter (PV and/or battery sets),
-- the plant's load monitor (the Energy Meter's consumption and grid sets), or something else (a Data Manager, a
-- sensor, a charging station); and an inverter's kind: 0 PV only, 1 hybrid with a battery, 2 battery inverter
-- (AC-coupled storage).
CREATE OR REPLACE TEMP MACRO sma_device_kind(sets) AS CASE
    WHEN list_contains(sets, 'EnergyAndPowerPv') OR list_contains(sets, 'EnergyAndPowerBattery') THEN 'inverter'
    WHEN list_contains(sets, 'EnergyAndPowerInOut') OR list_contains(sets, 'EnergyAndPowerConsumption') THEN 'load_monitor'
    ELSE 'other' END;
CREATE OR REPLACE TEMP MACRO sma_device_type(sets) AS CASE
    WHEN list_contains(sets, 'EnergyAndPowerPv') AND list_contains(sets, 'EnergyAndPowerBattery') THEN 1
    WHEN list_contains(sets, 'EnergyAndPowerPv') THEN 0
    WHEN list_contains(sets, 'EnergyAndPowerBattery') THEN 2 END;

-- The instant a plant-local wall time stands for, when it is not ambiguous (local midnight, a day's bounds).
CREATE OR REPLACE TEMP MACRO sma_local_instant(tz, ts_local) AS local_to_utc(tz, ts_local, false);

-- The rows of the measurement-set answers of `ep` in `raw` (`set`: one object per row, `time` = the END of the
-- row's interval) with the interval each stands for. Columns: plant_id, device_id, set_type, response_id,
-- fetched_at, time_zone, resolution_s, ts_sent (as sent), start_utc, end_utc, elapsed_s, p (the row's JSON),
-- fold_ambiguous (a local stamp of the repeated hour sent once: its instant is a guess).
--
-- Time: `basis` says how SMA writes `time`: 'local' (plant wall time, as the captured responses show) or
-- 'utc' (as SMA's FAQ says). Local stamps of the hour that repeats when daylight-saving time ends are resolved by
-- the rows' order (with_utc). A row stands for [the previous row's end, its own end): SMA leaves rows out where
-- it has no data and the next row carries the missed energy (its Wh since the previous row), so the previous
-- row's end is where its interval starts, and the day's first row starts at the plant's local midnight.
-- Rows outside the plant-local day are dropped. Input `plants`: plant_id, time_zone (stg_plants).
CREATE OR REPLACE TEMP MACRO sma_set_rows(raw, ep, plants, the_day, basis) AS TABLE
WITH responses AS (
    SELECT r.plant_id, r.device_sn AS device_id, r.request_params::JSON ->> 'setType' AS set_type, r.fetched_at,
           row_number() OVER (ORDER BY r.fetched_at, r.request_params) AS response_id,
           sma_resolution_s(r.j ->> 'resolution') AS resolution_s,
           CAST(r.j -> 'set' AS JSON[]) AS items
    FROM sma_answers(raw, ep) AS r
    WHERE json_type(r.j, '$.set') = 'ARRAY'
),
items AS (
    SELECT plant_id, device_id, set_type, fetched_at, response_id, resolution_s,
           unnest(items) AS p, generate_subscripts(items, 1) AS seq
    FROM responses
),
stamped AS (
    SELECT i.*, pl.time_zone, p ->> 'time' AS ts_sent, sma_ts(p ->> 'time') AS ts_local,
           CAST(NULL AS DOUBLE) AS copy_key,  -- no counter: a repeated stamp's copies go by their order
           CAST(p AS VARCHAR) AS payload
    FROM items AS i
    JOIN query_table(plants) AS pl ON pl.plant_id = i.plant_id
),
timed AS (
    SELECT * EXCLUDE (ts_utc),
           CASE WHEN basis = 'utc' THEN timezone('UTC', ts_local) ELSE ts_utc END AS end_utc,
           sma_local_instant(time_zone, CAST(the_day AS TIMESTAMP))                      AS day_start_utc,
           sma_local_instant(time_zone, CAST(the_day AS TIMESTAMP) + INTERVAL 1 DAY)     AS day_end_utc
    FROM with_utc('stamped')
),
in_day AS (
    SELECT *, lag(end_utc) OVER (PARTITION BY response_id ORDER BY end_utc) AS previous_end
    FROM timed
    WHERE end_utc > day_start_utc AND end_utc <= day_end_utc
)
SELECT plant_id, device_id, set_type, response_id, fetched_at, time_zone, ts_sent, end_utc, p,
       basis = 'local' AND fold_ambiguous                                          AS fold_ambiguous,
       coalesce(previous_end, day_start_utc)                                      AS start_utc,
       epoch(end_utc) - epoch(coalesce(previous_end, day_start_utc))              AS elapsed_s,
       -- a resolution not known here: the shortest step between the answer's rows
       coalesce(resolution_s, min(epoch(end_utc) - epoch(previous_end)) OVER (PARTITION BY response_id), 300)
                                                                                   AS resolution_s
FROM in_day;

-- A row's energy in Wh: whole numbers written "x.0" (ReturnEnergyValues=true); an absent property is unknown (NULL).
CREATE OR REPLACE TEMP MACRO sma_wh(p, name) AS num(p ->> name);

-- The most a PV meter of `rated_w` (AC nominal power) can have produced in `elapsed_s`, with a margin: SMA's
-- first reading of a newly added device can be absurd (a capture: 165,763 Wh in five minutes).
CREATE OR REPLACE TEMP MACRO sma_pv_limit_wh(rated_w, elapsed_s) AS
    CASE WHEN rated_w > 0 THEN 1.2 * rated_w * elapsed_s / 3600.0 END;

-- The samples of SMA's rows (a relation with stream, plant_id, device_id, set_type, start_utc, end_utc,
-- resolution_s, time_zone, fold_ambiguous, plausible, fetched_at and the energies in Wh: pv_wh, load_wh,
-- grid_import_wh, grid_export_wh, battery_charge_wh, battery_discharge_wh, self_supply_wh; battery_soc_pct at the
-- row's end): one sample per interval of the row's resolution, aligned on it (so no sample crosses a local hour).
-- A row that carries more than its interval (after rows SMA left out, or the day's first row after a silent
-- night) is spread over the intervals it covers in proportion to time: its energies are known, their distribution
-- is not, so such samples are not `exact`; nor are those of a row whose instant is a guess (fold_ambiguous). A row
-- that is not plausible lends no PV. Within a set, a term is NULL where a row covering the interval lacks it; a
-- device's sets (each with its own terms) are then combined per interval.
CREATE OR REPLACE TEMP MACRO sma_samples(series_rows) AS TABLE
WITH cells AS (
    SELECT r.*, unnest(range(CAST(floor(epoch(r.start_utc) / r.resolution_s) AS BIGINT),
                             CAST(ceil(epoch(r.end_utc) / r.resolution_s) AS BIGINT))) AS cell
    FROM query_table(series_rows) AS r
    WHERE r.end_utc > r.start_utc
),
pieces AS (
    SELECT *,
           (least(epoch(end_utc), (cell + 1) * resolution_s) - greatest(epoch(start_utc), cell * resolution_s))
               / (epoch(end_utc) - epoch(start_utc))                                     AS share,
           epoch(start_utc) = cell * resolution_s AND epoch(end_utc) = (cell + 1) * resolution_s
               AND NOT fold_ambiguous                                                    AS exact,
           epoch(end_utc) <= (cell + 1) * resolution_s                                   AS holds_end
    FROM cells
),
per_set AS (
    SELECT stream, plant_id, device_id, set_type, cell, any_value(time_zone) AS time_zone,
           any_value(resolution_s) AS resolution_s,
           CASE WHEN count(*) = count(pv_wh) AND bool_and(plausible) THEN sum(pv_wh * share) END AS pv_wh,
           CASE WHEN count(*) = count(load_wh) THEN sum(load_wh * share) END                     AS load_wh,
           CASE WHEN count(*) = count(grid_import_wh) THEN sum(grid_import_wh * share) END       AS grid_import_wh,
           CASE WHEN count(*) = count(grid_export_wh) THEN sum(grid_export_wh * share) END       AS grid_export_wh,
           CASE WHEN count(*) = count(battery_charge_wh) THEN sum(battery_charge_wh * share) END AS battery_charge_wh,
           CASE WHEN count(*) = count(battery_discharge_wh) THEN sum(battery_discharge_wh * share) END
                                                                                                  AS battery_discharge_wh,
           CASE WHEN count(*) = count(self_supply_wh) THEN sum(self_supply_wh * share) END       AS self_supply_wh,
           max(battery_soc_pct) FILTER (WHERE holds_end)                                          AS battery_soc_pct,
           bool_and(exact) AND bool_and(plausible)                                                AS exact,
           max(fetched_at)                                                                        AS fetched_at
    FROM pieces
    GROUP BY stream, plant_id, device_id, set_type, cell
)
SELECT stream, plant_id, device_id, any_value(time_zone) AS time_zone, to_timestamp(cell * any_value(resolution_s)) AS ts_utc,
       any_value(resolution_s) AS interval_s,
       max(pv_wh) AS pv_wh, max(load_wh) AS load_wh, max(grid_import_wh) AS grid_import_wh,
       max(grid_export_wh) AS grid_export_wh, max(battery_charge_wh) AS battery_charge_wh,
       max(battery_discharge_wh) AS battery_discharge_wh, max(self_supply_wh) AS self_supply_wh,
       max(battery_soc_pct) AS battery_soc_pct, bool_and(exact) AS exact, max(fetched_at) AS fetched_at
FROM per_set
GROUP BY stream, plant_id, device_id, cell;
