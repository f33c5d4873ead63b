"""The `solax_poll` job (one round, reported as materialisations of the raw asset's day partitions) and its
schedule's decisions, through Dagster."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import dagster as dg

from pipelines.core.lake import Lake
from pipelines.resources import build_resources
from pipelines.sources.solax import jobs
from pipelines.sources.solax.poller import RAW_ASSET, VENDOR
from pipelines.sources.solax.settings import REALTIME
from simulator.core.clock import MovableClock
from tests.sources.solax.walk import sites_csv

RAW_KEY = dg.AssetKey([VENDOR, RAW_ASSET])


def _resources(server, tmp_path, sites: str | None = None, **solax):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "sites.csv").write_text(sites if sites is not None else sites_csv(server))
    solax = {
        "token_id": server.token,
        "base_url": server.base_url,
        "sites_file": str(tmp_path / "sites.csv"),
        "calls_per_minute": 100_000,  # the job runs on the real clock: no 6-second pacing in a test
        **solax,
    }
    return build_resources(tmp_path, solax=solax)


def _run(server, tmp_path, **kwargs):
    return jobs.solax_poll.execute_in_process(
        resources=_resources(server, tmp_path, **kwargs), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def test_one_round_lands_every_dongle_and_reports_the_days_it_touched(make_solax, tmp_path):
    server = make_solax(limits=False)  # its clock stands still: two rounds would fall in one of its minutes
    result = _run(server, tmp_path)
    assert result.success
    now = datetime.now(timezone.utc)
    local_days = {now.astimezone(server.fleet.zone(d.plant)).date() for d in server.dongles}
    reported = {m.partition: m for m in result.asset_materializations_for_node("solax_poll_round")}
    # a day may turn between the round and `now` on a slow machine: the reported days are the poll's
    assert len(reported) == len(local_days) and all(m.asset_key == RAW_KEY for m in reported.values())
    assert sum(m.metadata["responses"].value for m in reported.values()) == 9
    lake = Lake(tmp_path / "lake")
    for day in reported:
        (part,) = lake.parts(lake.day_dir("raw", VENDOR, RAW_ASSET, day=datetime.fromisoformat(day).date()))
        assert str(part) == reported[day].metadata["path"].value
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    meta = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert meta["interval_minutes"] == 5 and meta["dongles"] == 9 and meta["calls_this_round"] == 9
    assert (meta["calls_last_24h"], meta["quota_left_24h"], meta["new_uploads"]) == (9, 9_991, 9)
    again = _run(server, tmp_path)  # the stand-in's clock stands still: the dongles repeat their uploads
    (output,) = [e for e in again.all_events if e.event_type_value == "STEP_OUTPUT"]
    meta = {k: v.value for k, v in output.event_specific_data.metadata.items()}
    assert (meta["repeated_uploads"], meta["new_uploads"], meta["calls_last_24h"]) == (9, 0, 18)


def _failure(result) -> str:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return str(event.event_specific_data.error)


def test_a_bad_sites_file_fails_the_run_naming_the_line_and_asks_nothing(make_solax, tmp_path):
    server = make_solax()
    bad = sites_csv(server).replace("Australia/Sydney", "Australia/Sidney", 1)
    result = _run(server, tmp_path, sites=bad)
    assert not result.success
    message = _failure(result)
    assert "line 4: time zone 'Australia/Sidney' is not an IANA time zone" in message and "nothing polled" in message
    assert server.stats()["requests"] == {}


def test_a_refused_token_fails_the_run_saying_what_to_do(make_solax, tmp_path):
    server = make_solax(token_invalid=True)
    result = _run(server, tmp_path)
    assert not result.success
    message = _failure(result)
    assert "SOLAX_TOKEN_ID" in message and "cannot be made up later" in message and server.token not in message
    assert server.stats()["requests"] == {REALTIME: 1}
    assert len(Lake(tmp_path / "lake").raw_files(VENDOR, RAW_ASSET, _days(tmp_path))) == 1  # the answer is kept


def _days(tmp_path):
    return [datetime.fromisoformat(p.name[5:]).date() for p in (tmp_path / "lake/raw/solax/raw_realtime").iterdir()]


def _tick(resources, at: datetime):
    context = dg.build_schedule_context(scheduled_execution_time=at, resources=resources)
    return jobs.solax_poll_schedule.evaluate_tick(context)


def test_the_schedule_skips_saying_why(make_solax, tmp_path):
    server = make_solax()
    at = datetime.now(timezone.utc)
    unconfigured = build_resources(tmp_path / "none")
    (skip,) = [_tick(unconfigured, at).skip_message]
    assert "SolaX is not configured (set SOLAX_TOKEN_ID" in skip

    resources = _resources(server, tmp_path)
    (request,) = _tick(resources, at).run_requests
    assert request.tags["fleet/trigger"] == "solax_poll"

    ledger = resources["solax"].ledger(resources["solax"].client())
    ledger.block(time.time() + 3_600, "SolaX answered code 1")
    assert "no SolaX call before" in _tick(resources, at).skip_message

    # the sites file grew past what the schedule was planned for: 40 dongles need 6 minutes, not 5
    many = "wifi_sn,plant_id,plant_name,time_zone,system_power_kwp\n" + "".join(
        f"SW{n:08d},p{n},Home,Europe/Berlin,5\n" for n in range(40)
    )
    grown = _resources(server, tmp_path / "grown", sites=many)
    grown["solax"].ledger(grown["solax"].client()).record_round(at.timestamp() - 300, at.timestamp() - 290, 40, {})
    assert "reload the code location to re-plan" in _tick(grown, at).skip_message
    assert _tick(grown, datetime.fromtimestamp(at.timestamp() + 60, timezone.utc)).run_requests


def test_the_schedule_is_planned_from_the_sites_file_at_load(monkeypatch, tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text(
        "wifi_sn,plant_id,plant_name,time_zone,system_power_kwp\n"
        + "".join(f"SW{n:08d},p{n},Home,Europe/Berlin,5\n" for n in range(100))
    )
    monkeypatch.setenv("SOLAX_TOKEN_ID", "20250101000000123456789")
    monkeypatch.setenv("SOLAX_SITES_FILE", str(path))
    planned, basis = jobs.planned_at_load()
    assert planned.interval_min == 15 and planned.calls_per_day == 9_600 and basis == "the sites file at load"
    monkeypatch.setenv("SOLAX_SITES_FILE", str(tmp_path / "missing.csv"))
    planned, basis = jobs.planned_at_load()
    assert planned is None and "cannot be read" in basis  # the code location still loads
    monkeypatch.delenv("SOLAX_TOKEN_ID")
    assert jobs.planned_at_load() == (None, "SolaX is not configured")


def test_dongles_without_an_upload_yet_are_named_and_polled_again(make_solax, tmp_path):
    server = make_solax(limits=False)
    MovableClock(server.admin_url, datetime(2024, 12, 31, 12, tzinfo=timezone.utc))  # before the fleet's first day
    instance = dg.DagsterInstance.ephemeral()
    result = jobs.solax_poll.execute_in_process(resources=_resources(server, tmp_path), instance=instance)
    assert result.success  # not a failure: the next round asks again
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert output.event_specific_data.metadata["no_data_yet"].value == 9
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    named = [m for m in messages if "has no upload from this dongle yet" in m]
    assert len(named) == 9 and all(any(d.wifi_sn in m for m in named) for d in server.dongles)
