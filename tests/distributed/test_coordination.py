"""The coordination stores in PostgreSQL (pipelines/core/postgres.py) against a real server, used by several
processes at once as Dagster run processes on several hosts would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest

from pipelines.core import postgres as pg
from simulator import Faults

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]


def workers(command: str, *args, count: int, env: dict) -> list[dict]:
    """Run `count` worker processes (tests/distributed/workers.py) at once; their JSON answers."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.distributed.workers", command, *map(str, args)],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    answers = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers


def test_workers_share_one_token_and_one_budget(pg_dsn, make_simulator):
    """Four worker processes of four threads each, the pipeline's SAJ client in each with its token and rate-limit
    stores in Postgres, start together with no token stored, against a server that answers in 0.3 s: one refresh
    in all and one token for all, no call refused for its token (SAJ keeps one live token per app: a second refresh
    would have logged the first holder out), and the 16 calls of plant/details paced as one budget (5 QPS x 0.95:
    at least 15 intervals of 0.21 s; four separate budgets would finish in about a third of that)."""
    server = make_simulator(plants=1, limits=True, faults=Faults(latency_s=0.3))
    env = {pg.ENV: pg_dsn, "SAJ_APP_ID": server.fleet.app_id, "SAJ_APP_SECRET": server.fleet.app_secret}
    plant_id = server.fleet.plants[0].plant_id
    answers = workers("token", time.time() + 4, 4, server.base_url, plant_id, count=4, env=env)
    assert [c for a in answers for c in a["codes"]] == [200] * 16
    assert sum(a["refreshes"] for a in answers) == 1
    assert len({a["digest"] for a in answers}) == 1
    stats = server.stats()
    assert stats["tokens_issued"] == 1 and sum(a["token_rejections"] for a in answers) == 0
    assert not any(200010 in codes for codes in stats["codes"].values())
    span = max(a["ended"] for a in answers) - min(a["started"] for a in answers)
    assert span >= 15 / (5 * 0.95) - 0.05, span
    # (The server's own 1-second window may still refuse a call or two, retried: its 0.3 s sleep before counting
    # jitters on a loaded machine. The pace itself is the slot test's subject below.)


def test_take_never_hands_out_two_slots_closer_than_the_interval(pg_dsn):
    """Three processes of four threads, 40 slots each, taken as fast as they can: every slot of the key is at
    least `interval` after the previous one, whoever took it."""
    interval = 0.005
    answers = workers("slots", "saj:device/uploadData", time.time() + 3, 4, 40, interval, count=3, env={pg.ENV: pg_dsn})
    slots = sorted(s for a in answers for s in a["slots"])
    assert len(slots) == 3 * 4 * 40
    gaps = [b - a for a, b in zip(slots, slots[1:])]
    assert min(gaps) >= interval - 1e-6, min(gaps)
    # and they were contended: the schedule, not the callers' own pace, spread them
    assert slots[-1] - slots[0] >= (len(slots) - 1) * interval - 1e-3


def test_push_moves_the_schedule_later_never_earlier(pg_dsn):
    store = pg.PostgresSlotStore(pg_dsn)
    now = time.time()
    assert store.take("k", now, 1.0) == now
    store.push("k", now + 30)
    store.push("k", now + 5)  # earlier than what is already there: no effect
    assert store.take("k", now + 1, 1.0) == now + 30
    assert store.take("k", now + 1, 1.0) == now + 31
    store.push("other", now + 10)  # a key never taken before
    assert store.take("other", now, 0.5) == now + 10
    store.close()


def test_a_clock_that_went_back_starts_the_schedule_afresh(pg_dsn):
    store = pg.PostgresSlotStore(pg_dsn)
    now = time.time()
    store.push("k", now + 2 * pg.CLOCK_JUMP_S)
    assert store.take("k", now, 1.0) == now
    assert store.take("k", now, 1.0) == now + 1.0
    store.close()


def test_token_store_round_trip_and_version(pg_dsn):
    store = pg.PostgresTokenStore(pg_dsn)
    assert store.load("saj:a") is None and store.version("saj:a") is None
    store.save("saj:a", {"token": "t1", "obtained_at": 1.5, "expires_s": 7200})
    v1 = store.version("saj:a")
    assert store.load("saj:a") == {"token": "t1", "obtained_at": 1.5, "expires_s": 7200}
    store.save("saj:a", {"token": "t2", "obtained_at": 2.5, "expires_s": 7200})
    assert store.version("saj:a") != v1
    assert store.load("saj:a")["token"] == "t2"
    assert store.load("saj:b") is None  # keys are independent
    store.close()


