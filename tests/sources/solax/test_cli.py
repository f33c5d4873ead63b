"""The two commands an operator types, with only SolaX configured: one polling round from the CLI, and the whole
graph for a day of rounds already landed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timezone

from pipelines.core.lake import Lake
from pipelines.sources.solax.poller import RAW_ASSET, VENDOR
from tests.sources.solax.walk import Walker, sites_csv
from tests.support import ROOT, query

DAY = date(2025, 11, 2)


def _dagster(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dagster", *args, "-m", "pipelines.definitions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _env(tmp_path, server, sites) -> dict:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAJ_", "SOLAX_", "FLEET_"))}
    return {
        **env,
        "DAGSTER_HOME": str(home),
        "FLEET_DATA_DIR": str(tmp_path),
        "FLEET_AUTOMATION": "stopped",
        "SOLAX_TOKEN_ID": server.token,
        "SOLAX_BASE_URL": server.base_url,
        "SOLAX_SITES_FILE": str(sites),
        "SOLAX_CALLS_PER_MINUTE": "6000",  # the CLI runs on the real clock: no 6-second pacing in a test
    }


def test_one_round_from_the_cli_then_the_whole_graph_for_a_polled_day(make_solax, tmp_path):
    server = make_solax(limits=False)
    sites = tmp_path / "sites.csv"
    sites.write_text(sites_csv(server))
    env = _env(tmp_path, server, sites)

    polled = _dagster(["job", "execute", "-j", "solax_poll"], env)
    assert polled.returncode == 0, polled.stderr[-3000:]
    lake = Lake(tmp_path / "lake")
    days = sorted((tmp_path / "lake/raw/solax/raw_realtime").iterdir())
    files = [p for d in days for p in lake.parts(d)]
    assert len(files) == len(days) and sum(len(lake.read([f])) - 1 for f in files) == 9  # one round, 9 answers
    assert server.stats()["requests"] == {"api/v2/dataAccess/realtimeInfo/get": 9}

    # a day of rounds landed earlier (on the stand-in's clock), then the graph for that day from the CLI
    walker = Walker(server, tmp_path)
    walker.walk(datetime(2025, 11, 2, 8, 0, tzinfo=timezone.utc), datetime(2025, 11, 2, 9, 0, tzinfo=timezone.utc))
    walker.close()
    assert lake.raw_files(VENDOR, RAW_ASSET, [DAY])
    calls = server.stats()["requests"]
    # (the code location runs every step in one process: no executor config needed)
    built = _dagster(["asset", "materialize", "--select", "*", "--partition", DAY.isoformat()], env)
    assert built.returncode == 0, built.stderr[-3000:]
    assert server.stats()["requests"] == calls, "building a day calls no API"
    assert "saj is not configured (set SAJ_APP_ID and SAJ_APP_SECRET" in built.stderr + built.stdout
    daily = query(tmp_path, "SELECT vendor, plant_id, pv_kwh FROM self_consumption_daily WHERE day = $d", {"d": DAY})
    assert daily.vendor.tolist() == ["solax"] * 6 and (daily.pv_kwh >= 0).all()
