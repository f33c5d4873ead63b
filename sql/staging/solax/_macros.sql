-- SolaX's staging macros (loaded before every file of sql/staging/solax/ and sql/conformed/solax/).

-- The answers of the realtime endpoint in the raw table `raw` that are data: HTTP 200, a JSON body with
-- `success: true`, `code` 0 (or none, in old bodies) and a `result` object (parsed once, as `j`). Everything else
-- (refusals, limits, "no data yet", the sites rows) stays in the raw layer only.
CREATE OR REPLACE TEMP MACRO solax_answers(raw) AS TABLE
SELECT r.*, r.body::JSON AS j
FROM query_table(raw) AS r
WHERE r.endpoint = 'api/v2/dataAccess/realtimeInfo/get' AND r.http_status = 200 AND json_valid(r.body)
  AND json_extract(r.body, '$.success') = 'true'::JSON AND coalesce(r.api_code, 0) = 0
  AND json_type(r.body, '$.result') = 'OBJECT';

-- The states of the User API document's appendix 8.1 (inverterStatus) and of batStatus.
CREATE OR REPLACE TEMP MACRO solax_inverter_state(code) AS MAP {
    100: 'Waiting for operation', 101: 'Self-test', 102: 'Normal', 103: 'Recoverable fault',
    104: 'Permanent fault', 105: 'Firmware upgrade', 106: 'EPS detection', 107: 'Off-grid',
    108: 'Self-test mode (Italian safety regulations)', 109: 'Sleep mode', 110: 'Standby mode',
    111: 'Photovoltaic wake-up battery mode', 112: 'Generator detection mode', 113: 'Generator mode',
    114: 'Fast shutdown standby mode', 130: 'VPP mode', 131: 'TOU - Self use', 132: 'TOU - Charging',
    133: 'TOU - Discharging'}[code];
CREATE OR REPLACE TEMP MACRO solax_battery_state(code) AS MAP {0: 'Normal', 1: 'Fault', 2: 'Disconnected'}[code];
-- The states that open an alarm: the inverter's faults, the battery's fault and disconnection.
CREATE OR REPLACE TEMP MACRO solax_is_fault(kind, code) AS
    CASE kind WHEN 'inverter' THEN code IN (103, 104) ELSE code IN (1, 2) END;

-- inverterType -> the model family, as client mappings of the API give it.
CREATE OR REPLACE TEMP MACRO solax_model(code) AS MAP {
    '1': 'X1-LX', '2': 'X-Hybrid', '3': 'X1-Hybrid/Fit', '4': 'X1-Boost/Air/Mini', '5': 'X3-Hybrid-G1/G2',
    '6': 'X3-20K/30K', '7': 'X3-MIC/PRO', '8': 'X1-Smart', '9': 'X1-AC', '10': 'A1-Hybrid', '11': 'A1-Fit',
    '12': 'A1', '13': 'J1-ESS', '14': 'X3-Hybrid-G4', '15': 'X1-Hybrid-G4', '16': 'X3-MIC/PRO-G2', '17': 'X1-SPT',
    '18': 'X1-Boost-G4', '19': 'A1-HYB-G2', '20': 'A1-AC-G2', '21': 'A1-SMT-G2', '22': 'X1-Mini-G4',
    '23': 'X1-IES', '24': 'X3-IES', '25': 'X3-ULT', '26': 'X1-Smart-G2', '27': 'A1-Micro 1 in 1',
    '28': 'X1-Micro 2 in 1', '29': 'X1-Micro 4 in 1', '31': 'X3-Aelio', '32': 'X3-HYB-G4 Pro', '33': 'X3-Neo-LV',
    '34': 'X1-Vast', '35': 'X3-IES-P', '36': 'J3-ULT-LV-16.5K', '37': 'J3-ULT-30K', '38': 'J1-ESS-HB-2',
    '39': 'C3-IES', '40': 'X3-IES-A', '41': 'X1-IES-A', '43': 'X3-ULT-GLV', '44': 'X1-Mini-G4 Plus',
    '46': 'X1-Reno-LV', '47': 'A1-HYB-G3', '100': 'X3-FTH', '101': 'X3-MGA-G2', '102': 'X1-Hybrid-LV',
    '103': 'X1-Lite-LV', '104': 'X3-Grand-HV', '105': 'X3-Forth-Plus'}[code];

