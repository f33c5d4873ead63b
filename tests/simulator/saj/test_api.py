"""The simulator over real HTTP: auth, tokens, signatures, pagination, limits, windows, errors, faults."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from simulator import Faults, SimulatorServer, client_sign
from simulator.saj import ordering
from simulator.saj.envelopes import REFERENCE_ENVELOPES
from simulator.saj.server import ENDPOINTS
from tests.cli import serving

from .client import Api, code

# --- auth ---------------------------------------------------------------------------------------


def test_token_issue_and_wrong_credentials(simulator):
    a = Api(simulator)
    r = a.http.get(a.url("access_token"), params={"appId": simulator.fleet.app_id, "appSecret": "nope"}).json()
    assert r == {"code": 100009, "msg": "appId or appSecret does not exist", "data": None}
    ok = a.http.get(
        a.url("access_token"), params={"appId": simulator.fleet.app_id, "appSecret": simulator.fleet.app_secret}
    ).json()
    assert ok["code"] == 200 and ok["data"]["expires"] == 7200 and len(ok["data"]["access_token"]) > 40
    assert len(simulator.fleet.app_secret) == 32


def test_missing_or_unknown_token_is_rejected(api):
    for tok in ("", "not-a-token"):
        b = api.get("plant/details", headers={"accessToken": tok}, plantId=api.s.fleet.plants[0].plant_id)
        assert b == {"code": 200010, "msg": "accessToken does not exist", "data": None}


def test_one_live_token_per_app(api):
    pid = api.s.fleet.plants[0].plant_id
    old = api.token
    assert code(api.get("plant/details", plantId=pid)) == 200
    api.login()
    assert api.token != old
    assert code(api.get("plant/details", plantId=pid)) == 200
    assert code(api.get("plant/details", headers={"accessToken": old}, plantId=pid)) == 200010
    assert api.s.stats()["tokens_issued"] == 2


def test_token_expires(make_simulator):
    a = Api(make_simulator(token_ttl_s=0.3))
    a.login()
    pid = a.s.fleet.plants[0].plant_id
    assert code(a.get("plant/details", plantId=pid)) == 200
    time.sleep(0.4)
    assert code(a.get("plant/details", plantId=pid)) == 200010


def test_early_expiry_fault(make_simulator):
    a = Api(make_simulator(faults=Faults(token_ttl_s=0.2)))
    tok = a.http.get(
        a.url("access_token"), params={"appId": a.s.fleet.app_id, "appSecret": a.s.fleet.app_secret}
    ).json()["data"]
    a.token = tok["access_token"]
    assert tok["expires"] == 7200  # announced as usual, but dies early
    time.sleep(0.3)
    assert code(a.get("plant/details", plantId=a.s.fleet.plants[0].plant_id)) == 200010


def test_client_sign(api):
    # the reference's test vector
    assert (
        client_sign("VH_ExampleApp", "M2S4182G2349E02268")
        == "54f0f2d6e083554eae2f5782ad3bece0a054d44c400bcbb853490c49c8058c24"
    )
    assert (
        client_sign("VH_ExampleApp", "R5X2602J2516E27344")
        == "e27abb3873658ed95fe1bffad6e286ae086c8a5c351567efabe4c2f6e7bb1ce4"
    )
    sn = api.s.fleet.devices[0].sn
    good = hashlib.sha256(f"appId={api.s.fleet.app_id},deviceSN={sn}".encode()).hexdigest()
    assert code(api.get("device/realtimeDataCommon", headers={"clientSign": good}, deviceSn=sn)) == 200
    bad = api.get("device/realtimeDataCommon", headers={"clientSign": "0" * 64}, deviceSn=sn)
    assert bad == {"code": 10004, "msg": "Authentication failed", "data": None}
    assert code(api.get("device/realtimeDataCommon", deviceSn=sn)) == 200  # optional


def test_post_is_not_supported(api):
    r = api.http.post(api.url("device/uploadData"), headers={"accessToken": api.token})
    assert r.status_code == 200
    assert r.json() == {"code": 500, "msg": "Request method 'POST' not supported", "data": None}


# --- pagination ---------------------------------------------------------------------------------


def test_pagination_over_several_pages(make_simulator):
    a = Api(make_simulator(plants=23, seed=5, limits=False))
    a.login()
    fl = a.s.fleet
    seen = []
    for n in (1, 2, 3):
        b = a.get("developer/plant/page", appId=fl.app_id, pageSize=10, pageNum=n)
        assert set(b) == {"total", "rows", "code", "msg", "totalPage"}
        assert (b["total"], b["totalPage"], b["code"], b["msg"]) == (23, 3, 200, "查询成功")
        assert len(b["rows"]) == (10 if n < 3 else 3)
        seen += [r["plantId"] for r in b["rows"]]
    assert seen == [p.plant_id for p in fl.plants]
    assert a.get("developer/plant/page", appId=fl.app_id, pageSize=10, pageNum=4)["rows"] == []
    devs = []
    page = a.get("developer/device/page", appId=fl.app_id, pageSize=7)
    for n in range(1, page["totalPage"] + 1):
        devs += a.get("developer/device/page", appId=fl.app_id, pageSize=7, pageNum=n)["rows"]
    assert [d["deviceSn"] for d in devs] == [d.sn for d in fl.devices]
    assert page["total"] == len(fl.devices) and page["totalPage"] == -(-len(fl.devices) // 7)
    row = devs[0]
    assert set(row) == {"deviceSn", "deviceType", "plantId", "plantName", "isOnline", "isAlarm", "country"}
    assert {d["deviceType"] for d in devs} <= {"R5", "R6", "H2", "HS2", "AS1"}
    assert isinstance(row["isOnline"], int) and isinstance(row["isAlarm"], int)


def test_page_parameters(free):
    fl = free.s.fleet
    assert code(free.get("developer/plant/page", appId=fl.app_id, pageNum="x")) == 10006
    assert code(free.get("developer/plant/page", appId="someone-else")) == 200008
    assert len(free.get("developer/plant/page", appId=fl.app_id)["rows"]) == len(fl.plants)  # default 100


# --- limits -------------------------------------------------------------------------------------


def test_rate_limit_rejects_and_counts(api):
    pid = api.s.fleet.plants[0].plant_id
    codes = [code(api.get("plant/details", plantId=pid)) for _ in range(8)]
    assert codes[:5] == [200] * 5
    assert codes.count(10006) >= 2
    rej = api.get("plant/details", plantId=pid)
    if code(rej) == 10006:
        assert rej["msg"] == "Too frequent access, please try again later"
    st = api.s.stats()
    assert st["rejected_rate"]["plant/details"] == codes.count(10006) + (code(rej) == 10006)
    assert st["requests"]["plant/details"] == 9
    time.sleep(1.05)
    assert code(api.get("plant/details", plantId=pid)) == 200


def test_limits_off_and_scaled(make_simulator):
    a = Api(make_simulator(limits=False))
    a.login()
    pid = a.s.fleet.plants[0].plant_id
    assert all(code(a.get("plant/details", plantId=pid)) == 200 for _ in range(12))
    b = Api(make_simulator(qps_scale=2.0))
    b.login()
    codes = [code(b.get("plant/details", plantId=pid)) for _ in range(12)]
    assert codes[:10] == [200] * 10 and 10006 in codes[10:]


# --- windows and bad input ----------------------------------------------------------------------


def test_minute_window_rules(free):
    sn = free.s.fleet.devices[0].sn
    ok = free.upload_data(sn, "2025-06-01 00:00:00", "2025-06-02 00:00:00")
    assert ok["code"] == 200
    too_long = free.upload_data(sn, "2025-06-01 00:00:00", "2025-06-02 00:05:00")
    assert too_long["code"] == 10006 and "24 hours" in too_long["msg"] and too_long["data"] is None
    days = free.upload_data(sn, "2025-06-01 00:00:00", "2025-08-02 00:05:00", time_unit=1)
    assert days["code"] == 200 and len(days["data"]["data"]) == 63


@pytest.mark.parametrize(
    "params,expect",
    [
        ({"startTime": "2025-06-01", "endTime": "2025-06-01 10:00:00", "timeUnit": 0}, 10006),
        ({"startTime": "2025-06-01 10:00:00", "endTime": "2025-06-01 09:00:00", "timeUnit": 0}, 10006),
        ({"startTime": "2025-13-01 00:00:00", "endTime": "2025-13-01 01:00:00", "timeUnit": 0}, 10006),
        ({"startTime": "2025-06-01 00:00:00", "endTime": "2025-06-01 01:00:00", "timeUnit": 7}, 10006),
        ({"startTime": "2025-06-01 00:00:00", "endTime": "2025-06-01 01:00:00"}, 10006),
        ({"endTime": "2025-06-01 01:00:00", "timeUnit": 0}, 10006),
    ],
)
def test_bad_parameters_answer_10006(free, params, expect):
    b = free.get("device/uploadData", deviceSn=free.s.fleet.devices[0].sn, **params)
    assert b["code"] == expect and b["msg"].startswith("parameter error") and b["data"] is None


def test_unknown_device_or_plant(free):
    app = free.s.fleet.app_id
    msg = f"App {app} do not match. Unauthorized access to data"
    unknown = free.upload_data("R5X0000J0000E00000", "2025-06-01 00:00:00", "2025-06-01 01:00:00")
    assert unknown == {"code": 200015, "msg": msg, "data": None}
    assert free.get("plant/details", plantId="12345678901") == {"code": 200015, "msg": msg, "data": None}
    st = free.get("plant/getPlantStatisticsData", plantId="12345678901", clientDate="2025-06-01 12:00:00")
    assert st == {"code": 200015, "msg": msg, "data": None}
    assert free.get("device/emsRealtimeDataCommon", emsSn="M0000X0000000000") == {
        "code": 200015,
        "msg": msg,
        "data": None,
    }


def test_garbage_never_yields_a_stack_trace(free):
    weird = ["", " ", "%", "0", "-1", "9" * 30, "null", "2025-02-30 00:00:00", "😀", "' OR 1=1 --"]
    for ep, (method, _) in ENDPOINTS.items():
        for w in weird:
            params = {
                "appId": w,
                "plantId": w,
                "deviceSn": w,
                "startTime": w,
                "endTime": w,
                "timeUnit": w,
                "clientDate": w,
                "pageNum": w,
                "pageSize": w,
                "alarmCommonState": w,
                "alarmDeviceType": w,
                "status": w,
                "alarmLevel": w,
                "emsSn": w,
                "deviceSns": w,
            }
            if method == "GET":
                r = free.raw(ep, **params)
            else:  # a body that is no JSON, or JSON with garbage values
                body = w.encode() if w.strip() else json.dumps({"appKey": w, "credentials": w}).encode()
                r = free.http.post(free.url(ep), data=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 200
            b = r.json()
            assert isinstance(code(b), int) and code(b) != 200, (ep, w, b)
            assert "Traceback" not in r.text
    # the unknown endpoint is a 404
    assert free.raw("device/nothing").status_code == 404


# --- envelopes ----------------------------------------------------------------------------------


def test_default_envelopes_and_typing(free):
    """Every answer in the real responses' code-200 shape; numbers typed as the fixtures type them."""
    fl = free.s.fleet
    p0 = next(p for p in fl.plants if p.plant_type == 0)
    st = free.get("plant/getPlantStatisticsData", plantId=p0.plant_id, clientDate="2025-06-01 12:00:00")
    assert (st["code"], st["msg"]) == (200, "request success") and "errCode" not in st
    assert all(isinstance(st["data"][k], str) for k in st["data"] if k.endswith("Energy"))
    det = free.get("plant/details", plantId=p0.plant_id)["data"]
    assert det["timeZone"] == p0.time_zone and det["isInstallMeter"] in (0, 1)
    assert {p.time_zone for p in fl.plants} >= {"Europe/Berlin", "Australia/Sydney", "Asia/Kuala_Lumpur", "PRC"}
    lst = free.get("plant/getPlantAllDeviceList", plantId=p0.plant_id, userId="")["data"]
    assert [i["inverterData"]["deviceSn"] for i in lst if i["deviceType"] == 1] == [d.sn for d in p0.devices]
    for dev in (next(d for d in fl.devices if d.device_type == t) for t in (0, 1, 2)):
        raw = free.raw("device/realtimeDataCommon", deviceSn=dev.sn).text
        assert raw.startswith('{"code":200,"msg":"request success","data":{')
        assert raw.count('"tOutPowerWatt"') == 2 and '"pv1volt"' in raw
        rt = json.loads(raw)["data"]
        assert all(isinstance(v, (str, int, bool, list)) for v in rt.values())
        assert rt["invTime"].endswith("Z") and len(rt["dataTime"]) == 19
    alarms = free.get("device/alarmList", appId=fl.app_id)
    assert alarms["code"] == 200 and isinstance(alarms["data"], list)
    r6 = next(d for d in fl.devices if d.model == "R6")
    pts = free.upload_data(r6.sn, "2025-06-01 12:00:00", "2025-06-01 12:30:00")["data"]["data"]
    assert pts and all(isinstance(v, str) for p in pts for v in p.values())
    r5 = next(d for d in fl.devices if d.model == "R5")
    pts = free.upload_data(r5.sn, "2025-06-01 12:00:00", "2025-06-01 12:30:00")["data"]
    assert pts["total"] is None and isinstance(pts["data"][0]["power"], int) and "pv1Volt" in pts["data"][0]


