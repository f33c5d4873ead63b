"""Worker processes for the distributed tests: `python -m tests.distributed.workers COMMAND ...`.

Each stands for a Dagster run process on some host: it gets the coordination database from FLEET_COORDINATION_URL
(and the app's credentials from SAJ_APP_ID / SAJ_APP_SECRET, never from argv), waits for a common start instant so
that the processes really race, and prints one JSON line. No token is ever printed: only a digest of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time

from pipelines.core.postgres import PostgresSlotStore, PostgresTokenStore


def _wait_until(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def get_token(store: PostgresTokenStore, key: str, fetch) -> tuple[dict, bool]:
    """The refresh protocol a token provider runs on a TokenStore: use the stored token while it is fresh, else
    refresh under the lock, after looking again (someone may have refreshed while we waited). (record, refreshed)"""

    def fresh(record):
        return record is not None and time.time() < record["obtained_at"] + record["expires_s"] - 60

    record = store.load(key)
    if fresh(record):
        return record, False
    with store.locked(key):
        record = store.load(key)
        if fresh(record):
            return record, False
        obtained_at = time.time()
        token, expires_s = fetch()
        record = {"token": token, "obtained_at": obtained_at, "expires_s": expires_s}
        store.save(key, record)
        return record, True


def cmd_token(key: str, start_at: str, threads: str, base_url: str, hold_s: str) -> dict:
    from pipelines.auth import default_fetcher

    fetcher = default_fetcher(base_url)
    app_id, secret = os.environ["SAJ_APP_ID"], os.environ["SAJ_APP_SECRET"]

    def fetch():
        token = fetcher(app_id, secret)
        time.sleep(float(hold_s))  # a slow token endpoint: the window in which a second refresher would slip in
        return token

    store = PostgresTokenStore()
    results: list[tuple[str, bool]] = []

    def one():
        record, refreshed = get_token(store, key, fetch)
        results.append((_digest(record["token"]), refreshed))

    _wait_until(float(start_at))
    pool = [threading.Thread(target=one) for _ in range(int(threads))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    store.close()
    return {"digests": sorted({d for d, _ in results}), "refreshes": sum(r for _, r in results),
            "calls": len(results)}


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


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "hold-lock":
        cmd_hold_lock(*args)
    else:
        out = {"token": cmd_token, "slots": cmd_slots}[command](*args)
        print(json.dumps(out), flush=True)
