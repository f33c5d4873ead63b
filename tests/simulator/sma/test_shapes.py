"""Every answer has the shape of the captured real one: wrappers, keys, JSON types, time format."""

from __future__ import annotations

import re
from datetime import date

from .conftest import fixture

DAY = date(2025, 11, 2)
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")  # no offset, as captured


def shape(v):
    """The JSON type tree of a value: dicts by key, lists by the union of their items."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        merged = None
        for x in v:
            merged = _merge(merged, shape(x))
        return [merged] if v else []
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def _merge(a, b):
    """Union of two shapes: keys of both dicts; an empty list gives way to a filled one."""
    if a is None or a == []:
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b[k]) if k in b else a[k] for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return b if not a else [_merge(a[0], b[0])] if b else a
    return a


def types_of(row: dict) -> dict:
    return {k: shape(v) for k, v in row.items()}


def test_token_answer_has_the_captured_keys_without_a_refresh_token(make_sma):
    sma = make_sma()
    want = fixture("oauth2_token_authorization_code_offline_access.json")
    r = sma.http.post(
        sma.s.auth_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sma.info["client_id"], sma.info["client_secret"]),
    )
    got = r.json()
    # client credentials: no refresh token, no user session; everything else as captured
    assert set(got) == set(want) - {"refresh_token", "session_state"}
    assert {k: shape(v) for k, v in got.items()} == {k: shape(want[k]) for k in got}
    assert got["expires_in"] == 300 and got["refresh_expires_in"] == 0 and got["token_type"] == "Bearer"
    assert "monitoringApi:read" in got["scope"].split(" ")
    assert got["access_token"].startswith("eyJ") and got["access_token"].count(".") == 2  # JWT-shaped
    assert r.headers["Cache-Control"] == "no-store"


def test_plants_list_and_plant_like_the_captures(sma):
    want = fixture("v1_plants.json")
    got = sma.ok("/v1/plants")
    assert list(got) == ["plants"] and len(got["plants"]) == 6
    full = shape(want["plants"][0])
    for p in got["plants"]:
        s = shape(p)
        if p["installation"]["orientation"] == {}:  # "not configured", as the captured Site 2
            assert p["installation"]["peakPower"] == 0.0 and p["installation"]["acNominalPower"] == 0.0
            s["installation"]["orientation"] = full["installation"]["orientation"]
        assert s == full
        assert STAMP.match(p["installation"]["startUpUtc"])
    assert any(p["installation"]["orientation"] == {} for p in got["plants"])
    ids = [p["plantId"] for p in got["plants"]]
    guid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
    assert {bool(guid.match(i)) for i in ids} == {True, False}  # classic GUIDs beside ennexOS digits
    assert all(i.isdigit() for i in ids if not guid.match(i))
    one = sma.ok(f"/v1/plants/{ids[0]}")
    assert types_of(one) == types_of(fixture("v1_plants_plantId.json"))
    assert all(p["timezone"] != "PRC" for p in got["plants"])  # canonical IANA names


def test_lean_device_list_like_the_capture(sma):
    want = fixture("v1_plants_plantId_devices_lean.json")["devices"]
    inverter = next(d for d in want if d.get("generatorPower"))
    other = next(d for d in want if d["type"] == "Monitoring and control" and "serial" in d)
    for i in range(6):
        got = sma.ok(f"/v1/plants/{sma.plant(i)['plantId']}/devices/lean")
        assert list(got) == ["devices"]
        for d in got["devices"]:
            assert types_of(d) == types_of(inverter if "generatorPower" in d else other)
            assert d["isActive"] is True
    types = {
        d["type"] for i in range(6) for d in sma.ok(f"/v1/plants/{sma.plant(i)['plantId']}/devices/lean")["devices"]
    }
    assert types == {"Solar Inverters", "Battery Inverter", "Monitoring and control"}


def test_sets_of_a_device_like_the_capture(sma):
    want = fixture("v1_devices_deviceId_measurements_sets.json")
    pv = sma.devices(0, "pv")[0]["deviceId"]
    got = sma.ok(f"/v1/devices/{pv}/measurements/sets")
    assert shape(got) == shape(want)
    assert sorted(got["sets"]) == sorted(want["sets"])  # a PV inverter offers what the captured one does


def test_pv_series_like_the_captures_in_both_units(sma):
    pv = sma.devices(2, "pv")[0]["deviceId"]
    for energy, name in (
        (False, "v1_devices_EnergyAndPowerPv_Day.json"),
        (True, "v1_devices_EnergyAndPowerPv_Day_ReturnEnergyValues.json"),
    ):
        want, got = fixture(name), sma.device_set(pv, "EnergyAndPowerPv", DAY, energy)
        assert shape(got) == shape(want)
        assert got["resolution"] == "FiveMinutes" and got["setType"] == "EnergyAndPowerPv"
        assert all(STAMP.match(r["time"]) for r in got["set"])
        values = [r["pvGeneration"] for r in got["set"]]
        assert all(isinstance(v, float) for v in values)
        if energy:
            assert all(v == int(v) for v in values)  # whole Wh written as x.0, as captured


def test_power_ac_has_only_the_captured_properties(sma):
    want = fixture("v1_devices_PowerAc_Day.json")
    captured = set(shape(want)["set"][0])
    for i in range(6):
        for d in sma.devices(i, "pv") + sma.devices(i, "hybrid"):
            got = sma.device_set(d["deviceId"], "PowerAc", DAY, False)
            assert {k: v for k, v in shape(got).items() if k != "set"} == {
                k: v for k, v in shape(want).items() if k != "set"
            }
            for row in got["set"]:
                assert set(row) <= captured and {"time", "activePower", "gridFrequency", "voltagePhaseA"} <= set(row)


def test_power_ac_of_a_three_phase_inverter_carries_every_captured_property(sma):
    stp = sma.devices(5, "pv")[0]  # a classic Sunny Tripower
    assert stp["product"].startswith("STP ")
    got = sma.device_set(stp["deviceId"], "PowerAc", DAY, False)
    assert shape(got)["set"][0] == shape(fixture("v1_devices_PowerAc_Day.json"))["set"][0]
    noon = max(got["set"], key=lambda r: r["activePower"])
    assert noon["currentPhaseA"] == noon["currentPhaseB"] == noon["currentPhaseC"] > 0


def test_power_dc_like_the_captured_full_day_with_its_night_quirk(sma):
    want = fixture("v1_devices_PowerDc_Day_full_day.json")
    pv = sma.devices(3, "pv")[0]["deviceId"]
    got = sma.device_set(pv, "PowerDc", DAY, False)
    assert shape(got) == shape(want)
    assert got["set"][-1]["time"] == "2025-11-03T00:00:00"
    for row in got["set"]:
        for key in ("dcPowerInput", "dcVoltageInput", "dcCurrentInput"):
            assert row[key] == [] or [x["index"] for x in row[key]] == ["A", "B"]
    # as captured at 02:45 and 20:45: empty arrays, and isolationResistance left out (not null)
    odd = [r for r in got["set"] if r["dcPowerInput"] == []]
    assert odd and all(set(r) == {"time", "dcPowerInput", "dcVoltageInput", "dcCurrentInput"} for r in odd)
    assert all(
        r.get("isolationResistance") == 3_000_000.0
        for r in got["set"]
        if r["dcPowerInput"] and r["dcPowerInput"][0]["value"] == 0
    )


def test_energy_balance_wraps_rows_like_the_device_sets(sma):
    got = sma.balance(1, DAY, True)
    assert list(got) == ["plant", "setType", "resolution", "set"]
    assert types_of(got["plant"]) == types_of(fixture("v1_devices_EnergyAndPowerPv_Day.json")["plant"])
    assert got["setType"] == "EnergyBalance" and got["resolution"] == "FifteenMinutes"
    assert all(
        STAMP.match(r["time"]) and all(isinstance(v, float) for k, v in r.items() if k != "time") for r in got["set"]
    )
    plant_sets = sma.ok(f"/v1/plants/{sma.plant(1)['plantId']}/measurements/sets")
    assert plant_sets["sets"] == ["EnergyBalance"]