@pytest.mark.parametrize(
    "style,head",
    [
        ("code0", {"code": 0, "msg": ""}),
        ("errCode", {"errCode": 0, "errMsg": ""}),
        ("errCodeText", {"errCode": "0", "errMsg": ""}),
    ],
)
def test_envelope_variants_on_request(make_simulator, style, head):
    """The reference's other shapes, per endpoint, for success and errors alike; the rest stays code 200."""
    a = Api(
        make_simulator(limits=False, envelopes={"plant/getPlantStatisticsData": style, "developer/plant/page": style})
    )
    a.login()
    fl = a.s.fleet
    pid = fl.plants[1].plant_id
    ok = a.get("plant/getPlantStatisticsData", plantId=pid, clientDate="2025-06-01 12:00:00")
    assert {k: ok[k] for k in head} == head and set(ok) == set(head) | {"data"} and ok["data"]["plantUid"]
    err = a.get("plant/getPlantStatisticsData", plantId=pid)
    assert set(err) == set(head) | {"data"} and int(code(err)) == 10006 and err["data"] is None
    page = a.get("developer/plant/page", appId=fl.app_id)
    assert set(page) == set(head) | {"total", "rows", "totalPage"} and page["total"] == len(fl.plants)
    assert a.get("plant/details", plantId=pid)["code"] == 200


