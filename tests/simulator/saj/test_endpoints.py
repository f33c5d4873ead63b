"""Every endpoint of the reference's Appendix A over HTTP: found, shaped like the captured real responses, and
agreeing with the fleet's truth and with the other endpoints."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from simulator import Faults
from simulator.saj.server import ENDPOINTS

from .client import Api, code

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "saj-open-api"
TF = "%Y-%m-%d %H:%M:%S"
DAY = date(2025, 6, 1)
WHOLE_DAY = {"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:59:59"}

# Appendix A of the reference, as published: every endpoint and its method
APPENDIX_A = [
    ("access_token", "GET"),
    ("developer/auth/plantAuthByOpenapiKey", "POST"),
    ("developer/device/page", "GET"),
    ("developer/plant/page", "GET"),
    ("plant/getPlantAllDeviceList", "GET"),
    ("device/baseinfo", "GET"),
    ("device/batInfo", "GET"),
    ("device/realtimeDataCommon", "GET"),
    ("device/emsRealtimeDataCommon", "GET"),
    ("device/uploadData", "GET"),
    ("device/historyDataCommon", "GET"),
    ("device/emsHistoryData", "GET"),
    ("device/emsHistoryData4Meter", "GET"),
    ("plant/details", "GET"),
    ("plant/energy", "GET"),
    ("plant/getPlantStatisticsData", "GET"),
    ("device/secData", "GET"),
    ("device/alarmList", "GET"),
    ("device/getDeviceAlarmList", "GET"),
]


def fixture(name: str, pairs: bool = False):
    with open(FIXTURES / name, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=(lambda p: p) if pairs else None)


def kind(v) -> str:
    """The JSON type of a value, numbers as one kind."""
    return {
        bool: "bool",
        int: "number",
        float: "number",
        str: "string",
        list: "list",
        dict: "object",
        type(None): "null",
    }[type(v)]


def pairs_of(text: str):
    """The data of a historyDataCommon (a list of records) or realtime (one record) body, each record a list
    of (key, value) pairs: keys sent twice are kept."""
    return dict(json.loads(text, object_pairs_hook=lambda p: p))["data"]


@pytest.fixture
def nogaps(make_simulator):
    """A client on a fleet without logger outages (so minute data covers every interval)."""
    a = Api(make_simulator(limits=False, gaps=False))
    a.login()
    return a


def storage_plant_with_monitor(fleet):
    return next(p for p in fleet.plants if p.plant_type == 1 and p.has_load_monitor)


# --- Appendix A -------------------------------------------------------------------------------------


def valid_calls(server) -> dict:
    """endpoint -> the parameters (for the POST: the JSON body) of a valid call."""
    fl = server.fleet
    p = storage_plant_with_monitor(fl)
    sn = p.devices[0].sn
    ems = {"emsSn": p.module_sn, "plantId": p.plant_id}
    recovered = next(a for a in fl.alarms() if a.ended_at and a.ended_at > fl.now - timedelta(days=80))
    return {
        "access_token": {"appId": fl.app_id, "appSecret": fl.app_secret},
        "developer/auth/plantAuthByOpenapiKey": {
            "appKey": server.openapi_key,
            "credentials": server.openapi_credentials,
        },
        "developer/device/page": {"appId": fl.app_id},
        "developer/plant/page": {"appId": fl.app_id},
        "plant/getPlantAllDeviceList": {"plantId": p.plant_id, "userId": ""},
        "device/baseinfo": {"deviceSn": sn},
        "device/batInfo": {"deviceSn": sn},
        "device/realtimeDataCommon": {"deviceSn": sn},
        "device/emsRealtimeDataCommon": {"emsSn": p.module_sn},
        "device/uploadData": {"deviceSn": sn, "timeUnit": 0, **WHOLE_DAY},
        "device/historyDataCommon": {"deviceSn": sn, **WHOLE_DAY},
        "device/emsHistoryData": {**ems, **WHOLE_DAY},
        "device/emsHistoryData4Meter": {**ems, "startTime": f"{DAY} 10:00:00", "endTime": f"{DAY} 12:00:00"},
        "plant/details": {"plantId": p.plant_id},
        "plant/energy": {"plantId": p.plant_id, "deviceSns": sn, "clientDate": f"{DAY} 12:00:00"},
        "plant/getPlantStatisticsData": {"plantId": p.plant_id, "clientDate": f"{DAY} 12:00:00"},
        "device/secData": {"plantId": p.plant_id, "timeUnit": 0, **WHOLE_DAY},
        "device/alarmList": {"appId": fl.app_id},
        "device/getDeviceAlarmList": {"deviceSn": recovered.device_sn, "alarmCommonState": 3, "alarmDeviceType": 1},
    }


def test_the_server_serves_appendix_a():
    assert {ep: method for ep, (method, _) in ENDPOINTS.items()} == dict(APPENDIX_A)
    assert len(APPENDIX_A) == 19


def test_walking_appendix_a_finds_every_endpoint_with_code_200(free):
    calls = valid_calls(free.s)
    for ep, method in APPENDIX_A:
        if method == "POST":
            r = free.http.post(free.url(ep), json=calls[ep], headers={"content-language": "en_US"})
        else:
            r = free.raw(ep, **calls[ep])
        assert r.status_code != 404, ep
        assert r.status_code == 200, (ep, r.text)
        body = r.json()
        assert body["code"] == 200 and isinstance(body["msg"], str), (ep, body)
        assert "errCode" not in body and "errMsg" not in body
        assert body.get("data", body.get("rows")), (ep, "empty answer")
        if ep == "access_token":
            free.token = body["data"]["access_token"]  # a new token replaces the old one
    assert set(free.s.stats()["codes"]) == {ep for ep, _ in APPENDIX_A}
    assert all(set(c) == {200} for c in free.s.stats()["codes"].values())


# --- shapes of the captured real responses ------------------------------------------------------------


def test_device_page_has_the_fixture_shape(free):
    real = fixture("open_developer_device_page.json")
    ours = free.get("developer/device/page", appId=free.s.fleet.app_id)
    assert list(ours) == list(real) and ours["msg"] == real["msg"]
    assert {k: kind(v) for k, v in ours["rows"][0].items()} == {k: kind(v) for k, v in real["rows"][0].items()}


@pytest.mark.parametrize("device_type", [0, 1, 2])
def test_history_and_realtime_records_have_the_fixture_keys_and_types(free, device_type):
    dev = next(d for d in free.s.fleet.devices if d.device_type == device_type)
    real = fixture("open_device_historyDataCommon.json", pairs=True)
    real_rec = dict(real)["data"][0]
    text = free.raw("device/historyDataCommon", deviceSn=dev.sn, **WHOLE_DAY).text
    recs = pairs_of(text)
    assert len(recs) > 200
    for rec in recs[::50]:
        assert [k for k, _ in rec] == [k for k, _ in real_rec]  # the same 188 keys, in order, one sent twice
        assert [kind(v) for _, v in rec] == [kind(v) for _, v in real_rec]
    rt_pairs = pairs_of(free.raw("device/realtimeDataCommon", deviceSn=dev.sn).text)
    real_rt = fixture("open_device_realtimeDataCommon.json")["data"]
    rt = dict(rt_pairs)
    assert set(real_rt) <= set(rt) and {k: kind(rt[k]) for k in real_rt} == {k: kind(v) for k, v in real_rt.items()}
    assert [k for k, _ in rt_pairs] == [k for k, _ in real_rec][:6] + ["updateDate"] + [k for k, _ in real_rec][6:]


def test_upload_data_has_the_fixture_shapes(free):
    r5 = next(d for d in free.s.fleet.devices if d.model == "R5")
    for unit, name in (
        (0, "open_device_uploadData_timeUnit0_minute.json"),
        (1, "open_device_uploadData_timeUnit1_day.json"),
    ):
        real = fixture(name)
        ours = free.get("device/uploadData", deviceSn=r5.sn, timeUnit=unit, **WHOLE_DAY)
        assert (ours["code"], ours["msg"]) == (real["code"], real["msg"])
        assert set(real["data"]) <= set(ours["data"])
        assert {k: kind(v) for k, v in ours["data"]["data"][0].items()} == {
            k: kind(v) for k, v in real["data"]["data"][0].items()
        }


# --- values: inverter records -------------------------------------------------------------------------


def test_history_equals_upload_data_and_the_truth_sample_by_sample(free):
    fl = free.s.fleet
    for dev in (next(d for d in fl.devices if d.device_type == t) for t in (0, 1, 2)):
        truth = fl.device_day(dev.sn, DAY)
        served = truth[truth.reported].reset_index(drop=True)
        recs = [dict(r) for r in pairs_of(free.raw("device/historyDataCommon", deviceSn=dev.sn, **WHOLE_DAY).text)]
        assert len(recs) == len(served) > 250
        assert [r["dataTime"] for r in recs] == served.ts_local.dt.strftime(TF).tolist()
        assert [int(r["totalPVPower"]) for r in recs] == served.pv_w.astype(int).tolist()
        cum_pv = truth.pv_kwh.astype(float).cumsum()[truth.reported].to_numpy()  # counters count outages too
        assert np.allclose([float(r["todayPvEnergy"]) for r in recs], cum_pv, atol=0.006)
        d0 = (DAY - fl.start_date).days
        if dev.device_type == 0:
            before = fl.device_daily_pv(dev, 0, d0).sum() / 12000
            up = free.get("device/uploadData", deviceSn=dev.sn, timeUnit=0, **WHOLE_DAY)["data"]["data"]
            assert [(int(r["pv1power"]), int(r["pv2power"]), r["pv1volt"], r["rGridVolt"]) for r in recs] == [
                (int(u["pv1Power"]), int(u["pv2Power"]), f"{float(u['pv1Volt']):.2f}", f"{float(u['l1Volt']):.2f}")
                for u in up
            ]
            assert all(r["totalLoadPowerWatt"] == r["batEnergyPercent"] == "0" for r in recs)
        else:
            before = fl.daily_sums(fl.plant(dev.plant_id), 0, d0)["pv"] / 12000
            assert [int(r["batEnergyPercent"]) for r in recs] == served.battery_soc_pct.astype(int).tolist()
            assert [int(r["totalLoadPowerWatt"]) for r in recs] == served.load_w.astype(int).tolist()
            grid = (served.grid_export_w - served.grid_import_w).astype(int)
            bat = (served.battery_discharge_w - served.battery_charge_w).astype(int)
            assert [int(r["totalGridPowerWatt"]) for r in recs] == grid.tolist()
            assert [int(r["batPower"]) for r in recs] == bat.tolist()
            assert [int(r["gridDirection"]) for r in recs] == np.sign(grid).tolist()
            assert [int(r["batteryDirection"]) for r in recs] == np.sign(bat).tolist()
            cum_buy = truth.grid_import_kwh.astype(float).cumsum()[truth.reported].to_numpy()
            assert np.allclose([float(r["todayFeedInEnergy"]) for r in recs], cum_buy, atol=0.006)  # "feed-in": bought
        assert np.allclose([float(r["totalPvEnergy"]) for r in recs], before + cum_pv, atol=0.006)


def test_realtime_is_the_latest_history_record(free):
    fl = free.s.fleet
    for dev in fl.devices:
        zone = fl.zone(fl.plant_of(dev.sn))
        local_now = fl.now.astimezone(zone).replace(tzinfo=None)
        window = {"startTime": (local_now - timedelta(hours=24)).strftime(TF), "endTime": local_now.strftime(TF)}
        hist = pairs_of(free.raw("device/historyDataCommon", deviceSn=dev.sn, **window).text)
        rt = pairs_of(free.raw("device/realtimeDataCommon", deviceSn=dev.sn).text)
        assert [p for p in rt if p[0] != "updateDate"] == hist[-1]
        upd = datetime.strptime(dict(rt)["updateDate"], TF) - datetime.strptime(dict(rt)["dataTime"], TF)
        assert timedelta(0) < upd < timedelta(minutes=5)


def test_history_windows(free):
    sn = free.s.fleet.devices[0].sn
    long = free.get(
        "device/historyDataCommon",
        deviceSn=sn,
        startTime=f"{DAY} 00:00:00",
        endTime=f"{DAY + timedelta(days=1)} 00:05:00",
    )
    assert long == {"code": 10006, "msg": "parameter error: time span exceeds 24 hours", "data": None}
    future = free.get(
        "device/historyDataCommon", deviceSn=sn, startTime="2030-01-01 00:00:00", endTime="2030-01-01 01:00:00"
    )
    assert future["code"] == 200 and future["data"] == []


# --- values: plant statistics, plant energy, load monitor -------------------------------------------


def test_statistics_answer_as_of_client_date(nogaps):
    """The issue's case: a Sydney storage plant at 05:47 local; load so far is what its load monitor saw."""
    fl = nogaps.s.fleet
    p = storage_plant_with_monitor(fl)
    assert p.time_zone == "Australia/Sydney"
    day = date(2025, 10, 14)
    client = datetime(2025, 10, 14, 5, 47)
    st = nogaps.get("plant/getPlantStatisticsData", plantId=p.plant_id, clientDate=client.strftime(TF))
    assert st["code"] == 200
    s = st["data"]
    truth = fl.plant_day(p.plant_id, day)
    before = truth[truth.ts_local < client]
    for name, col in (("Pv", "pv"), ("Load", "load"), ("Buy", "grid_import"), ("Sell", "grid_export")):
        assert float(s[f"today{name}Energy"]) == pytest.approx(before[f"{col}_kwh"].astype(float).sum(), abs=0.006)
    assert float(s["todayChargeEnergy"]) == pytest.approx(before.battery_charge_kwh.astype(float).sum(), abs=0.006)
    assert float(s["todayLoadEnergy"]) > 1 > float(s["todayPvEnergy"])  # the night's load
    d0 = (day - fl.start_date).days
    month = fl.daily_sums(p, d0 - 13, d0)["load"] / 12000 + float(s["todayLoadEnergy"])
    total = fl.daily_sums(p, 0, d0)["pv"] / 12000 + float(s["todayPvEnergy"])
    assert float(s["monthLoadEnergy"]) == pytest.approx(month, abs=0.01)
    assert float(s["totalPvEnergy"]) == pytest.approx(total, abs=0.01)
    assert s["dataTime"] == before.ts_local.iloc[-1].strftime(TF) == f"{day} 05:45:00"
    assert s["powerNow"] == f"{before.pv_w.iloc[-1]:.1f}"
    assert s["batEnergyPercent"] == str(int(before.battery_soc_pct.iloc[-1]))
    assert s["deviceSn"] == p.devices[0].sn and s["deviceStatus"] in (2, 5)
    # the load monitor saw the same night
    sec = nogaps.get(
        "device/secData", plantId=p.plant_id, timeUnit=0, startTime=f"{day} 00:00:00", endTime=client.strftime(TF)
    )["data"]["dataList"][0]
    assert len(sec["data"]) == len(before) and sec["total"]["loadEnergy"] == pytest.approx(
        float(s["todayLoadEnergy"]), abs=0.01
    )


