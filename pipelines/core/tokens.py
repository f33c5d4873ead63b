"""Access tokens shared by every thread and process (and, with a shared store, every host).

Some vendors keep one live token per app (SAJ: asking for a new one invalidates the previous one), and all
keep them short-lived, so a token is fetched once and shared. `TokenProvider` holds one token for one key
(vendor, app, base URL): threads share it through a lock, processes through a `TokenStore`. Every refresh
happens under the store's exclusive lock, and `invalidate(bad)` refreshes only if the stored token is still
the bad one, so N threads or processes that see a refused token together cause one refresh.

`FileTokenStore` keeps the token in a 0600 file per key under a private directory and locks with `flock`:
every process on one machine. A Postgres store (`pipelines.core.postgres`) does the same across hosts.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipelines.core.errors import logger, register_secret

log = logger("pipelines.core.tokens")


def refresh_margin_s(expires_s: float) -> float:
    """How long before the server's expiry a token is retired: 10 % of its life, at most 5 min."""
    return min(300.0, max(0.0, 0.1 * expires_s))


@dataclass(frozen=True)
class Token:
    value: str
    obtained_at: float  # epoch seconds
    expires_s: float

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.expires_s

    def fresh(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return now < self.expires_at - refresh_margin_s(self.expires_s)

    def record(self) -> dict:
        return {"token": self.value, "obtained_at": self.obtained_at, "expires_s": self.expires_s}

    @classmethod
    def from_record(cls, record: dict | None) -> Token | None:
        try:
            return cls(str(record["token"]), float(record["obtained_at"]), float(record["expires_s"]))  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            return None

    def __repr__(self) -> str:
        return f"Token(obtained_at={self.obtained_at:.0f}, expires_s={self.expires_s:.0f})"


class TokenStore(Protocol):
    """Where an access token lives so every thread, process and host shares one per key."""

    def load(self, key: str) -> dict | None: ...

    def save(self, key: str, record: dict) -> None: ...

    def locked(self, key: str) -> contextlib.AbstractContextManager[None]: ...

    def version(self, key: str) -> object: ...


class FileTokenStore:
    """Tokens in private files under `directory` (0700), one per key, written atomically, locked with flock."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, key: str) -> Path:
        return self.directory / f"token-{_digest(key)}.json"

    def load(self, key: str) -> dict | None:
        try:
            with open(self.path(key), encoding="utf-8") as f:
                return json.load(f)
        except (FileNotFoundError, ValueError):
            return None

    def save(self, key: str, record: dict) -> None:
        final = self.path(key)
        tmp = final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(record, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        fd = os.open(self.directory / f"token-{_digest(key)}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def version(self, key: str) -> object:
        try:
            return os.stat(self.path(key)).st_mtime_ns
        except FileNotFoundError:
            return None


class MemoryTokenStore:
    """Tokens of one process (a client without a shared directory: tests, one-off scripts)."""

    def __init__(self) -> None:
        self._records: dict[str, dict] = {}
        self._versions: dict[str, int] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def load(self, key: str) -> dict | None:
        return self._records.get(key)

    def save(self, key: str, record: dict) -> None:
        with self._guard:
            self._records[key] = dict(record)
            self._versions[key] = self._versions.get(key, 0) + 1

    def locked(self, key: str) -> contextlib.AbstractContextManager[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.RLock())
        return lock

    def version(self, key: str) -> object:
        return self._versions.get(key)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


# fetch() -> (token, expires_s); raises the vendor's ApiError
Fetcher = Callable[[], "tuple[str, float]"]


class TokenProvider:
    """One access token for `key`, shared by threads (a lock) and processes (the store)."""

    def __init__(self, key: str, fetch: Fetcher, store: TokenStore, label: str = "access") -> None:
        self.key = key
        self.label = label  # for the log: "SAJ", "SMA", ...
        self.store = store
        self._fetch = fetch
        self._lock = threading.RLock()
        self._token: Token | None = None
        self._version: object = None
        self.refreshes = 0  # tokens this process asked the server for

    def __repr__(self) -> str:
        return f"TokenProvider({self.label})"

    def _read(self) -> Token | None:
        version = self.store.version(self.key)
        token = Token.from_record(self.store.load(self.key))
        if token is not None:
            register_secret(token.value)
        self._version = version
        return token

    def _current(self) -> Token | None:
        """This process's token while it is fresh and nobody else replaced it."""
        token = self._token
        if token is not None and token.fresh() and self.store.version(self.key) == self._version:
            return token
        return None

    def _refresh_locked(self) -> Token:
        """Ask the server for a new token (call with both locks held)."""
        t0 = time.time()
        value, expires_s = self._fetch()
        register_secret(value)
        token = Token(value, t0, expires_s)
        self.store.save(self.key, token.record())
        self._version = self.store.version(self.key)
        self.refreshes += 1
        log.info("obtained a new %s access token (expires in %.0f s)", self.label, expires_s)
        return token

    def get(self) -> str:
        """A fresh token: this process's copy, the store's, or a new one from the server."""
        token = self._current()
        if token is not None:
            return token.value
        with self._lock:
            token = self._current()
            if token is not None:
                return token.value
            stored = self._read()  # another process may have refreshed it
            if stored is not None and stored.fresh():
                self._token = stored
                return stored.value
            with self.store.locked(self.key):
                stored = self._read()
                if stored is not None and stored.fresh():
                    self._token = stored
                    return stored.value
                self._token = self._refresh_locked()
                return self._token.value

    def invalidate(self, bad_token: str) -> str:
        """The server refused `bad_token`: refresh, unless someone already replaced it. Returns the token to
        use now."""
        with self._lock:
            token = self._current()
            if token is not None and token.value != bad_token:
                return token.value
            with self.store.locked(self.key):
                stored = self._read()
                if stored is not None and stored.value != bad_token and stored.fresh():
                    self._token = stored
                    return stored.value
                log.info("the %s access token was refused; refreshing it", self.label)
                self._token = self._refresh_locked()
                return self._token.value