def test_reference_envelopes_and_the_admin_switch(make_simulator):
    s = make_simulator(limits=False, envelopes=REFERENCE_ENVELOPES)
    a = Api(s)
    a.login()
    fl = s.fleet
    storage = next(d for d in fl.devices if d.device_type == 1)
    rt = a.raw("device/realtimeDataCommon", deviceSn=storage.sn).text
    assert rt.startswith('{"errCode":"0","errMsg":"","data":{')
    assert a.get("device/alarmList", appId=fl.app_id)["code"] == 0
    mon = next(p for p in fl.plants if p.module_sn)
    meter = a.meter_data(mon, "2025-06-01 10:00:00", "2025-06-01 11:00:00")
    assert isinstance(meter, list) and len(meter) == 13 and meter[0]["sn"]  # the bare list of the example
    too_long = a.meter_data(mon, "2025-06-01 10:00:00", "2025-06-01 13:00:00")
    assert too_long == {"code": 10006, "msg": "parameter error: time span exceeds 2 hours", "data": None}
    admin = s.admin_url + "/saj/envelopes"
    assert requests.get(admin).json() == REFERENCE_ENVELOPES
    assert requests.post(admin, json={"device/alarmList": "bogus"}).status_code == 400
    assert requests.post(admin, json={"device/nothing": "code0"}).status_code == 400
    assert requests.post(admin, json={}).json() == {"ok": True, "envelopes": {}}
    assert a.get("device/alarmList", appId=fl.app_id)["code"] == 200
    with pytest.raises(ValueError):
        SimulatorServer(fl, envelopes={"device/alarmList": "xml"})