def test_device_status_follows_the_alarms_open_at_client_date(free):
    fl = free.s.fleet
    grid_plants = [p for p in fl.plants if p.plant_type == 0]
    for a in fl.alarms():
        p = fl.plant(a.plant_id)
        if p not in grid_plants or len(p.devices) != 1 or a.ended_at is None:
            continue
        zone = fl.zone(p)
        at = (a.started_at + (a.ended_at - a.started_at) / 2).astimezone(zone).replace(tzinfo=None)
        levels = {
            b.alarm_level
            for b in fl.alarms()
            if b.device_sn == a.device_sn
            and b.started_at.astimezone(zone).replace(tzinfo=None) <= at
            and (b.ended_at is None or b.ended_at.astimezone(zone).replace(tzinfo=None) > at)
        }
        st = free.get("plant/getPlantStatisticsData", plantId=p.plant_id, clientDate=at.strftime(TF))["data"]
        assert st["deviceStatus"] == (3 if 3 in levels else 4)
        return
    pytest.fail("no closed alarm on a single-inverter grid-tied plant")


def test_plant_energy_counts_each_pv_once(free):
    fl = free.s.fleet
    client = f"{DAY} 15:00:00"
    ac = next(p for p in fl.plants if p.plant_type == 3)
    both = free.get(
        "plant/energy", plantId=ac.plant_id, deviceSns=",".join(d.sn for d in ac.devices), clientDate=client
    )["data"]
    st = free.get("plant/getPlantStatisticsData", plantId=ac.plant_id, clientDate=client)["data"]
    for period in ("today", "month", "year", "total"):
        assert both[f"{period}PvEnergy"] == float(st[f"{period}PvEnergy"])
    assert both["powerNow"] == int(float(st["powerNow"])) and both["batEnergyPercent"] == int(st["batEnergyPercent"])
    two = next(p for p in fl.plants if p.plant_type == 0 and len(p.devices) == 2)
    one = free.get("plant/energy", plantId=two.plant_id, deviceSns=two.devices[1].sn, clientDate=client)["data"]
    truth = fl.device_day(two.devices[1].sn, DAY)
    morning = truth[truth.ts_local < datetime(2025, 6, 1, 15)]
    assert one["todayPvEnergy"] == pytest.approx(morning.pv_kwh.sum(), abs=0.006)
    assert one["batEnergyPercent"] == 0 and one["updateDate"].startswith(f"{DAY} 14:5")
    foreign = free.get("plant/energy", plantId=two.plant_id, deviceSns=ac.devices[0].sn, clientDate=client)
    assert foreign["code"] == 10006 and foreign["data"] is None
    assert code(free.get("plant/energy", plantId=two.plant_id, deviceSns=two.devices[0].sn)) == 10006


