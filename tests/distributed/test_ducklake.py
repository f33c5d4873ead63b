"""The DuckLake warehouse (catalog in PostgreSQL, data on S3) against the embedded one (one DuckDB file).

The embedded pipeline runs first, against the simulator, for two days: its lake gives the marts their inputs and its
warehouse is what DuckLake must equal row for row. Then the project's own mart SQL (`sql/marts/*.sql`, through
`pipelines/core/warehouse.py`'s runner via `assets.marts.build_mart`, unchanged) runs against DuckLake: alone, by
concurrent worker processes, and by workers killed in the middle.

What DuckLake 1.0 does with concurrent writers (measured by the tests below): appends to one table from two
transactions both commit; a transaction that inserts into a table which another transaction deleted from since it
began is aborted at COMMIT ("Transaction conflict"), whatever rows or files the two touched, and DuckLake's own
retries (ducklake_max_retry_count) do not resolve it. Every mart rewrites its day (DELETE, then INSERT), so two runs
of different days writing the same table at once conflict. The abort is clean (the loser's transaction leaves
nothing). But a DELETE that matched no row is no delete to DuckLake: two transactions that rewrite a day the table
does not hold yet both commit, and the day is there twice. So re-running an aborted file is not enough; what
works is one writer per table (a Dagster pool per warehouse table, limit 1).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from pyarrow import fs

from assets.marts import MARTS, build_mart
from pipelines.core import ducklake
from pipelines.core import warehouse as wh
from tests.distributed.profiles import DAYS, TABLES, assert_equals_embedded, differences
from tests.services import REPORT
from tests.support import lake_of

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]


def run_workers(env: dict, embedded: Path, jobs: list[tuple[date, str]]) -> list[dict]:
    start_at = time.time() + 4  # all workers import and attach first, then start together
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.distributed.workers",
                "marts",
                str(embedded),
                day.isoformat(),
                str(start_at),
                strategy,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for day, strategy in jobs
    ]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


# ---------------------------------------------------------------------------------------------------------- (b)
def test_the_mart_sql_runs_unchanged_on_ducklake(embedded, ducklake_env, s3_server):
    """Every mart file, through the project's runner, on a DuckLake catalog in Postgres with its data on S3: no
    statement is rejected, and the tables equal the embedded warehouse's row for row, also after re-doing a day."""
    with ducklake.connect(ducklake_env) as conn:
        for _ in range(2):  # the second round re-does both days: deletes and re-inserts on existing data
            for day in DAYS:
                for mart in MARTS:
                    build_mart(conn, lake_of(embedded), mart, [day])
        # what the asset reports about its table works the same way (before another catalog with the same tables
        # is attached: table_schema looks the table up by schema and name only)
        assert wh.count_rows(conn, "device_samples", "day = $d", {"d": DAYS[0]}) > 0
        assert {"plant_id", "plant_name", "time_zone"} <= {c.name for c in wh.table_schema(conn, "plants").columns}
        rows = assert_equals_embedded(conn, embedded)
        data_files = conn.execute("SELECT count(*) FROM ducklake_list_files('warehouse', 'device_samples')").fetchone()[
            0
        ]
    objects = [
        f
        for f in s3_server.filesystem().get_file_info(
            fs.FileSelector(ducklake_env["FLEET_WAREHOUSE_DATA_PATH"].removeprefix("s3://"), recursive=True)
        )
        if f.type == fs.FileType.File
    ]
    assert data_files >= 1 and any("device_samples" in f.path for f in objects)
    REPORT.append(
        f"DuckLake: every mart SQL file ran unchanged; {sum(rows.values())} rows equal the embedded "
        f"warehouse; {len(objects)} objects on S3"
    )


REJECTED_BY_DUCKLAKE = {
    "primary key": "CREATE TABLE t_pk (id INTEGER PRIMARY KEY, v INTEGER)",
    "unique": "CREATE TABLE t_uq (id INTEGER UNIQUE, v INTEGER)",
    "check": "CREATE TABLE t_ck (id INTEGER, v INTEGER CHECK (v > 0))",
    "index": "CREATE INDEX t_ix ON t (id)",
    "upsert": "INSERT INTO t VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v",
    "insert or replace": "INSERT OR REPLACE INTO t VALUES (1, 2)",
    "sequence": "CREATE SEQUENCE t_seq",
    "enum": "CREATE TABLE t_en (e ENUM('a', 'b'))",
}
# How the project's SQL would spell them, to keep them out of sql/ (the scan below).
FORBIDDEN = [
    "PRIMARY KEY",
    "UNIQUE",
    "CHECK (",
    "CREATE INDEX",
    "ON CONFLICT",
    "INSERT OR REPLACE",
    "CREATE SEQUENCE",
    "ENUM(",
]