def test_sec_data_without_monitor_and_at_night(free):
    fl = free.s.fleet
    none = next(p for p in fl.plants if not p.has_load_monitor)
    b = free.sec_data(none.plant_id, "2025-06-01 00:00:00", "2025-06-01 23:59:59")
    assert b == {"code": 10021, "msg": "plant has not been bound with load monitoring", "data": None}
    mon = next(p for p in fl.plants if p.has_load_monitor)
    night = free.sec_data(mon.plant_id, "2025-06-01 00:00:00", "2025-06-01 03:00:00")["data"]["dataList"][0]
    assert len(night["data"]) == 37 and all(pt["pvPower"] == 0 < pt["loadPower"] for pt in night["data"])
    assert night["total"]["loadEnergy"] > 0 and night["total"]["pvEnergy"] == 0
    day = free.sec_data(mon.plant_id, "2025-06-01 00:00:00", "2025-06-01 23:59:59")["data"]["dataList"][0]
    assert day["moduleSn"] == mon.module_sn and len(day["data"]) > 200
    for combo in [(t, m) for t in (0, 1, 3) for m in (False, True)]:
        assert any((p.plant_type, p.has_load_monitor) == combo for p in fl.plants)


def test_alarms(free):
    fl = free.s.fleet
    alarms = fl.alarms()
    assert any(a.ended_at is None for a in alarms) and any(a.ended_at is not None for a in alarms)
    assert any(a.ended_at and a.ended_at - a.started_at > timedelta(days=1) for a in alarms)
    pending = free.get("device/alarmList", appId=fl.app_id)
    assert pending["code"] == 200
    assert {a["deviceSn"] for a in pending["data"]} == {a.device_sn for a in alarms if a.ended_at is None}
    a = next(a for a in alarms if a.ended_at is not None and a.started_at > fl.now - timedelta(days=80))
    rec = free.get("device/getDeviceAlarmList", deviceSn=a.device_sn, alarmCommonState=3, alarmDeviceType=1)
    row = next(r for r in rec["data"] if r["alarmID"] == a.alarm_id)
    assert row["alarmStartTime"] == a.started_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["alarmUpdateTime"] == a.ended_at.strftime("%Y-%m-%dT%H:%M:%SZ") and row["alarmState"] == 4
    local = a.started_at.astimezone(fl.zone(fl.plant(a.plant_id))).strftime("%Y-%m-%d %H:%M:%S")
    win = free.get("device/alarmList", deviceSn=a.device_sn, startTime=local, endTime=local, status="1,4")
    assert [(r["alarmCode"], r["alarmTime"], r["status"]) for r in win["data"]] == [(a.alarm_code, local, 4)]


