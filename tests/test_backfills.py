"""Backfills: a range runs as one run, a failed day is resumed alone, and the README's demo command works."""

import os
import subprocess
import sys
from datetime import date, timedelta

import dagster as dg
import pyarrow.parquet as pq

from pipelines.sources.saj.client import SajClient
from tests.support import ALL_ASSETS as ASSETS
from tests.support import ROOT, lake_of, run, select
from tests.support import resources as simulator_resources

DAYS = [date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 3)]
UPLOAD = dg.AssetKey(["saj", "raw_upload_data"])


def _range(first: date, last: date, **extra) -> dict:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
        **extra,
    }


def _upload_days(server) -> list[str]:
    return sorted(r["params"]["startTime"][:10] for r in server.served() if r["endpoint"] == "device/uploadData")


def test_a_failed_day_is_resumed_alone(make_simulator, tmp_path, monkeypatch):
    server = make_simulator(plants=4, seed=7, limits=False)
    resources = simulator_resources(server, tmp_path)
    broken_sn, broken_day = server.fleet.devices[0].sn, DAYS[1].isoformat()
    real = SajClient.upload_data

    def flaky(self, device_sn, start, end, time_unit):  # one device's data unavailable on one day
        if device_sn == broken_sn and str(start).startswith(broken_day):
            raise RuntimeError("simulated outage of one device's data for one day")
        return real(self, device_sn, start, end, time_unit)

    monkeypatch.setattr(SajClient, "upload_data", flaky)
    instance = dg.DagsterInstance.ephemeral()
    first = dg.materialize(
        ASSETS, instance=instance, resources=resources, tags=_range(DAYS[0], DAYS[-1]), raise_on_error=False
    )
    assert not first.success
    failed = [e.step_key for e in first.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failed == ["saj_raw"]  # SAJ's raw tables land in one step
    lake = lake_of(tmp_path)
    complete = {
        d: [
            pq.read_schema(p).metadata[b"fleet.complete"]
            for p in lake.parts(lake.day_dir("raw", "saj", "raw_upload_data", day=d))
        ]
        for d in DAYS
    }
    assert complete == {DAYS[0]: [b"1"], DAYS[1]: [b"0"], DAYS[2]: [b"1"]}
    devices = len(server.fleet.devices)
    assert _upload_days(server).count(DAYS[0].isoformat()) == 2 * devices  # minute data and day total

    # The outage is over. Resume as "re-execute from failure" does: the failed step and what follows it,
    # in a run whose root is the failed one. Only the failed day is fetched again.
    monkeypatch.setattr(SajClient, "upload_data", real)
    server.reset_stats()
    resumed = dg.materialize(
        ASSETS,
        instance=instance,
        resources=resources,
        selection=dg.AssetSelection.groups("saj_raw").downstream(),  # the failed step: all of SAJ's raw tables
        tags=_range(DAYS[0], DAYS[-1], **{"dagster/root_run_id": first.run_id, "dagster/parent_run_id": first.run_id}),
    )
    assert resumed.success
    assert _upload_days(server) == [broken_day] * (2 * devices)
    mat = next(m for m in resumed.asset_materializations_for_node("saj_raw") if m.asset_key == UPLOAD)
    assert mat.metadata["days_resumed"].value == 2
    # the UI's chart and preview of the range's last day, and numbers Dagster plots over time
    hourly = resumed.asset_materializations_for_node("plant_energy_hourly")[-1]
    assert hourly.metadata["chart"].value.startswith("![energy per hour on 2025-09-03](data:image/png;base64,")
    assert hourly.metadata["preview"].value.count("\n| ") == 4 and hourly.metadata["fleet_pv_kwh"].value > 0

    import duckdb

    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        per_day = dict(
            conn.execute("SELECT day::VARCHAR, count(DISTINCT plant_id) FROM plant_energy_hourly GROUP BY 1").fetchall()
        )
    assert per_day == {d.isoformat(): 4 for d in DAYS}

    # A new run (a schedule tick, a new backfill) always fetches again.
    server.reset_stats()
    again = run(
        select({"saj/raw_plants", "saj/raw_devices", "saj/raw_upload_data"}),
        instance=instance,
        resources=resources,
        tags=_range(DAYS[0], DAYS[-1]),
    )
    assert again.success and sorted(set(_upload_days(server))) == [d.isoformat() for d in DAYS]


def test_cli_partition_range_is_one_run(tmp_path):
    """`dagster asset materialize --partition-range` needs a single-run backfill policy on every asset."""
    from pipelines.definitions import defs

    policies = {node.key.to_user_string(): node.backfill_policy for node in defs.resolve_asset_graph().asset_nodes}
    assert all(p is not None and p.policy_type.value == "SINGLE_RUN" for p in policies.values()), policies


def test_demo_command(tmp_path):
    env = {**os.environ, "SAJ_DATA_DIR": str(tmp_path / "demo")}
    for key in ("SAJ_APP_ID", "SAJ_APP_SECRET", "SAJ_BASE_URL", "DAGSTER_HOME", "FLEET_DATA_DIR", "FLEET_START_DATE"):
        env.pop(key, None)
    for key in ("SMA_CLIENT_ID", "SMA_CLIENT_SECRET", "SMA_AUTH_URL", "SMA_CONSENT_URL", "SMA_API_URL"):
        env.pop(key, None)
    for key in ("SOLAX_TOKEN_ID", "SOLAX_BASE_URL", "SOLAX_SITES_FILE", "SOLAX_CALLS_PER_MINUTE"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.demo", "--plants", "3", "--solax-plants", "2", "--sma-plants", "2"]
        + ["--days", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    last = date.today() - timedelta(days=1)
    assert "Backfill succeeded" in out
    assert "Simulated fleet (3 plants" in out and "Warehouse:" in out
    assert "Energy and self-consumption per plant" in out and "Alarms (open first):" in out
    summary = out.split("Warehouse:")[1].splitlines()
    header, values = summary[1].split(), summary[2].split()
    counts = dict(zip(header, values))
    # the 3 SAJ plants, the SolaX stand-in's 2 (polled by walking its clock through the days) and SMA's 2
    assert "SolaX keeps no history" in out and "Simulated SolaX fleet (2 plants" in out
    assert "SMA stand-in fleet (2 plants" in out and "the demo, as the owner, answers: Accepted" in out
    assert counts["plants"] == "7" and counts["days"] == "2" and int(counts["plant_hours"]) >= 7 * 2 * 23
    assert out.count(" sma ") >= 2 and out.count(" solax ") >= 2  # every vendor's plants in the energy summary
    assert (tmp_path / "demo" / "warehouse.duckdb").exists()
    assert str(last) in out or str(last - timedelta(days=1)) in out
