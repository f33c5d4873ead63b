"""Reliability at the edges: hostile identifiers from the API, partition keys outside the set, a clientDate in the
future, an empty fleet, missing or wrong credentials."""

import json
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pytest

from pipelines.resources import build_resources
from pipelines.sources.saj.client import parse_time
from tests.support import (
    ALL_ASSETS,
    DEVICE_PATH,
    compare_device_day,
    materialize,
    query,
    raw,
    refusals,
    resources,
    run,
    select,
)

DAY = date(2025, 9, 1)
HOSTILE = ["../../outside", "a/b", "R5'; DROP TABLE device_samples; --", 'x"y', "..", "C:\\evil"]


def _failure(result):
    event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return event.step_key, str(event.event_specific_data.error)


def _wrap(server, name, edit):
    original = getattr(server, name)

    def handler(app, params):
        body, code = original(app, params)
        payload = json.loads(body)
        edit(payload, params)
        return json.dumps(payload).encode(), code

    setattr(server, name, handler)


@pytest.mark.parametrize("bad", HOSTILE)
def test_a_hostile_plant_id_is_refused_by_name_and_the_rest_is_landed(make_simulator, tmp_path, bad):
    server = make_simulator(plants=2, limits=False)
    _wrap(server, "_ep_developer_plant_page", lambda p, _: p["rows"].append({"plantId": bad, "plantName": "x"}))
    result = materialize(server, tmp_path / "data", DAY, assets=select(DEVICE_PATH), raise_on_error=False)
    assert result.success  # one bad plant does not stop the fleet
    message = refusals(result)["saj/raw_plants"]
    assert repr(bad) in message and "not a plain identifier" in message
    landed = {row["plant_id"] for row in raw(tmp_path / "data", "raw_plants", DAY).to_pylist()}
    assert {p.plant_id for p in server.fleet.plants} <= landed and bad not in landed
    assert not any(e["params"].get("plantId") == bad for e in server.served())  # never sent to the API either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # nothing written outside the data dir
    assert all(".." not in p.parts for p in (tmp_path / "data").rglob("*"))


def test_a_hostile_device_sn_is_refused_and_the_other_devices_reach_the_warehouse(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    bad = HOSTILE[2]

    def add_device(payload, params):
        if params.get("plantId") == server.fleet.plants[0].plant_id:
            payload["data"].append(
                {
                    "deviceType": 1,
                    "inverterData": {"deviceSn": bad, "type": 0, "deviceModel": "R5"},
                    "sn": "",
                    "sort": 0,
                }
            )

    _wrap(server, "_ep_plant_getPlantAllDeviceList", add_device)
    result = materialize(server, tmp_path, DAY, raise_on_error=False)
    assert result.success  # the models run on what was landed, in the same run
    assert {"saj/raw_upload_data", "saj/raw_alarms"} <= refusals(result).keys()
    assert repr(bad) in refusals(result)["saj/raw_upload_data"]
    assert not any(e["params"].get("deviceSn") == bad for e in server.served())
    # every real device equals the truth, the tables are intact
    assert compare_device_day(server.fleet, tmp_path, DAY)["complete"] == 72
    devices = query(tmp_path, "SELECT device_sn FROM devices ORDER BY 1").device_sn.tolist()
    assert set(devices) >= {d.sn for d in server.fleet.devices}  # stored as a value at most, never run as SQL
    assert query(tmp_path, "SELECT count(*) AS n FROM device_samples").n[0] > 0


@pytest.mark.parametrize("key", ["2024-12-31", "2999-01-01", "2025-13-01", "../../etc"])
def test_a_partition_key_outside_the_set_is_refused_before_any_call(make_simulator, tmp_path, key):
    server = make_simulator(plants=2, limits=False)
    with pytest.raises(Exception) as info:
        dg.materialize(ALL_ASSETS, partition_key=key, resources=resources(server, tmp_path))
    assert key in str(info.value)
    assert server.stats()["requests"] == {} and not (tmp_path / "lake").exists()


def test_statistics_are_never_asked_for_a_client_date_in_the_future(make_simulator, tmp_path):
    # The simulator on the real clock; today's partition is landed while the day is under way.
    now = datetime.now(timezone.utc)
    server = make_simulator(plants=2, limits=False, now=None, start_date=now.date() - timedelta(days=20))
    day = now.date()
    assets = select({"saj/raw_plants", "saj/raw_plant_statistics"})
    assert materialize(server, tmp_path, day, assets=assets).success
    rows = raw(tmp_path, "raw_plant_statistics", day).to_pylist()
    assert len(rows) == 2
    for row in rows:
        plant = server.fleet.plant(row["plant_id"])
        client_date = parse_time(json.loads(row["request_params"])["clientDate"])
        local_now = datetime.now(server.fleet.zone(plant)).replace(tzinfo=None)
        assert client_date <= local_now and client_date <= datetime.combine(day, datetime.max.time())
        truth = server.fleet.plant_day(plant.plant_id, day)
        before = truth[(truth.ts_local < client_date) & truth.reported]
        today_pv = float(json.loads(row["body"])["data"]["todayPvEnergy"])
        assert today_pv == pytest.approx(float(before.pv_kwh.sum()), abs=0.02)


def test_an_empty_fleet_builds_empty_tables_and_says_so(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    for name in ("_ep_developer_plant_page", "_ep_developer_device_page"):
        _wrap(server, name, lambda p, _: (p.__setitem__("rows", []), p.__setitem__("total", 0)))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(server, tmp_path, DAY, instance=instance)
    assert result.success
    for table in ("plants", "devices", "device_samples", "device_energy_hourly", "plant_energy_hourly"):
        assert query(tmp_path, f"SELECT count(*) AS n FROM {table}").n[0] == 0
    warnings = [e.message for e in instance.all_logs(result.run_id) if e.level >= 30]
    assert any("no plants" in w for w in warnings), warnings


def test_missing_credentials_name_the_variables(make_simulator, tmp_path, monkeypatch):
    server = make_simulator(plants=2, limits=False)
    monkeypatch.delenv("SAJ_APP_ID", raising=False)
    monkeypatch.delenv("SAJ_APP_SECRET", raising=False)
    result = materialize(
        server, tmp_path, DAY, assets=select({"saj/raw_plants"}), app_id="", app_secret="", raise_on_error=False
    )
    _, message = _failure(result)
    assert "No vendor is configured" in message and "saj: SAJ_APP_ID and SAJ_APP_SECRET" in message
    # from the environment (the code location's resources): the same, and the code location still loads
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path))
    result = run(
        select({"saj/raw_plants"}), partition_key=DAY.isoformat(), resources=build_resources(), raise_on_error=False
    )
    assert "SAJ_APP_ID and SAJ_APP_SECRET" in _failure(result)[1]
    assert server.stats()["requests"] == {}


def test_wrong_credentials_give_the_server_code_and_what_to_do(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    wrong = "WRONG-SECRET-0123456789"
    result = materialize(
        server, tmp_path, DAY, assets=select({"saj/raw_plants"}), app_secret=wrong, raise_on_error=False
    )
    _, message = _failure(result)
    assert "code 100009" in message and "check SAJ_APP_ID and SAJ_APP_SECRET" in message
    assert wrong not in message
    assert raw(tmp_path, "raw_plants", DAY) is None  # nothing half-landed