# --- faults -------------------------------------------------------------------------------------


def test_faults_5xx_10001_truncate(make_simulator):
    s = make_simulator(limits=False, faults=Faults(seed=1, http_5xx_rate=1.0))
    a = Api(s)
    assert a.http.get(a.url("access_token"), params={}).status_code >= 500
    s.set_faults(Faults(seed=1, code_10001_rate=1.0))
    a.login()
    b = a.get("plant/details", plantId=s.fleet.plants[0].plant_id)
    assert b == {"code": 10001, "msg": "System error, please try again later", "data": None}
    s.set_faults(Faults(seed=1, truncate_rate=1.0))
    r = a.raw("plant/details", plantId=s.fleet.plants[0].plant_id)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)
    st = s.stats()
    assert st["http_errors"]["access_token"] == 1 and st["truncated"]["plant/details"] == 1


def test_data_faults_and_offline(make_simulator):
    s = make_simulator(limits=False)
    a = Api(s)
    a.login()
    fl = s.fleet
    dev = next(d for d in fl.devices if d.device_type == 1)
    q = dict(deviceSn=dev.sn, startTime="2025-06-01 10:00:00", endTime="2025-06-01 12:00:00", timeUnit=0)
    clean = a.get("device/uploadData", **q)["data"]["data"]
    s.set_faults(Faults(seed=3, duplicate_sample_rate=0.3, missing_field_rate=0.2, wrong_type_rate=0.2))
    dirty = a.get("device/uploadData", **q)["data"]["data"]
    assert len(dirty) > len(clean)
    assert any(len(p) < len(clean[0]) for p in dirty)
    assert any(isinstance(v, str) for p in dirty for k, v in p.items() if k != "dataTime")
    zone = fl.zone(fl.plant(dev.plant_id))
    t0 = datetime(2025, 6, 1, 10, 30, tzinfo=zone).astimezone(timezone.utc)
    s.set_faults(Faults(offline={dev.sn: [(t0, t0 + timedelta(minutes=30))]}))
    gap = a.get("device/uploadData", **q)["data"]["data"]
    assert len(gap) == len(clean) - 6
    truth = fl.device_day(dev.sn, date(2025, 6, 1))
    assert int((~truth.reported).sum()) >= 6
    assert a.upload_data(dev.sn, "2025-06-01 10:30:00", "2025-06-01 10:55:00")["data"]["data"] == []
    s.set_faults(Faults())
    assert fl.device_day(dev.sn, date(2025, 6, 1)).reported.sum() == truth.reported.sum() + 6