def test_sec_data_is_empty_only_where_the_monitor_sent_nothing(nogaps):
    s, fl = nogaps.s, nogaps.s.fleet
    p = storage_plant_with_monitor(fl)
    t0 = datetime(2025, 6, 1, 1, 0, tzinfo=fl.zone(p))
    s.set_faults(Faults(offline={p.module_sn: [(t0, t0 + timedelta(hours=2))]}))
    q = dict(plantId=p.plant_id, timeUnit=0, startTime=f"{DAY} 01:00:00")
    assert nogaps.get("device/secData", **q, endTime=f"{DAY} 02:55:00")["data"]["dataList"][0]["data"] == []
    night = nogaps.get("device/secData", **q, endTime=f"{DAY} 04:00:00")["data"]["dataList"][0]["data"]
    truth = fl.plant_day(p.plant_id, DAY)
    load = dict(zip(truth.ts_local.dt.strftime(TF), truth.load_w))
    assert [pt["dataTime"] for pt in night] == [f"{DAY} 03:{m:02d}:00" for m in range(0, 60, 5)] + [f"{DAY} 04:00:00"]
    assert all(pt["loadPower"] == load[pt["dataTime"]] > 0 and pt["pvPower"] == 0 for pt in night)


# --- values: EMS module and its meters ------------------------------------------------------------------


