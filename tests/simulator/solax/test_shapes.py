"""The stand-in's bodies against the real ones (../shared/fixtures/solax-cloud-api): keys, key order, types,
nulls, envelopes and error bodies, v2 and v1."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests

from simulator import Faults
from tests.support import shared_fixture

from .conftest import V1, V2, Cloud, epoch


def fixture(name: str) -> dict:
    return shared_fixture("solax-cloud-api", name)


def by_role(server, role, meter=None):
    return next(d for d in server.dongles if d.role == role and (meter is None or d.meter == meter))


def types(result: dict) -> dict:
    return {k: type(v).__name__ for k, v in result.items()}


def test_v2_body_is_the_captured_one(cloud):
    real = fixture("v2_realtimeInfo_get_success_2026-02-17.json")
    for d in cloud.s.dongles:
        body = cloud.poll(d.wifi_sn)
        assert list(body) == list(real) and body["success"] is True and body["code"] == 0
        assert body["exception"] == "operation success"
        assert list(body["result"]) == list(real["result"])
        res = body["result"]
        assert res["sn"] == d.wifi_sn and res["inverterSN"] == d.inverter_sn
        # numbers are JSON floats (written with .0), codes are strings, timestamps as captured
        for k in ("acpower", "yieldtoday", "yieldtotal", "feedinpower", "feedinenergy", "consumeenergy"):
            assert isinstance(res[k], float), k
        assert res["inverterType"].isdigit() and res["inverterStatus"] in {"100", "102", "103"}
        datetime.strptime(res["uploadTime"], "%Y-%m-%d %H:%M:%S")
        assert res["utcDateTime"].endswith("Z")
    # a grid-tied inverter without a meter: nulls and zeros exactly where the capture has them
    plain = cloud.poll(by_role(cloud.s, "pv", meter=False).wifi_sn)["result"]
    nulls = {k for k, v in real["result"].items() if v is None}
    assert {k for k, v in plain.items() if v is None} == nulls
    assert types(plain) == types(real["result"])
    assert plain["feedinpower"] == plain["feedinenergy"] == plain["consumeenergy"] == 0.0


def test_v1_body_is_the_late_2023_one(cloud):
    real = fixture("v1_getRealtimeInfo_success_2023-11-28_x1-hybrid-g4.json")
    d = by_role(cloud.s, "hybrid")
    body = cloud.poll_v1(d.wifi_sn)
    assert list(body) == list(real) and body["code"] == 0 and body["exception"] == "Query success!"
    assert list(body["result"]) == list(real["result"])  # no utcDateTime in v1
    assert types(body["result"]) == types(real["result"])  # the hybrid's X1 EPS: peps1 0.0, peps2/3 null
    assert body["result"]["batStatus"] == "0"
    assert body["result"]["inverterType"] == "15"  # X1-Hybrid-G4, as in the capture


def test_legacy_v1_bodies_are_the_2021_ones(make_solax):
    s = make_solax(limits=False, legacy_v1=True)
    cloud = Cloud(s)
    real = fixture("v1_getRealtimeInfo_success_2021-11-15_x1-boost.json")
    d = by_role(s, "pv", meter=False)
    body = cloud.poll_v1(d.wifi_sn)
    assert list(body) == ["exception", "result", "success"]  # no code, success last
    assert list(body["result"]) == list(real["result"])  # no batStatus
    # absent battery and EPS are 0.0, unused MPPTs stay null: null and 0 are not the same thing
    assert types(body["result"]) == types(real["result"])
    hybrid = cloud.poll_v1(by_role(s, "hybrid").wifi_sn)["result"]
    assert "batStatus" not in hybrid and hybrid["peps2"] == 0.0 and hybrid["powerdc3"] is None
    # v2 does not change
    assert list(cloud.poll(d.wifi_sn)) == ["success", "exception", "result", "code"]


def test_error_bodies_are_the_captured_ones(make_solax):
    s = make_solax(limits=True, per_minute=3, violations=2)  # the two error calls below count too
    cloud = Cloud(s)
    d = s.dongles[0]
    assert cloud.poll_v1(d.wifi_sn, token="not-the-token") == fixture(
        "v1_getRealtimeInfo_error_no_auth_without_code.json"
    )
    assert cloud.poll_v1("SXXXXXXXXX") == fixture("v1_getRealtimeInfo_error_sn_did_not_access.json")
    # the inverter's serial instead of the dongle's registration number: "no auth!"
    assert cloud.poll_v1(d.inverter_sn) == {"exception": "no auth!", "success": False}
    assert cloud.poll(d.wifi_sn)["success"] is True
    over = cloud.poll(d.wifi_sn)
    assert over == {
        "success": False,
        "exception": "Request calls within the current minute > threshold",
        "result": None,
        "code": 104,
    }
    locked = cloud.poll(d.wifi_sn)
    real = fixture("v1_getRealtimeInfo_error_lockout_one_hour.json")
    assert list(locked) == list(real) and locked["code"] == 1 and locked["tokenId"] == cloud.token
    assert {k: v for k, v in locked.items() if k != "tokenId"} == {k: v for k, v in real.items() if k != "tokenId"}
    assert cloud.poll_v1(d.wifi_sn) == locked  # the lock-out is the token's, whatever the form


def test_v2_errors(make_solax):
    s = make_solax(limits=False)
    cloud = Cloud(s)
    d = s.dongles[2]

    def err(code, exc):
        return {"success": False, "exception": exc, "result": None, "code": code}

    r = requests.post(s.base_url + V2, json={"wifiSn": d.wifi_sn}, timeout=5)  # no tokenId header
    assert r.json() == err(1001, "Interface Unauthorized")
    assert cloud.poll(d.wifi_sn, token="20240101000000123456789") == err(103, "token invalid!")
    assert cloud.poll("SXXXXXXXXX") == err(1003, "no auth!")
    assert cloud.poll(d.inverter_sn) == err(1003, "no auth!")
    for body in (b"", b"{", b'{"sn": "x"}', b'{"wifiSn": 5}', b'["x"]'):
        r = cloud.http.post(
            s.base_url + V2, headers={"tokenId": cloud.token, "Content-Type": "application/json"}, data=body, timeout=5
        )
        assert r.status_code == 200 and r.json() == err(1002, "Parameter validation failed"), body
    # revoked on the portal: the fleet's own token answers "token invalid!" until restored
    cloud.admin("/solax/config", "POST", json={"token_invalid": True})
    assert cloud.poll(d.wifi_sn) == err(103, "token invalid!")
    assert cloud.poll_v1(d.wifi_sn) == {"exception": "no auth!", "success": False}
    cloud.admin("/solax/config", "POST", json={"token_invalid": False})
    assert cloud.poll(d.wifi_sn)["success"] is True
    # a registered dongle that has not uploaded yet (the clock before the fleet's first day)
    cloud.move(now="2024-12-30T12:00:00Z")
    assert cloud.poll(d.wifi_sn) == err(2002, "Data not found")
    assert cloud.poll_v1(d.wifi_sn) == fixture("v1_getRealtimeInfo_error_sn_did_not_access.json")
    # wrong method or path: HTTP errors with a JSON body
    assert cloud.http.get(s.base_url + V2, headers={"tokenId": cloud.token}, timeout=5).status_code == 405
    assert cloud.http.post(s.base_url + V1, timeout=5).status_code == 405
    assert cloud.http.get(s.base_url + "/api/v2/other", timeout=5).status_code == 404
    codes = s.stats()["codes"]["api/v2/dataAccess/realtimeInfo/get"]
    assert codes[1003] == 2 and codes[1002] == 5 and codes[103] == 2 and codes[2002] == 1


def test_faults_5xx_generic_error_and_damaged_fields(make_solax):
    s = make_solax(limits=False, faults=Faults(seed=1, http_5xx_rate=1.0))
    cloud = Cloud(s)
    sn = s.dongles[0].wifi_sn
    r = cloud.post(sn)
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/html")
    assert s.stats()["http_errors"] == {"api/v2/dataAccess/realtimeInfo/get": 1}
    cloud.admin("/faults", "POST", json={"seed": 2, "code_10001_rate": 1.0})
    assert cloud.poll(sn) == {"success": False, "exception": "error", "result": None, "code": 2001}
    cloud.admin("/faults", "POST", json={"seed": 3, "missing_field_rate": 1.0, "wrong_type_rate": 1.0})
    good = set(fixture("v2_realtimeInfo_get_success_2026-02-17.json")["result"])
    damaged = [cloud.poll(sn)["result"] for _ in range(10)]
    assert all(len(set(res)) == len(good) - 1 for res in damaged)
    assert any(
        isinstance(v, (str, dict))
        and k not in ("inverterSN", "sn", "inverterType", "inverterStatus", "uploadTime", "utcDateTime")
        for res in damaged
        for k, v in res.items()
    )
    cloud.admin("/faults", "POST", json={"seed": 4, "truncate_rate": 1.0})
    with pytest.raises(ValueError):
        cloud.post(sn).json()


@pytest.mark.parametrize("zone", ["local", "utc"])
def test_upload_time_zone_and_the_repeated_hour(make_solax, zone):
    """uploadTime in the plant's wall clock (default) or UTC; utcDateTime always UTC. On a fall-back day a
    local uploadTime repeats: only utcDateTime orders the uploads."""
    s = make_solax(limits=False, upload_time_zone=zone, gaps=False)
    cloud = Cloud(s)
    d = next(x for x in s.dongles if x.plant.time_zone == "Europe/Berlin")
    cloud.move(now="2025-10-26T00:00:00Z")  # 02:00 CEST: the hour 02:00-03:00 comes twice
    seen = []
    for _ in range(24):
        cloud.move(advance_s=300)
        res = cloud.poll(d.wifi_sn)["result"]
        seen.append((res["uploadTime"], res["utcDateTime"]))
    utc = [epoch(u) for _, u in seen]
    assert all(b - a == 300 for a, b in zip(utc, utc[1:]))
    for up, u in seen:
        at = datetime.fromtimestamp(epoch(u), timezone.utc)
        want = at.astimezone(s.fleet.zone(d.plant)) if zone == "local" else at
        assert up == want.strftime("%Y-%m-%d %H:%M:%S")
    local = [up for up, _ in seen]
    if zone == "local":
        assert len(set(local)) == 12 and local[:12] == local[12:]
    else:
        assert len(set(local)) == 24
    assert cloud.admin("/solax/config")["upload_time_zone"] == zone