def test_late_data_and_the_future(make_simulator):
    s = make_simulator(limits=False)
    a = Api(s)
    a.login()
    fl = s.fleet
    dev = fl.devices[0]
    zone = fl.zone(fl.plant(dev.plant_id))
    now_local = fl.now.astimezone(zone).replace(tzinfo=None)
    q = dict(
        deviceSn=dev.sn,
        startTime=(now_local - timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
        endTime=(now_local + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
        timeUnit=0,
    )
    on_time = a.get("device/uploadData", **q)["data"]["data"]
    assert on_time[-1]["dataTime"] <= (now_local - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    s.set_faults(Faults(late_s=3600))
    late = a.get("device/uploadData", **q)["data"]["data"]
    assert len(on_time) - len(late) == 12
    s.set_faults(Faults())


def test_served_log_is_byte_exact(make_simulator):
    s = make_simulator(limits=False)
    a = Api(s)
    a.login()
    got = [a.raw("plant/details", plantId=p.plant_id).content for p in s.fleet.plants]
    got.append(a.raw("device/realtimeDataCommon", deviceSn=s.fleet.devices[0].sn).content)
    served = s.served()
    assert [x["body"] for x in served[1:]] == got
    assert served[0]["endpoint"] == "access_token" and served[1]["params"] == {"plantId": s.fleet.plants[0].plant_id}
    assert s.stats()["served_responses"] == len(got) + 1
    s.reset_stats()
    assert s.served() == [] and s.stats()["requests"] == {}


def test_admin_http(make_simulator):
    s = make_simulator()
    base = s.base_url.replace("/prod-api", "/admin")
    fl = requests.get(base + "/fleet").json()
    assert fl["app_id"] == s.fleet.app_id and len(fl["plants"]) == 6
    p = s.fleet.plants[1]
    rows = requests.get(base + "/truth/plant", params={"plantId": p.plant_id, "day": "2025-06-01"}).json()
    assert len(rows) == 288 and rows[0]["ts_local"] == "2025-06-01 00:00:00"
    sn = next(d.sn for d in s.fleet.devices if d.device_type == 0)
    rows = requests.get(base + "/truth/device", params={"sn": sn, "day": "2025-06-01"}).json()
    assert rows[0]["load_w"] is None and isinstance(rows[0]["pv_w"], int)
    assert isinstance(requests.get(base + "/truth/alarms").json(), list)
    r = requests.post(base + "/faults", json={"code_10001_rate": 1.0, "seed": 4})
    assert r.status_code == 200 and s.faults.code_10001_rate == 1.0
    assert requests.post(base + "/faults", json={"bogus": 1}).status_code == 400
    requests.post(base + "/faults", json={})
    assert requests.get(base + "/stats").json()["tokens_issued"] == 0
    assert requests.post(base + "/reset").json() == {"ok": True}


def test_cli_serves_until_stopped():
    fleet = ["--plants", "2", "--seed", "3", "--no-limits", "--now", "2025-06-01T12:00:00Z", "--tou"]
    shapes = ["--reference-envelopes", "--envelope", "device/alarmList=errCode"]
    order = ["--stamp-order", "--sample-order", "device/secData=time"]
    with serving(*fleet, *shapes, *order) as proc:
        lines = [proc.stdout.readline() for _ in range(6)]
        base = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("base URL"))
        app = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("appId"))
        assert "test credential" in lines[4]
        secret = lines[4].split(":", 1)[1].split()[0]
        r = requests.get(f"{base}/open/api/access_token", params={"appId": app, "appSecret": secret}, timeout=5)
        assert r.json()["code"] == 200
        key, cred = lines[5].split()[3], lines[5].split()[5]
        auth = requests.post(
            f"{base}/open/api/developer/auth/plantAuthByOpenapiKey",
            json={"appKey": key, "credentials": cred},
            timeout=5,
        ).json()
        assert auth["code"] == 200 and len(auth["data"]["authSuccessPlantId"]) == 2
        token = {"accessToken": r.json()["data"]["access_token"]}
        alarms = requests.get(f"{base}/open/api/device/alarmList", params={"appId": app}, headers=token, timeout=5)
        assert alarms.json()["errCode"] == 0  # --envelope after --reference-envelopes (which says code 0)
        admin = base.removesuffix("/prod-api") + "/admin"
        assert requests.get(f"{admin}/fleet", timeout=5).json()["tou"] is True
        order = requests.get(f"{admin}/saj/sample-order", timeout=5).json()
        assert order == {**dict.fromkeys(ordering.ENDPOINTS, "stamp"), "device/secData": "time"}


def test_far_future_and_repeated_hour_windows(free):
    fl = free.s.fleet
    sn = fl.devices[0].sn
    far = free.upload_data(sn, "2031-06-01 00:00:00", "2031-06-01 23:00:00")
    assert far["code"] == 200 and far["data"]["data"] == []
    berlin = next(p for p in fl.plants if p.time_zone == "Europe/Berlin")
    rep = free.upload_data(berlin.devices[0].sn, "2025-10-26 02:00:00", "2025-10-26 02:59:59")["data"]["data"]
    assert [p["dataTime"][11:16] for p in rep] == [f"02:{m:02d}" for m in range(0, 60, 5)] * 2
    across = free.upload_data(sn, "2025-06-01 12:00:00", "2025-06-02 11:55:00")["data"]["data"]
    assert len(across) == 288 and across[0]["dataTime"] == "2025-06-01 12:00:00"
