"""Worker processes for the distributed tests: `python -m tests.distributed.workers COMMAND ...`.

Each stands for a Dagster run process on some host: it gets the coordination database from FLEET_COORDINATION_URL,
the warehouse from FLEET_WAREHOUSE and FLEET_WAREHOUSE_DATA_PATH, the S3 store from the usual AWS variables and
AWS_ENDPOINT_URL (and the app's credentials from SAJ_APP_ID / SAJ_APP_SECRET, never from argv), waits for a common
start instant so that the processes really race, and prints one JSON line. No token is ever printed: only a digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb

from pipelines.core import ducklake
from pipelines.core.postgres import PostgresSlotStore, PostgresTokenStore, open_connection


def _wait_until(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def cmd_token(start_at: str, threads: str, base_url: str, plant_id: str) -> dict:
    """The SAJ client of the pipeline with both coordination stores in Postgres: `threads` threads each ask for a
    plant's details (a call that needs the token and is paced by the shared limiter)."""
    from pipelines.sources.saj.client import SajClient

    client = SajClient(
        os.environ["SAJ_APP_ID"],
        os.environ["SAJ_APP_SECRET"],
        base_url,
        token_store=PostgresTokenStore(),
        slot_store=PostgresSlotStore(),
    )
    codes: list[object] = []

    def one():
        codes.append(client.plant_details(plant_id).code)

    _wait_until(float(start_at))
    started = time.time()
    pool = [threading.Thread(target=one) for _ in range(int(threads))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    stats = client.stats
    return {
        "codes": codes,
        "refreshes": stats["token_refreshes"],
        "token_rejections": stats["token_rejections"],
        "rate_rejections": stats["rate_rejections"],
        "digest": _digest(client.tokens.get()),
        "started": started,
        "ended": time.time(),
    }


def cmd_slots(key: str, start_at: str, threads: str, per_thread: str, interval: str) -> dict:
    store = PostgresSlotStore()
    slots: list[float] = []
    lock = threading.Lock()

    def one():
        mine = [store.take(key, time.time(), float(interval)) for _ in range(int(per_thread))]
        with lock:
            slots.extend(mine)

    _wait_until(float(start_at))
    pool = [threading.Thread(target=one) for _ in range(int(threads))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    store.close()
    return {"slots": slots}


def cmd_hold_lock(key: str) -> None:
    store = PostgresTokenStore()
    with store.locked(key):
        print(json.dumps({"locked": True}), flush=True)
        time.sleep(3600)  # until killed


def is_conflict(error: BaseException | None) -> bool:
    """A DuckLake commit conflict, also when pipelines/core/warehouse.py's ROLLBACK after the failed COMMIT (a failed
    COMMIT has already ended the transaction) raised over it."""
    while error is not None:
        if isinstance(error, duckdb.TransactionException) and "Transaction conflict" in str(error):
            return True
        error = error.__context__
    return False


class TableLocks:
    """One writer per warehouse table across processes and hosts: what a Dagster pool per table (limit 1) gives the
    runs, held here with a Postgres advisory lock so that the test needs no Dagster daemon."""

    def __init__(self) -> None:
        self.conn = open_connection(os.environ["FLEET_COORDINATION_URL"])

    @contextlib.contextmanager
    def hold(self, table: str):
        key = int.from_bytes(hashlib.sha256(f"warehouse\n{table}".encode()).digest()[:8], "big", signed=True)
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (key,))


def cmd_marts(data_dir: str, day: str, start_at: str, strategy: str) -> dict:
    """Build every mart for `day` from the lake under `data_dir` into the DuckLake warehouse, in the assets' order,
    as one run would.

    strategy: "none" (a conflict fails the run), "retry" (a conflicting file is run again: each file is one
    idempotent transaction), "lock" (one writer per table: TableLocks)."""
    from assets.marts import MARTS, build_mart
    from tests.support import lake_of

    conn = ducklake.connect()
    lake = lake_of(Path(data_dir))
    locks = TableLocks() if strategy == "lock" else None
    report = {"day": day, "strategy": strategy, "conflicts": 0, "failed": None, "marts": {}}
    print(json.dumps({"ready": True}), flush=True)
    _wait_until(float(start_at))
    started = time.monotonic()
    for mart in MARTS:
        t0 = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            try:
                with locks.hold(mart.name) if locks else contextlib.nullcontext():
                    build_mart(conn, lake, mart, [date.fromisoformat(day)])
                break
            except duckdb.Error as error:
                if not is_conflict(error):
                    raise
                report["conflicts"] += 1
                if strategy != "retry" or attempts >= 50:
                    report["failed"] = f"{mart.name}: {str(error).splitlines()[-1]}"
                    break
                time.sleep(0.05 * attempts)
        report["marts"][mart.name] = {"attempts": attempts, "seconds": round(time.monotonic() - t0, 3)}
        print(json.dumps({"done": mart.name}), flush=True)
        if report["failed"]:
            break
    report["seconds"] = round(time.monotonic() - started, 3)
    return report


def cmd_pipeline(data_dir: str, day: str, start_at: str, base_url: str) -> dict:
    """One Dagster run of the whole pipeline (every asset, for `day`) against the SAJ simulator at `base_url`, as a
    run worker of the distributed profile executes it: the instance from DAGSTER_HOME (Postgres storage, the pools),
    the lake, warehouse and coordination from the FLEET_* variables, the credentials from SAJ_APP_ID/SAJ_APP_SECRET.
    `data_dir` is this worker's own FLEET_DATA_DIR: nothing of the run may land there."""
    import dagster as dg

    from pipelines.resources import build_resources
    from tests.support import run

    instance = dg.DagsterInstance.get()
    resources = build_resources(data_dir, saj={"base_url": base_url})
    print(json.dumps({"ready": True}), flush=True)
    _wait_until(float(start_at))
    started = time.monotonic()
    result = run(partition_key=day, resources=resources, instance=instance, raise_on_error=False)
    failures = [
        f"{e.event_type_value} {e.step_key or ''}: {e.message} {getattr(e.event_specific_data, 'error', '')}"[:2000]
        for e in result.all_events
        if e.is_failure or e.event_type_value == "RUN_FAILURE"
    ]
    checks = [c for c in result.get_asset_check_evaluations() if not c.passed]
    return {
        "day": day,
        "success": result.success,
        "failures": failures,
        "failed_checks": sorted(f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks),
        "seconds": round(time.monotonic() - started, 3),
        "run_id": result.run_id,
    }


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "hold-lock":
        cmd_hold_lock(*args)
    else:
        out = {"token": cmd_token, "slots": cmd_slots, "marts": cmd_marts, "pipeline": cmd_pipeline}[command](*args)
        print(json.dumps(out), flush=True)