def test_ems_history_and_realtime_agree_with_the_truth(nogaps):
    free = nogaps
    fl = free.s.fleet
    p = storage_plant_with_monitor(fl)
    hist = free.get("device/emsHistoryData", emsSn=p.module_sn, plantId=p.plant_id, **WHOLE_DAY)["data"]
    truth = fl.plant_day(p.plant_id, DAY)
    assert len(hist) == len(truth) == 288
    assert [int(h["parallPVPower"]) for h in hist] == truth.pv_w.astype(int).tolist()
    assert [int(h["parallLoadPower"]) for h in hist] == truth.load_w.astype(int).tolist()
    assert [int(h["parallGridPower"]) for h in hist] == (truth.grid_export_w - truth.grid_import_w).astype(int).tolist()
    assert [int(h["parallSOC"]) for h in hist] == truth.battery_soc_pct.astype(int).tolist()
    cum = {c: truth[f"{c}_kwh"].astype(float).cumsum().to_numpy() for c in ("pv", "grid_import", "grid_export")}
    assert np.allclose([float(h["parallTodayFeedInEnergy"]) for h in hist], cum["grid_import"], atol=0.006)
    assert np.allclose([float(h["parallTodaySellEnergy"]) for h in hist], cum["grid_export"], atol=0.006)
    d0 = (DAY - fl.start_date).days
    year = fl.daily_sums(p, 0, d0)
    assert float(hist[-1]["yearPVEnergy"]) == pytest.approx(year["pv"] / 12000 + cum["pv"][-1], abs=0.01)
    assert hist[-1]["yearPVEnergy"] == hist[-1]["parallYearPVEnergy"]
    assert float(hist[-1]["parallTotalCap"]) == p.battery_kwh
    # realtime: the module's latest sample, as numbers
    rt = free.get("device/emsRealtimeDataCommon", emsSn=p.module_sn)["data"]
    zone = fl.zone(p)
    today = fl.now.astimezone(zone).date()
    latest = free.get(
        "device/emsHistoryData",
        emsSn=p.module_sn,
        plantId=p.plant_id,
        startTime=f"{today} 00:00:00",
        endTime=f"{today} 23:59:59",
    )["data"][-1]
    assert rt["dataTime"] == latest["dataTime"] and isinstance(rt["parallPVPower"], int)
    for k in ("parallPVPower", "parallGridPower", "parallTodayPVEnergy", "parallTotalPVEnergy", "parallMonthPVEnergy"):
        assert float(latest[k]) == rt[k]
    inverter = free.get("device/emsRealtimeDataCommon", emsSn=p.devices[0].sn)
    assert inverter["code"] == 10006 and "not an EMS" in inverter["msg"]
    other = next(q for q in fl.plants if q.module_sn and q is not p)
    assert code(free.get("device/emsHistoryData", emsSn=p.module_sn, plantId=other.plant_id, **WHOLE_DAY)) == 10006