def test_what_ducklake_rejects_and_the_pattern_that_works_on_both(ducklake_env, tmp_path):
    """DuckLake has no keys, indexes, constraints but NOT NULL, sequences or enums. The project's SQL uses none of
    them (checked on every file), and its upsert pattern (DELETE what is being replaced, INSERT BY NAME, in one
    transaction) gives the same table on DuckDB and on DuckLake."""
    with ducklake.connect(ducklake_env) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, v INTEGER)")
        for _name, statement in REJECTED_BY_DUCKLAKE.items():
            with pytest.raises((duckdb.NotImplementedException, duckdb.BinderException, duckdb.InvalidInputException)):
                conn.execute(statement)
        embedded_db = duckdb.connect(str(tmp_path / "wh.duckdb"))
        for c in (conn, embedded_db):
            c.execute("CREATE TABLE IF NOT EXISTS u (id INTEGER, day DATE, v DOUBLE)")
            for rows in ([(1, 1.0), (2, 2.0)], [(2, 20.0), (3, 30.0)]):
                c.execute("BEGIN")
                c.execute(
                    "CREATE OR REPLACE TEMP TABLE u_new AS SELECT * FROM (VALUES "
                    + ", ".join(f"({i}, DATE '2025-06-17', {v})" for i, v in rows)
                    + ") AS n(id, day, v)"
                )
                c.execute("DELETE FROM u WHERE id IN (SELECT id FROM u_new)")
                c.execute("INSERT INTO u BY NAME SELECT * FROM u_new")
                c.execute("COMMIT")
        assert (
            conn.execute("SELECT * FROM u ORDER BY id").fetchall()
            == embedded_db.execute("SELECT * FROM u ORDER BY id").fetchall()
            == [(1, date(2025, 6, 17), 1.0), (2, date(2025, 6, 17), 20.0), (3, date(2025, 6, 17), 30.0)]
        )
        embedded_db.close()
    for path in sorted((ROOT / "sql").rglob("*.sql")):
        text = " ".join(line.split("--")[0] for line in path.read_text().splitlines()).upper()
        found = [f for f in FORBIDDEN if f in " ".join(text.split())]
        assert not found, f"{path.relative_to(ROOT)} uses {found}, which DuckLake rejects"