def test_the_lock_excludes_threads_of_one_process(pg_dsn):
    store = pg.PostgresTokenStore(pg_dsn)
    inside, overlaps = [], []

    def body():
        with store.locked("saj:a"):
            inside.append(1)
            if len(inside) > 1:
                overlaps.append(1)
            time.sleep(0.05)
            inside.pop()

    threads = [threading.Thread(target=body) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    store.close()


def test_a_killed_lock_holder_frees_the_lock(pg_dsn):
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.distributed.workers", "hold-lock", "saj:a"],
        cwd=ROOT,
        env={**os.environ, pg.ENV: pg_dsn},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert json.loads(holder.stdout.readline())["locked"]
        store = pg.PostgresTokenStore(pg_dsn, lock_timeout_s=0.5)
        with pytest.raises(TimeoutError):
            with store.locked("saj:a"):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        store.lock_timeout_s = 10
        started = time.monotonic()
        with store.locked("saj:a"):
            pass
        assert time.monotonic() - started < 5
        store.close()
    finally:
        holder.kill()
        holder.wait()


def test_tokens_stay_out_of_errors_and_reprs(pg_dsn):
    """A database error while saving a token says what failed, not what was being written; nor does a failed
    connection repeat the DSN's password."""
    secret = "s3cr3t-token-value"
    store = pg.PostgresTokenStore(pg_dsn)
    with pytest.raises(pg.CoordinationError) as raised:
        store.save("saj:a", {"token": secret + "\u0000"})  # jsonb refuses \u0000, and Postgres quotes the value
    assert secret not in str(raised.value) and raised.value.__cause__ is None and raised.value.__context__ is None
    assert secret not in repr(store) and "dbname" not in repr(store)
    store.close()
    with pytest.raises(pg.CoordinationError) as raised:
        pg.PostgresTokenStore("host=127.0.0.1 port=9 user=fleet password=hunter2 dbname=x").load("saj:a")
    assert "hunter2" not in str(raised.value)


def test_the_tables_are_the_pipeline_roles_alone(pg_dsn):
    """Another role of the same database cannot read the tokens."""
    store = pg.PostgresTokenStore(pg_dsn)
    store.save("saj:a", {"token": "t"})
    store.close()
    with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE ROLE analyst LOGIN")
    try:
        with psycopg2.connect(pg_dsn.replace("user=postgres", "user=analyst")) as conn, conn.cursor() as cur:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute(f"SELECT * FROM {pg.TOKENS}")
    finally:
        with psycopg2.connect(pg_dsn) as conn, conn.cursor() as cur:
            conn.autocommit = True
            cur.execute("DROP ROLE analyst")


def test_no_dsn_is_a_clear_error(monkeypatch):
    monkeypatch.delenv(pg.ENV, raising=False)
    with pytest.raises(pg.CoordinationError, match=pg.ENV):
        pg.PostgresSlotStore()


def test_solax_quota_is_counted_once_for_every_host(pg_dsn, monkeypatch, tmp_path):
    """SolaX's daily quota is the token's, whichever host polls: with FLEET_COORDINATION_URL every ledger (two
    hosts, each with its own cache folder) counts into one record, and a lock-out one host meets stops the other."""
    from pipelines.sources.solax.quota import CallLedger

    monkeypatch.setenv("FLEET_COORDINATION_URL", pg_dsn)
    hosts = [CallLedger(tmp_path / f"host{i}", "token-ns") for i in range(2)]
    t0 = 1_800_000_000.0

    def rounds(ledger: CallLedger) -> None:
        for k in range(20):  # within one minute of the shared clock
            ledger.record_round(t0 + k, t0 + k, 3, {})

    threads = [threading.Thread(target=rounds, args=(ledger,)) for ledger in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert hosts[0].calls_last_24h(t0 + 500) == hosts[1].calls_last_24h(t0 + 500) == 2 * 20 * 3  # none lost
    hosts[1].block(t0 + 4_000, "SolaX answered code 1")
    assert hosts[0].blocked(t0 + 1_000) == (t0 + 4_000, "SolaX answered code 1")
    assert not any((tmp_path / f"host{i}").exists() for i in range(2))  # nothing kept on either host
