"""The alarm sensor against the simulator: a new or closed alarm requests today's alarm assets."""

import json
from datetime import datetime, timezone

import dagster as dg
import pytest

from pipelines.core.lake import Lake, raw_table
from pipelines.sources.saj import sensors
from pipelines.sources.saj.sensors import open_alarm_keys, saj_open_alarms
from tests.support import resources as simulator_resources

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=timezone.utc)  # the simulator's frozen clock (conftest)


@pytest.fixture
def setup(make_simulator, tmp_path, monkeypatch, caplog):
    server = make_simulator(plants=6, seed=7)
    monkeypatch.setattr(sensors, "utc_now", lambda: NOW)
    resources = simulator_resources(server, tmp_path)
    return server, resources


def _tick(resources, cursor):
    with dg.build_sensor_context(cursor=cursor, resources=resources) as ctx:
        data = saj_open_alarms.evaluate_tick(ctx)
        return data, ctx.cursor


def test_first_poll_then_unchanged_then_opened_and_closed(setup, caplog):
    server, resources = setup
    data, cursor = _tick(resources, None)
    (request,) = data.run_requests
    open_now = json.loads(cursor)["open"]
    assert open_now, "the simulated fleet has alarms still open"
    # today for every plant of the (unknown yet) fleet, as one range; the fleet assets too, since none is landed
    assert (
        request.tags["dagster/asset_partition_range_start"]
        <= "2025-11-03"
        <= request.tags["dagster/asset_partition_range_end"]
    )
    assert {k.to_user_string() for k in request.asset_selection} == {
        "saj/raw_plants",
        "saj/raw_devices",
        "saj/stg_plants",
        "saj/stg_devices",
        "saj/raw_alarms",
        "saj/stg_alarms",
        "conformed/alarms",
        "alarm_history",
    }
    assert request.tags["fleet/alarms"] == "first poll"

    data, again = _tick(resources, cursor)
    assert not data.run_requests and "unchanged" in data.skip_message and again == cursor

    # one alarm closed since the last poll (the cursor knew one more), one opened (the cursor missed one)
    stale = json.dumps({"open": sorted(open_now[1:] + ["SN-GONE|101|2025-11-02 08:00:00"])})
    data, cursor2 = _tick(resources, stale)
    (request,) = data.run_requests
    assert request.tags["fleet/alarms"] == "1 opened, 1 closed"
    assert json.loads(cursor2)["open"] == open_now
    assert request.run_key and request.run_key == _tick(resources, stale)[0].run_requests[0].run_key

    # nothing in the request, the cursor or the logs carries the credentials
    secret = server.fleet.app_secret
    assert secret not in repr(request) and secret not in cursor2 and secret not in caplog.text


def test_only_alarm_assets_once_today_is_landed(setup, tmp_path):
    server, resources = setup
    data, cursor = _tick(resources, None)
    start, end = (data.run_requests[0].tags[f"dagster/asset_partition_range_{x}"] for x in ("start", "end"))
    from datetime import date, timedelta

    first, last = date.fromisoformat(start), date.fromisoformat(end)
    lake = Lake(tmp_path / "lake")
    for n in range((last - first).days + 1):
        for asset in ("raw_plants", "raw_devices"):
            day = first + timedelta(days=n)
            lake.add_part(lake.day_dir("raw", "saj", asset, day=day), raw_table(day, []), supersedes=True)
    data, _ = _tick(resources, json.dumps({"open": []}))
    assert {k.to_user_string() for k in data.run_requests[0].asset_selection} == {
        "saj/raw_alarms",
        "saj/stg_alarms",
        "conformed/alarms",
        "alarm_history",
    }


def test_a_failed_poll_skips_and_keeps_the_cursor(setup):
    server, resources = setup
    server.stop()
    data, cursor = _tick(resources, json.dumps({"open": ["x"]}))
    assert not data.run_requests and "alarm poll failed" in data.skip_message
    assert json.loads(cursor) == {"open": ["x"]}


def test_open_alarm_keys():
    rows = [
        {"deviceSn": "A", "alarmCode": 1, "alarmTime": "t"},
        {"deviceSn": "A", "alarmCode": 1, "alarmTime": "t"},
        "junk",
    ]
    assert open_alarm_keys(rows) == ["A|1|t"] and open_alarm_keys(None) == []


def test_an_unconfigured_saj_skips_every_tick(tmp_path):
    from pipelines.resources import build_resources

    resources = build_resources(tmp_path, saj={"base_url": "http://127.0.0.1:9"})
    data, cursor = _tick(resources, None)
    assert not data.run_requests and "SAJ_APP_ID" in data.skip_message and cursor is None