def test_a_failing_attach_never_shows_the_password():
    """DuckDB repeats the connection string of a failed ATTACH, password included: connect() masks it."""
    env = {
        "FLEET_WAREHOUSE": "ducklake:postgres:host=127.0.0.1 port=9 user=fleet password=hunter2 dbname=x",
        "FLEET_WAREHOUSE_DATA_PATH": "s3://bucket/warehouse/",
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s3cr3t",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    with pytest.raises(ducklake.WarehouseConfigError) as raised:
        ducklake.connect(env)
    assert "password=***" in str(raised.value)
    assert "hunter2" not in str(raised.value) and "s3cr3t" not in str(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None


# ---------------------------------------------------------------------------------------------------------- (c)
def test_two_rewrites_of_one_table_conflict_and_the_loser_leaves_nothing(ducklake_env):
    """Two transactions rewrite different days of one table, in separate data files: the second COMMIT is aborted,
    even with DuckLake's retries raised, and leaves the table as it was."""
    first, second = ducklake.connect(ducklake_env), ducklake.connect(ducklake_env)
    first.execute("CREATE TABLE t (day INTEGER, v DOUBLE)")
    for day in (1, 2):
        first.execute(f"INSERT INTO t SELECT {day}, 1.0 FROM range(1000)")
    second.execute("SET ducklake_max_retry_count = 50")
    first.execute("BEGIN")
    second.execute("BEGIN")
    for conn, day in ((first, 1), (second, 2)):
        conn.execute(f"DELETE FROM t WHERE day = {day}")
        conn.execute(f"INSERT INTO t SELECT {day}, 2.0 FROM range(1000)")
    first.execute("COMMIT")
    with pytest.raises(duckdb.TransactionException, match="Transaction conflict"):
        second.execute("COMMIT")
    assert first.execute("SELECT day, v, count(*) FROM t GROUP BY ALL ORDER BY day").fetchall() == [
        (1, 2.0, 1000),
        (2, 1.0, 1000),
    ]
    # two appends do not conflict
    first.execute("BEGIN")
    second.execute("BEGIN")
    first.execute("INSERT INTO t SELECT 3, 1.0 FROM range(10)")
    second.execute("INSERT INTO t SELECT 4, 1.0 FROM range(10)")
    first.execute("COMMIT")
    second.execute("COMMIT")
    assert first.execute("SELECT count(*) FROM t WHERE day IN (3, 4)").fetchone()[0] == 20
    first.close()
    second.close()


def test_two_rewrites_of_a_day_not_yet_held_both_commit_twice_the_rows(ducklake_env):
    """Why a conflicting file cannot just be run again: with no row of the day to delete, neither transaction
    deletes anything, DuckLake sees two appends, and the day is in the table twice."""
    first, second = ducklake.connect(ducklake_env), ducklake.connect(ducklake_env)
    first.execute("CREATE TABLE t (day INTEGER, v DOUBLE)")
    first.execute("BEGIN")
    second.execute("BEGIN")
    for conn in (first, second):
        conn.execute("DELETE FROM t WHERE day = 1")
        conn.execute("INSERT INTO t SELECT 1, 1.0 FROM range(10)")
    first.execute("COMMIT")
    second.execute("COMMIT")  # no conflict
    assert first.execute("SELECT count(*) FROM t WHERE day = 1").fetchone()[0] == 20
    first.close()
    second.close()


@pytest.mark.parametrize("strategy", ["lock"])
def test_concurrent_runs_of_different_days_and_a_redo(embedded, ducklake_env, strategy):
    """Three worker processes start together on an empty DuckLake: day 1, day 2, and day 1 again, each building every
    mart as one run would. With one writer per table ("lock", what a pool per table does) every run succeeds, none
    conflicts, and the warehouse equals the embedded one. (Unguarded, runs fail on conflicts, or, rewriting a day
    not yet held, both commit it: the test above.)"""
    jobs = [(DAYS[0], strategy), (DAYS[1], strategy), (DAYS[0], strategy)]
    reports = run_workers(ducklake_env, embedded, jobs)
    failed = [r for r in reports if r["failed"]]
    assert failed == []
    with ducklake.connect(ducklake_env) as conn:
        assert_equals_embedded(conn, embedded)
    conflicts = sum(r["conflicts"] for r in reports)
    assert conflicts == 0
    REPORT.append(
        f"DuckLake, 3 concurrent runs, strategy {strategy}: {len(failed)} run(s) failed, {conflicts} "
        f"conflict(s), wall {max(r['seconds'] for r in reports):.1f} s per run "
        f"(mean {sum(r['seconds'] for r in reports) / len(reports):.1f} s)"
    )


def test_a_worker_killed_mid_run_leaves_every_table_whole(embedded, ducklake_env):
    """Day 2 is in the warehouse; a worker building day 1 is SIGKILLed in the middle of its run (after a random
    number of marts, a random moment into the next), three times. Each table is then exactly as before or exactly
    as after (never part of a file's transaction), and a new run completes the day."""
    with ducklake.connect(ducklake_env) as conn:
        for mart in MARTS:
            build_mart(conn, lake_of(embedded), mart, [DAYS[1]])
        for table in TABLES:
            conn.execute(f"CREATE TABLE memory.main.before_{table} AS SELECT * FROM warehouse.main.{table}")
        conn.execute(f"ATTACH '{embedded / 'warehouse.duckdb'}' AS embedded (READ_ONLY)")
        kills = []
        for after in random.sample(range(len(TABLES) - 1), 3):
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.distributed.workers",
                    "marts",
                    str(embedded),
                    DAYS[0].isoformat(),
                    "0",
                    "lock",
                ],
                cwd=ROOT,
                env={**os.environ, **ducklake_env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            assert json.loads(worker.stdout.readline())["ready"]  # attached: the run starts now
            for _ in range(after):
                assert "done" in json.loads(worker.stdout.readline())
            time.sleep(random.uniform(0, 0.3))  # into the next mart's transaction
            worker.send_signal(signal.SIGKILL)
            worker.communicate()
            state = {}
            for table in TABLES:
                old = differences(conn, table, f"memory.main.before_{table}") == 0
                new = differences(conn, table, f"embedded.main.{table}") == 0
                assert old or new, f"{table} is neither as before nor as after the run"
                state[table] = "new" if new and not old else "old"
            kills.append(sum(s == "new" for s in state.values()))
        run_workers(ducklake_env, embedded, [(DAYS[0], "lock")])
        assert_equals_embedded(conn, embedded)
    REPORT.append(
        f"DuckLake, worker SIGKILLed mid-run 3 times: {kills} of {len(TABLES)} tables already written, "
        "every table whole, the next run completed the day"
    )