-- Range checks: a value the service could not have measured is unknown (NULL), never used.
CREATE OR REPLACE TEMP MACRO solax_power(x) AS CASE WHEN abs(num(x)) <= 1e6 THEN num(x) END;
CREATE OR REPLACE TEMP MACRO solax_counter(x) AS CASE WHEN num(x) >= 0 AND num(x) < 1e9 THEN num(x) END;

-- A sample's interval: an upload at t reports the means of (t - 300 s, t]; its sample starts at the previous
-- distinct upload t0 (when that is at most a day before). Its energy, per term, in kWh:
--   "power": the upload's mean power covers the whole interval (at most 30 s uncovered) and agrees with the
--            term's counter within one counter step (1.05 x step) or the term has no counter: power x time,
--            exact to the watt where the counter only knows 0.1 kWh;
--   "counter": otherwise the counter's difference, when usable (not decreasing, not implying more than
--            `max_w` on average): sparse polls and outages keep the right totals;
--   "estimate": no usable counter: the last power over the covered part and the mean of the two powers
--            over the rest.
-- p, p0: the term's mean power (W) at t and t0; c, c0: its counter (kWh) at t and t0; covered / uncovered: the
-- seconds of the interval the upload's power covers / does not.
CREATE OR REPLACE TEMP MACRO solax_estimate_kwh(p, p0, covered, uncovered) AS
    (p * covered + coalesce((p0 + p) / 2.0, p) * uncovered) / 3.6e6;
CREATE OR REPLACE TEMP MACRO solax_delta_kwh(c, c0, seconds, max_w) AS
    CASE WHEN c >= c0 AND (c - c0) * 3.6e6 / seconds <= max_w THEN c - c0 END;
CREATE OR REPLACE TEMP MACRO solax_source(p, p0, c, c0, step, covered, uncovered, max_w) AS CASE
    WHEN p IS NOT NULL AND uncovered <= 30
         AND (solax_delta_kwh(c, c0, covered + uncovered, max_w) IS NULL
              OR abs(solax_delta_kwh(c, c0, covered + uncovered, max_w)
                     - solax_estimate_kwh(p, p0, covered, uncovered)) <= 1.05 * step) THEN 'power'
    WHEN solax_delta_kwh(c, c0, covered + uncovered, max_w) IS NOT NULL THEN 'counter'
    WHEN p IS NOT NULL THEN 'estimate' END;
CREATE OR REPLACE TEMP MACRO solax_energy_kwh(source, p, p0, c, c0, covered, uncovered, max_w) AS CASE source
    WHEN 'counter' THEN solax_delta_kwh(c, c0, covered + uncovered, max_w)
    ELSE solax_estimate_kwh(p, p0, covered, uncovered) END;
-- The share of an interval's energy in one piece of it (`seconds` long, in the covered part or not): by the
-- power shape (the upload's power over the covered part, the mean of the two over the rest), evenly where
-- the powers are unknown or zero.
CREATE OR REPLACE TEMP MACRO solax_share(p, p0, covered, uncovered, in_covered, seconds) AS CASE
    WHEN p * covered + coalesce((p0 + p) / 2.0, p) * uncovered > 0
    THEN (CASE WHEN in_covered THEN p ELSE coalesce((p0 + p) / 2.0, p) END) * seconds
         / (p * covered + coalesce((p0 + p) / 2.0, p) * uncovered)
    ELSE seconds / (covered + uncovered) END;
