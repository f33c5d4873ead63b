"""The whole pipeline in the distributed profile, switched on by configuration alone: Dagster runs in separate
processes (the instance in PostgreSQL, from deploy/dagster.postgres.yaml), the lake on S3 (FLEET_LAKE_URL), the
warehouse in DuckLake (FLEET_WAREHOUSE), the token and rate limits in PostgreSQL (FLEET_COORDINATION_URL), against
the SAJ simulator.

Two runs of different days and a third re-doing the first day start together. Every run succeeds; the warehouse
equals the simulator's truth and the embedded profile's warehouse for the same days, row for row; the three
processes shared one token (the simulator issued one); no two runs wrote one warehouse table at the same moment
(the per-table pools); and nothing landed in the workers' own folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from pyarrow import fs

from pipelines.core import ducklake
from pipelines.core.resources import warehouse_pool
from simulator import SimulatorServer
from tests.conftest import get_fleet
from tests.distributed.profiles import DAYS, FETCH_TIMES, FLEET, TABLES, assert_equals_embedded
from tests.services import REPORT
from tests.support import compare_device_day

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dagster_home(tmp_path, postgres_server) -> tuple[Path, dict[str, str]]:
    """A DAGSTER_HOME with the deployment's Postgres template, its storage created once (as `dagster instance
    migrate` does before the workers start)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": postgres_server.host,
        "DAGSTER_PG_PORT": str(postgres_server.port),
        "DAGSTER_PG_USER": postgres_server.user,
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": postgres_server.create_database(),
    }
    return home, env


def _initialised(home: Path, env: dict[str, str]) -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME, set up as a deployment's init step does (pipelines/init.py)."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        instance = dg.DagsterInstance.from_config(str(home))
        init_output = subprocess.run(
            [sys.executable, "-m", "pipelines.init"], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True
        )
        assert init_output.returncode == 0, init_output.stderr[-3000:]
        assert f"ready: {len(TABLES)} pools" in init_output.stdout
        return instance
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _step_spans(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, list[tuple[float, float, str]]]:
    """{step key: [(started, ended, run id)]} from the runs' event logs in Postgres."""
    spans: dict[str, list[tuple[float, float, str]]] = {}
    for run_id in run_ids:
        started = {}
        for record in instance.all_logs(
            run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
        ):
            event = record.dagster_event
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = record.timestamp
            else:
                spans.setdefault(event.step_key, []).append((started[event.step_key], record.timestamp, run_id))
    return spans


def test_concurrent_runs_on_s3_ducklake_and_postgres_equal_the_truth_and_the_embedded_profile(
    embedded, ducklake_env, dagster_home, s3_server, s3_prefix, tmp_path
):
    home, dagster_env = dagster_home
    instance = _initialised(home, {**dagster_env, **ducklake_env})
    fleet = get_fleet(*FLEET)
    lake_url = f"{s3_prefix}lake"
    with SimulatorServer(fleet, port=0) as server:
        env = {
            **os.environ,
            **ducklake_env,
            **dagster_env,
            "FLEET_LAKE_URL": lake_url,
            "SAJ_APP_ID": fleet.app_id,
            "SAJ_APP_SECRET": fleet.app_secret,
        }
        jobs = [DAYS[0], DAYS[1], DAYS[0]]
        start_at = time.time() + 20  # every worker has imported the code location and built its resources
        workers = []
        for n, day in enumerate(jobs):
            data_dir = tmp_path / f"worker{n}"
            data_dir.mkdir()
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.distributed.workers",
                    "pipeline",
                    str(data_dir),
                    day.isoformat(),
                    str(start_at),
                    server.base_url,
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            workers.append((proc, data_dir))
        began = time.time()
        reports = []
        for proc, _ in workers:
            out, err = proc.communicate(timeout=900)
            assert proc.returncode == 0, err[-3000:]
            reports.append(json.loads(out.strip().splitlines()[-1]))
        stats = server.stats()
        ended = time.time()

    assert [(r["day"], r["success"], r["failures"]) for r in reports] == [(d.isoformat(), True, []) for d in jobs]
    # one token for three processes: SAJ keeps one live token per app, so a second would have logged the first out
    assert stats["tokens_issued"] == 1

    # the per-table pools: no two runs wrote one warehouse table at the same moment, while the runs overlapped
    spans = _step_spans(instance, [r["run_id"] for r in reports])
    for table in TABLES:
        assert warehouse_pool(table) == "warehouse"  # this process has no FLEET_WAREHOUSE: the embedded pool
        table_spans = sorted(spans[table])
        assert len(table_spans) == 3, table
        for (_, ended, _), (started, _, _) in zip(table_spans, table_spans[1:]):
            assert started >= ended, f"two runs wrote {table} at once"
        info = instance.event_log_storage.get_concurrency_info(f"warehouse_{table}")
        assert info.slot_count == 1 and info.active_slot_count == 0, table
    run_spans = [
        (
            min(s for s, _, r in sum(spans.values(), []) if r == rid),
            max(e for _, e, r in sum(spans.values(), []) if r == rid),
        )
        for rid in (r["run_id"] for r in reports)
    ]
    assert max(s for s, _ in run_spans) < min(e for _, e in run_spans), "the runs did not overlap"

    # the warehouse: the truth, and the embedded profile's, row for row
    with ducklake.connect(ducklake_env) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        compared = [compare_device_day(fleet, conn, day) for day in DAYS]
        assert all(c["complete"] > 0 for c in compared)
        # The embedded profile fetched the same days at another time: its fetch times differ, and only they. An
        # alarm's row is the latest observation of it (by fetch time, as the alarm listing tells the state as of
        # the call), so its last_seen_day is the day of whichever run asked last: here a race between the runs of
        # day 2 and of day 1 again, there day 2 (run after day 1). It must be one of the days that showed it.
        rows = assert_equals_embedded(
            conn, embedded, ignore=FETCH_TIMES, ignore_in={"alarm_history": ("last_seen_day",)}
        )
        assert conn.execute(
            "SELECT count(*) FROM alarm_history WHERE NOT list_contains($days, last_seen_day) "
            "OR last_seen_day < first_seen_day",
            {"days": DAYS},
        ).fetchone() == (0,)
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = 'warehouse' "
            "AND list_contains($c, column_name)",
            {"c": list(FETCH_TIMES)},
        ).fetchall():
            first, last, missing = conn.execute(
                f"SELECT min({column}), max({column}), count(*) - count({column}) FROM {table}"
            ).fetchone()
            assert missing == 0 and began <= first.timestamp() <= last.timestamp() <= ended, (table, column)

    # the lake is on S3, and nothing landed in the workers' own folders
    s3 = s3_server.filesystem()
    objects = [
        f.path
        for f in s3.get_file_info(fs.FileSelector(lake_url.removeprefix("s3://"), recursive=True))
        if f.type == fs.FileType.File
    ]
    for layer in ("raw/saj/raw_upload_data/", "staging/saj/", "conformed/samples/vendor=saj/"):
        assert any(layer in path for path in objects), layer
    for _, data_dir in workers:
        assert sorted(p.name for p in data_dir.rglob("*")) == [], data_dir

    seconds = [r["seconds"] for r in reports]

    def layer(step_key: str) -> str:
        if step_key in TABLES:
            return "marts"
        return "conformed" if step_key.startswith("conformed__") else "staging" if "__stg_" in step_key else "raw"

    busy: dict[str, float] = {}  # step seconds per layer, over the three runs
    for step_key, step_spans in spans.items():
        busy[layer(step_key)] = busy.get(layer(step_key), 0.0) + sum(e - s for s, e, _ in step_spans)
    REPORT.append(
        f"distributed profile (S3 lake, DuckLake, Postgres coordination and Dagster storage): 3 concurrent runs "
        f"({', '.join(f'{d} {s:.1f} s' for d, s in zip(jobs, seconds))}), wall {max(seconds):.1f} s; "
        f"{sum(rows.values())} warehouse rows equal the embedded profile's; "
        f"{sum(c['hours'] for c in compared)} device-hours against the truth; {stats['tokens_issued']} token; "
        f"{len(objects)} lake objects on S3; step seconds over the 3 runs: "
        + ", ".join(f"{k} {v:.0f}" for k, v in sorted(busy.items()))
    )