def test_ems_meters_measure_the_grid_and_the_pv(nogaps):
    free = nogaps
    fl = free.s.fleet
    p = next(q for q in fl.plants if q.plant_type == 3 and q.has_load_monitor)
    pts = free.meter_data(p, f"{DAY} 11:00:00", f"{DAY} 13:00:00")["data"]
    truth = fl.plant_day(p.plant_id, DAY)
    truth = truth.set_index(truth.ts_local.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    assert len(pts) == 25 and all(pt["firstWayEnable"] == pt["secondWayEnable"] == 1 for pt in pts)
    for pt in pts:
        row = truth.loc[pt["dataTime"]]
        assert pt["totalGridPower"] == int(row.grid_import_w) - int(row.grid_export_w)
        assert pt["totalGridPowerSecondWay"] == -int(row.pv_w)  # the PV meter: production flows back
    day_imp = truth[truth.index <= pts[-1]["dataTime"]].grid_import_kwh.astype(float).sum()
    assert float(pts[-1]["todayImpEp"]) == pytest.approx(day_imp, abs=0.006)
    assert pts[-1]["impEp"] == pytest.approx(
        fl.daily_sums(p, 0, (DAY - fl.start_date).days)["imp"] / 12000 + day_imp, abs=0.01
    )
    storage = storage_plant_with_monitor(fl)
    one = free.meter_data(storage, f"{DAY} 11:00:00", f"{DAY} 11:00:00")["data"]
    assert len(one) == 1 and one[0]["secondWayEnable"] == 0


# --- values: hardware and battery ----------------------------------------------------------------------


def test_battery_info_matches_the_simulated_battery(free):
    fl = free.s.fleet
    for dev in fl.devices:
        base = free.get("device/baseinfo", deviceSn=dev.sn)["data"]
        bat = free.get("device/batInfo", deviceSn=dev.sn)["data"]
        rt = free.get("device/realtimeDataCommon", deviceSn=dev.sn)["data"]
        assert base["invSN"] == bat["deviceInfo"]["invSN"] == dev.sn
        assert base["moduleSN"] == bat["deviceInfo"]["moduleSN"] == rt["moduleSn"]
        assert round(float(base["ratedPower"]) * 1000) == dev.rated_w
        assert {k: v for k, v in base.items() if k in bat["deviceInfo"]} == bat["deviceInfo"]
        boxes = bat["batteryInfoList"]
        if dev.battery_kwh > 0:
            assert base["batNum"] == "1" and len(boxes) == 1 and boxes[0]["ifBatBox"] is True
            assert boxes[0]["batSN"] == base["bat1SN"] and boxes[0]["bmsSN"] == base["bms1SN"]
            capacity = float(re.fullmatch(r"B1-([\d.]+)-48", boxes[0]["batModel"]).group(1))
            assert capacity == dev.battery_kwh == float(rt["bmsTotalEnergy"])
            assert base["bat2SN"] == "" and int(rt["batEnergyPercent"]) > 0
        else:
            assert base["batNum"] == "0" and boxes == [] and base["bat1SN"] == ""


def test_plant_auth_by_openapi_key(free):
    s = free.s
    url = free.url("developer/auth/plantAuthByOpenapiKey")
    ok = free.http.post(url, json={"appKey": s.openapi_key, "credentials": s.openapi_credentials}).json()
    assert ok == {
        "code": 200,
        "msg": "request success",
        "data": {"authSuccessPlantId": [p.plant_id for p in s.fleet.plants]},
    }
    wrong = free.http.post(url, json={"appKey": s.openapi_key, "credentials": "x"}).json()
    assert wrong == {"code": 10006, "msg": "parameter error: appKey or credentials is invalid", "data": None}
    assert free.raw("developer/auth/plantAuthByOpenapiKey").json()["code"] == 500  # POST only
