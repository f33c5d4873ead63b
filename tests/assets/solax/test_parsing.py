"""The captured real answers through SolaX's staging: what a user reads from them must come out right, the
impossible values must be caught, `null` and `0.0` must stay apart, and error bodies stay in the raw layer."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from assets.solax import MODELS
from pipelines.core.lake import Lake
from pipelines.core.transport import ApiResponse
from pipelines.sources.solax.client import envelope
from pipelines.sources.solax.poller import sites_response
from pipelines.sources.solax.settings import REALTIME
from pipelines.sources.solax.sites import parse_sites
from tests.support import SHARED_FIXTURES, land

FOLDER = SHARED_FIXTURES / "solax-cloud-api"
SITES = (
    "wifi_sn,plant_id,plant_name,time_zone,system_power_kwp\n"
    "SWV2GRID01,p-v2,Grid-tied 2026,Europe/London,4\n"
    "SWBOOST001,p-boost,X1-Boost 2021,Europe/Amsterdam,5\n"
    "SWHYBRID01,p-hybrid,Hybrid 2022,Europe/Amsterdam,6\n"
    "SWG4HYB001,p-g4,X1-Hybrid-G4 2023,Europe/Berlin,6\n"
    "SWERROR001,p-err,Errors,Europe/Berlin,5\n"
)
CAPTURES = {  # dongle -> the capture it answered, and the day of its upload (local)
    "SWV2GRID01": ("v2_realtimeInfo_get_success_2026-02-17.json", date(2026, 2, 17)),
    "SWBOOST001": ("v1_getRealtimeInfo_success_2021-11-15_x1-boost.json", date(2021, 11, 15)),
    "SWHYBRID01": ("v1_getRealtimeInfo_success_2022-04-16_hybrid_battery.json", date(2022, 4, 16)),
    "SWG4HYB001": ("v1_getRealtimeInfo_success_2023-11-28_x1-hybrid-g4.json", date(2023, 11, 28)),
}
ERRORS = [
    "v1_getRealtimeInfo_error_no_auth_without_code.json",
    "v1_getRealtimeInfo_error_sn_did_not_access.json",
    "v1_getRealtimeInfo_error_lockout_one_hour.json",
]


def _answer(sn: str, text: str, at: datetime) -> ApiResponse:
    payload = json.loads(text)
    code, msg = envelope(payload)
    return ApiResponse(REALTIME, {"wifiSn": sn}, 200, code, msg, text, payload, at)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    if not FOLDER.is_dir():
        pytest.skip(f"the captured responses {FOLDER} are not beside the project")
    data_dir = tmp_path_factory.mktemp("captures")
    sites = parse_sites(SITES)
    lake = Lake(data_dir / "lake")
    out = {}
    for sn, (name, day) in CAPTURES.items():
        at = datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=20)  # after the upload
        rows = [(None, None, sites_response(sites, at)), (sn.lower(), sn, _answer(sn, (FOLDER / name).read_text(), at))]
        if sn == "SWG4HYB001":  # the day's error answers, from another dongle
            rows += [("p-err", "SWERROR001", _answer("SWERROR001", (FOLDER / e).read_text(), at)) for e in ERRORS]
        land(data_dir, "raw_realtime", day, rows, vendor="solax")
        out[sn] = {t: MODELS.staging.build_day(lake, t, day).to_pylist() for t in MODELS.staging.tables}
    return out


def _one(staged, sn, table):
    (row,) = [r for r in staged[sn][table] if r["wifi_sn"] == sn]
    return row


def test_the_v2_capture(staged):
    up = _one(staged, "SWV2GRID01", "stg_uploads")
    assert up["upload_utc"] == datetime(2026, 2, 17, 17, 41, 14, tzinfo=timezone.utc)  # utcDateTime
    assert up["inverter_state"] == "Waiting for operation" and up["battery_state"] is None
    assert up["yield_today_kwh"] == 17.8 and up["yield_total_kwh"] == 16465.5 and up["soc_pct"] is None
    dev = _one(staged, "SWV2GRID01", "stg_devices")
    assert (dev["role"], dev["device_type"], dev["device_model"], dev["metered"], dev["has_battery"]) == (
        "pv",
        0,
        "X1-Smart",
        False,  # feedinenergy/consumeenergy 0.0: no meter
        False,
    )


def test_an_impossible_day_yield_is_caught_and_zeros_are_not_a_battery(staged):
    up = _one(staged, "SWBOOST001", "stg_uploads")
    assert up["yield_today_kwh"] is None and up["out_of_range"] == ["yieldtoday"]  # 876 kWh at 10:54 on 5 kWp
    # no utcDateTime: uploadTime read in the plant's zone (Amsterdam, UTC+1 in November)
    assert up["upload_utc"] == datetime(2021, 11, 15, 9, 54, 36, tzinfo=timezone.utc)
    assert up["soc_pct"] == 0.0 and up["bat_w"] == 0.0  # the 2021 body's absent battery, as sent
    dev = _one(staged, "SWBOOST001", "stg_devices")
    assert (dev["role"], dev["has_battery"], dev["device_model"]) == ("pv", False, "X1-Boost/Air/Mini")
    (sample,) = staged["SWBOOST001"]["stg_device_samples"]
    assert sample["pv_w"] == 480.0 and sample["battery_charge_w"] is None and sample["grid_import_w"] is None


def test_the_hybrids_signs(staged):
    """batPower -355 is discharging, feedinpower -44 importing; the PV is the AC output less the discharge."""
    dev = _one(staged, "SWHYBRID01", "stg_devices")
    assert (dev["role"], dev["device_type"], dev["metered"], dev["has_battery"]) == ("hybrid", 1, True, True)
    (sample,) = staged["SWHYBRID01"]["stg_device_samples"]
    assert sample["pv_w"] == pytest.approx(575 - 355)
    assert sample["battery_discharge_w"] == pytest.approx(355) and sample["battery_charge_w"] == 0
    assert sample["grid_import_w"] == pytest.approx(44) and sample["grid_export_w"] == 0
    assert sample["battery_soc_pct"] == 15.0 and sample["interval_s"] == 300  # a first upload: its own 5 minutes
    (meter,) = staged["SWHYBRID01"]["stg_meter_samples"]
    assert meter["load_kwh"] == pytest.approx((220 + 44 + 355) * 300 / 3.6e6)  # load = pv + import + discharge


def test_states_and_fractional_watts(staged):
    up = _one(staged, "SWG4HYB001", "stg_uploads")
    assert (up["inverter_status"], up["inverter_state"], up["battery_status"], up["battery_state"]) == (
        110,
        "Standby mode",
        0,
        "Normal",
    )
    assert up["eps1_w"] == 56.3 and up["dc3_w"] is None
    assert _one(staged, "SWG4HYB001", "stg_devices")["device_model"] == "X1-Hybrid-G4"


def test_error_answers_stay_in_the_raw_layer(staged):
    assert all(r["wifi_sn"] != "SWERROR001" for t in ("stg_uploads", "stg_devices") for r in staged["SWG4HYB001"][t])
    assert {r["wifi_sn"] for r in staged["SWG4HYB001"]["stg_sites"]} >= {"SWERROR001"}
