"""Coordination in PostgreSQL: one access token per (vendor, app) and one send schedule per rate-limit key,
shared by every thread, process and host of a deployment (`FLEET_COORDINATION_URL`).

The local-file stores (the embedded default: `FileTokenStore`, `FileSlotStore`) keep the same two things in
files behind `flock`, which only processes of one machine can share. These implement the same interfaces
(`pipelines.core.tokens.TokenStore`, `pipelines.core.ratelimit.SlotStore`) on a database that every worker
reaches. What they guarantee:

- `PostgresSlotStore.take` is one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement: Postgres locks the
  key's row for it, so however many processes and hosts call it, no two callers get slots closer than `interval`,
  and `push` never moves a key's next slot earlier. Slots are wall-clock epoch seconds from the callers' clocks:
  the hosts must keep their clocks in sync (NTP), as any shared schedule requires.
- `PostgresTokenStore.locked` holds a session-level advisory lock on its own connection: exclusive across every
  process and host, and released by the server if the holder dies (its connection closes), so a killed worker
  never blocks the refresh for the others. Session-level means a pooler in transaction mode (PgBouncer
  `pool_mode=transaction`) must not sit between the workers and Postgres; session pooling or a direct connection.
- Every other operation is one statement on an autocommit connection (one short transaction), so no transaction
  is ever left open while a worker waits for the network.
- Tables are created if missing, under a transaction-scoped advisory lock (concurrent `CREATE TABLE IF NOT
  EXISTS` from several workers can otherwise fail on the catalog's unique index).

Tokens are secrets. They are never logged, never part of an exception (a database error while reading or
writing one is re-raised as `CoordinationError` with its SQLSTATE only, since Postgres' own messages can quote
the row), and never in `repr`. At rest they live in the table `fleet_tokens` alone, which the pipeline's role
creates and therefore owns: Postgres gives no other role access to it unless granted, so run the workers under a
role of their own (not one shared with analysts or BI tools), grant nothing on that table, connect with TLS
(`sslmode=verify-full`) beyond loopback, and keep the database's storage and backups encrypted (managed
Postgres does). A token expires within hours; the app secret that mints it is never stored here.

The DSN (libpq `key=value` or `postgresql://` URL) comes from `FLEET_COORDINATION_URL` unless given; it is never
logged either (it can hold a password).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from pipelines.core.ratelimit import SlotStore
from pipelines.core.tokens import TokenStore

ENV = "FLEET_COORDINATION_URL"
TOKENS = "fleet_tokens"
SLOTS = "fleet_rate_slots"
# A slot this far beyond the caller's clock means that clock went back (or another host's runs ahead): start the
# schedule afresh rather than make every caller wait an hour. The same rule as FileSlotStore.
CLOCK_JUMP_S = 3600.0

T = TypeVar("T")


class CoordinationError(RuntimeError):
    """The coordination database failed an operation (the message never carries a token or the DSN)."""


def coordination_dsn(dsn: str | None = None) -> str:
    dsn = dsn or os.environ.get(ENV, "")
    if not dsn:
        raise CoordinationError(f"no coordination database: set {ENV} (a libpq DSN or postgresql:// URL)")
    return dsn


def _lock_id(namespace: str, key: str) -> int:
    """A stable signed 64-bit advisory-lock id for (namespace, key)."""
    digest = hashlib.sha256(f"{namespace}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_DDL = {
    TOKENS: f"""
        CREATE TABLE IF NOT EXISTS {TOKENS} (
            key       text PRIMARY KEY,
            record    jsonb NOT NULL,
            version   bigint NOT NULL DEFAULT 1,
            saved_at  timestamptz NOT NULL DEFAULT now()
        )""",
    SLOTS: f"""
        CREATE TABLE IF NOT EXISTS {SLOTS} (
            key       text PRIMARY KEY,
            slot_at   double precision,
            next_at   double precision NOT NULL
        )""",
}


class _Connection:
    """One autocommit connection shared by a store's threads (a lock serialises them: each operation is one short
    statement), reopened after a fork or a lost connection."""

    def __init__(self, dsn: str, table: str) -> None:
        self._dsn = dsn
        self._table = table
        self._lock = threading.Lock()
        self._conn: psycopg2.extensions.connection | None = None
        self._pid = 0

    def _open(self) -> psycopg2.extensions.connection:
        conn = open_connection(self._dsn)
        ensure_table(conn, self._table)
        return conn

    def run(self, fn: Callable[[psycopg2.extensions.cursor], T]) -> T:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed or self._pid != os.getpid():
                    self._conn, self._pid = self._open(), os.getpid()
                try:
                    with self._conn.cursor() as cur:
                        return fn(cur)
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    # The server restarted or the network dropped: once more on a new connection. (A `take` whose
                    # answer was lost is taken again: a slot is skipped, never handed out twice.)
                    with contextlib.suppress(Exception):
                        self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


def open_connection(dsn: str) -> psycopg2.extensions.connection:
    try:
        conn = psycopg2.connect(dsn, application_name="fleet-coordination", connect_timeout=10)
    except psycopg2.Error as error:
        # libpq's first line names host and port, never the password; the DSN itself is not repeated (and the
        # original error, raised outside this block, is not kept as __context__).
        failure = f"cannot connect to the coordination database ({ENV}): {str(error).strip().splitlines()[0]}"
    else:
        conn.autocommit = True
        return conn
    raise CoordinationError(failure)


def ensure_table(conn: psycopg2.extensions.connection, table: str) -> None:
    """Create `table` if missing, one creator at a time (autocommit connection in, autocommit connection out)."""
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id("ddl", table),))
            cur.execute(_DDL[table])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True


class PostgresTokenStore(TokenStore):
    """TokenStore in the table `fleet_tokens` (see the module docstring for how tokens are protected)."""

    def __init__(self, dsn: str | None = None, lock_timeout_s: float = 600) -> None:
        self._dsn = coordination_dsn(dsn)
        self._conn = _Connection(self._dsn, TOKENS)
        self.lock_timeout_s = lock_timeout_s

    def __repr__(self) -> str:
        return f"PostgresTokenStore(table={TOKENS!r})"

    def _secret_safe(self, what: str, fn: Callable[[psycopg2.extensions.cursor], T]) -> T:
        try:
            return self._conn.run(fn)
        except psycopg2.Error as error:
            # The server's message and DETAIL can quote the record being written: keep only the SQLSTATE, and
            # raise outside this block so the original is not even reachable as __context__.
            failure = f"token store: {what} failed ({type(error).__name__}, SQLSTATE {error.pgcode or 'none'})"
        raise CoordinationError(failure)

    def load(self, key: str) -> dict | None:
        def fn(cur):
            cur.execute(f"SELECT record FROM {TOKENS} WHERE key = %s", (key,))
            row = cur.fetchone()
            return None if row is None else dict(row[0])

        return self._secret_safe("load", fn)

    def save(self, key: str, record: dict) -> None:
        text = json.dumps(record)

        def fn(cur):
            cur.execute(
                f"INSERT INTO {TOKENS} AS t (key, record) VALUES (%s, %s::jsonb) "
                "ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record, version = t.version + 1, saved_at = now()",
                (key, text),
            )

        self._secret_safe("save", fn)

    def version(self, key: str) -> object:
        """The record's version: a counter the database raises on every save (None while there is none)."""

        def fn(cur):
            cur.execute(f"SELECT version FROM {TOKENS} WHERE key = %s", (key,))
            row = cur.fetchone()
            return None if row is None else row[0]

        return self._secret_safe("version", fn)

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Exclusive across threads, processes and hosts while the body (a refresh) runs."""
        conn = open_connection(self._dsn)
        lock = _lock_id(TOKENS, key)
        try:
            with conn.cursor() as cur:
                cur.execute("SET lock_timeout = %s", (f"{int(self.lock_timeout_s * 1000)}ms",))
                try:
                    cur.execute("SELECT pg_advisory_lock(%s)", (lock,))
                except psycopg2.errors.LockNotAvailable:
                    raise TimeoutError(f"the token refresh lock was not free within {self.lock_timeout_s} s") from None
            try:
                yield
            finally:
                with contextlib.suppress(psycopg2.Error), conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (lock,))
        finally:
            conn.close()  # closing also releases the lock, should the unlock have failed

    def close(self) -> None:
        self._conn.close()


class PostgresSlotStore(SlotStore):
    """SlotStore in the table `fleet_rate_slots`: one row per rate-limit key."""

    def __init__(self, dsn: str | None = None) -> None:
        self._conn = _Connection(coordination_dsn(dsn), SLOTS)

    def __repr__(self) -> str:
        return f"PostgresSlotStore(table={SLOTS!r})"

    def take(self, key: str, now: float, interval: float) -> float:
        """Atomically: slot = max(now, next); next = slot + interval; returns slot."""

        def fn(cur):
            cur.execute(
                f"""
                INSERT INTO {SLOTS} AS s (key, slot_at, next_at) VALUES (%(key)s, %(now)s, %(now)s + %(interval)s)
                ON CONFLICT (key) DO UPDATE SET (slot_at, next_at) = (
                    SELECT slot, slot + %(interval)s FROM (
                        SELECT CASE WHEN s.next_at > %(now)s + %(jump)s THEN %(now)s
                                    ELSE greatest(%(now)s, s.next_at) END AS slot) AS chosen)
                RETURNING slot_at""",
                {"key": key, "now": float(now), "interval": float(interval), "jump": CLOCK_JUMP_S},
            )
            return cur.fetchone()[0]

        return self._conn.run(fn)

    def push(self, key: str, not_before: float) -> None:
        """Atomically: next = max(next, not_before)."""

        def fn(cur):
            cur.execute(
                f"INSERT INTO {SLOTS} AS s (key, next_at) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET next_at = greatest(s.next_at, EXCLUDED.next_at)",
                (key, float(not_before)),
            )

        self._conn.run(fn)

    def close(self) -> None:
        self._conn.close()
