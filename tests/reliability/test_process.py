"""Reliability when the process dies or competes: SIGKILL mid-landing and mid-model, two warehouse writers.

The pipeline runs in a child process (a `python -c` script running dg.materialize; the CLI's own run is
covered by tests/assets/saj/test_raw_landing.py) against a simulator served
from this test process; the test kills the child's process group with SIGKILL at a chosen point, then checks
that every lake file and the warehouse hold a whole day (the old one or the new one) and that a rerun gives
the simulator's truth.
"""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.parquet as pq

from simulator import Faults
from tests.support import (
    DEVICE_PATH,
    ROOT,
    compare_device_day,
    lake_of,
    materialize,
    query,
    raw,
    select,
)

DAY = date(2025, 11, 3)  # the simulator's "today" (now is 12:00 UTC)
RAW = ("raw_plants", "raw_devices", "raw_upload_data", "raw_sec_data", "raw_plant_statistics", "raw_alarms")


def _env(server, data_dir):
    home = data_dir / "dagster_home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "SAJ_APP_ID": server.fleet.app_id,
        "SAJ_APP_SECRET": server.fleet.app_secret,
        "SAJ_BASE_URL": server.base_url,
        "FLEET_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(ROOT),
    }


def _start(args, env):
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )


def _kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _wait_for(predicate, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the child never reached the point to kill it at"
        time.sleep(0.02)


def _minute_samples(table) -> dict[str, int]:
    out = {}
    for row in table.to_pylist():
        if row["endpoint"] == "device/uploadData" and json.loads(row["request_params"])["timeUnit"] == 0:
            out[row["device_sn"]] = out.get(row["device_sn"], 0) + len(json.loads(row["body"])["data"]["data"])
    return out


def test_sigkill_while_landing_leaves_whole_days_and_a_rerun_completes(make_simulator, tmp_path):
    # The old day: landed while the last 6 hours were late.
    server = make_simulator(plants=2, limits=False, faults=Faults(late_s=6 * 3600))
    assert materialize(server, tmp_path, DAY).success
    old = {asset: raw(tmp_path, asset, DAY) for asset in RAW}
    old_samples = _minute_samples(old["raw_upload_data"])

    # The new day: everything has arrived, but the CLI run is killed while it lands the minute data.
    server.set_faults(Faults(latency_s=0.15))
    new_samples = {d.sn: int(server.fleet.device_day(d.sn, DAY).reported.sum()) for d in server.fleet.devices}
    assert all(new_samples[sn] > old_samples[sn] for sn in new_samples)
    server.reset_stats()
    script = f"""
import dagster as dg
from assets.saj.raw import raw_assets
from pipelines.resources import build_resources
dg.materialize(raw_assets, partition_key="{DAY}", resources=build_resources())
"""
    proc = _start([sys.executable, "-c", script], _env(server, tmp_path))
    _wait_for(lambda: server.stats()["requests"].get("device/uploadData", 0) >= 2, proc)
    _kill(proc)

    lake = lake_of(tmp_path)
    for asset in RAW:
        parts = lake.parts(lake.day_dir("raw", "saj", asset, day=DAY))
        assert len(parts) == 1, asset  # a complete attempt, old or new; a half-written temp file is never a part
        table = pq.read_table(parts[0])  # whole and readable
        assert table.num_rows == old[asset].num_rows, asset  # same calls: old or new, never a mix
    assert _minute_samples(raw(tmp_path, "raw_upload_data", DAY)) in (old_samples, new_samples)
    # the warehouse still answers with the old day, untouched
    assert query(tmp_path, "SELECT count(*) AS n FROM device_samples WHERE day = $d", {"d": DAY}).n[0] == sum(
        old_samples.values()
    )

    server.set_faults(Faults())
    assert materialize(server, tmp_path, DAY).success  # the rerun completes ...
    stats = compare_device_day(server.fleet, tmp_path, DAY)  # ... with the truth (up to now)
    assert stats["complete"] >= 2 * 13 + 23 - 2  # Berlin 00-12 local, Sydney 00-22 (a logger gap may cut one)


def test_sigkill_while_building_a_model_keeps_the_old_day(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False, faults=Faults(late_s=6 * 3600))
    assert materialize(server, tmp_path, DAY).success
    before = query(tmp_path, "SELECT * FROM device_samples ORDER BY ALL")
    server.set_faults(Faults())
    assert materialize(server, tmp_path, DAY, assets=select({"saj/raw_upload_data", "saj/stg_device_samples"})).success

    # Rebuild device_samples in a child that stops right after the DELETE of the day, inside the transaction.
    script = f"""
import sys, time
import dagster as dg
from pipelines.core import warehouse as wh
real = wh.execute_statements
def slow(conn, statements, params):
    for s in statements:
        real(conn, [s], params)
        if s.lstrip().upper().startswith("DELETE"):
            print("DELETED", flush=True); time.sleep(120)
wh.execute_statements = slow
from assets.marts import mart_assets
from pipelines.resources import build_resources
dg.materialize([a for a in mart_assets if a.key.path[-1] == "device_samples"], partition_key="{DAY}",
               resources={{k: v for k, v in build_resources().items() if k != "saj"}})
"""
    proc = _start([sys.executable, "-c", script], _env(server, tmp_path))
    line = b""
    deadline = time.monotonic() + 120
    while b"DELETED" not in line:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, "child ended early"
        assert time.monotonic() < deadline
    _kill(proc)

    after = query(tmp_path, "SELECT * FROM device_samples ORDER BY ALL")  # the write-ahead log is rolled back
    pd.testing.assert_frame_equal(before, after)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:  # and the file takes writers again
        assert conn.execute("PRAGMA database_size").fetchall()

    assert materialize(
        server,
        tmp_path,
        DAY,
        assets=dg.AssetSelection.all() - select({"saj/raw_plants", "saj/raw_devices"}),
    ).success
    assert compare_device_day(server.fleet, tmp_path, DAY)["complete"] >= 2 * 13 + 23 - 2


def test_a_second_warehouse_writer_waits_for_the_first(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    assert materialize(server, tmp_path, date(2025, 9, 1), assets=select(DEVICE_PATH)).success
    # Another process (a second run, or someone's DuckDB shell) holds the warehouse for 3 seconds.
    script = f"""
import duckdb, time
conn = duckdb.connect({str(tmp_path / "warehouse.duckdb")!r})
conn.execute("BEGIN TRANSACTION"); conn.execute("DELETE FROM device_samples WHERE day = DATE '2025-09-02'")
print("LOCKED", flush=True); time.sleep(3); conn.execute("COMMIT"); conn.close()
"""
    proc = _start([sys.executable, "-c", script], _env(server, tmp_path))
    assert proc.stdout.readline().strip() == b"LOCKED"
    started = time.monotonic()
    result = materialize(server, tmp_path, date(2025, 9, 2), assets=select(DEVICE_PATH))
    waited = time.monotonic() - started
    assert proc.wait(timeout=60) == 0
    assert result.success and waited >= 2.5
    for day in (date(2025, 9, 1), date(2025, 9, 2)):  # both days whole, nothing lost to the wait
        assert compare_device_day(server.fleet, tmp_path, day)["complete"] == 72
