"""The access token (one per app, shared by every thread and process) and `clientSign`.

SAJ keeps one live token per app: asking for a new one invalidates the previous one. Dagster runs
each run in its own process, so the token lives in a cache file under `cache_dir` (0600), and every
refresh happens under an exclusive `flock` on a lock file beside it: exactly one refresh at a time,
fleet-wide. `invalidate(bad)` refreshes only if the cached token is still the bad one, so N threads
(or processes) that see "accessToken does not exist" together cause one refresh.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import requests

from pipelines.envelope import is_success, normalise, parse_body
from pipelines.errors import (
    SajApiError,
    SajCredentialsError,
    SajTransientError,
    register_secret,
)

log = logging.getLogger("pipelines.auth")

TOKEN_PATH = "/open/api/access_token"
DEFAULT_EXPIRES_S = 7200  # what the reference's example shows; used when the server sends none


def sign(app_id: str, device_sn: str) -> str:
    """clientSign: sha256 hex of "appId=<appId>,deviceSN=<deviceSn>"."""
    return hashlib.sha256(f"appId={app_id},deviceSN={device_sn}".encode("utf-8")).hexdigest()


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

    def __repr__(self) -> str:
        return f"Token(obtained_at={self.obtained_at:.0f}, expires_s={self.expires_s:.0f})"


# fetch(app_id, app_secret) -> (token, expires_s); raises SajError
Fetcher = Callable[[str, str], "tuple[str, float]"]


def default_fetcher(base_url: str, timeout_s: float = 30, verify_tls: bool = True, attempts: int = 4) -> Fetcher:
    """A plain requests-based token fetch with a few retries (the client injects its own)."""

    def fetch(app_id: str, app_secret: str) -> tuple[str, float]:
        params = {"appId": app_id, "appSecret": app_secret}
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                r = requests.get(
                    base_url.rstrip("/") + TOKEN_PATH,
                    params=params,
                    headers={"content-language": "en_US"},
                    timeout=timeout_s,
                    verify=verify_tls,
                )
                env = normalise(parse_body(r.content.decode("utf-8", errors="replace")))
                if r.status_code < 500 and is_success(env.code):
                    return parse_token_data(env.data)
                if r.status_code < 500 and env.code not in (None, 10001):
                    raise token_error(env.code, env.msg)
                last = f"HTTP {r.status_code} code {env.code}"
            except requests.RequestException as exc:
                last = type(exc).__name__
            time.sleep(random.uniform(0, min(8.0, 0.5 * 2 ** (attempt - 1))))
        raise SajTransientError("access_token", {"appId": app_id, "appSecret": "***"}, attempts, last)

    return fetch


def parse_token_data(data: object) -> tuple[str, float]:
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise SajApiError("access_token", {}, None, "no access_token in the answer")
    expires = data.get("expires")
    try:
        expires_s = float(expires) if expires not in (None, "") else DEFAULT_EXPIRES_S
    except (TypeError, ValueError):
        expires_s = DEFAULT_EXPIRES_S
    if expires_s <= 0:
        expires_s = DEFAULT_EXPIRES_S
    return data["access_token"], expires_s


def token_error(code: int | None, msg: str | None, response: object = None) -> SajApiError:
    params = {"appId": getattr(response, "params", {}).get("appId") if response is not None else None,
              "appSecret": "***"}
    if code in (100009, 200008, 200014, 10004):
        return SajCredentialsError("access_token", params, code, msg, response=response)
    return SajApiError("access_token", params, code, msg, response=response)


class TokenProvider:
    """The app's access token, shared by threads (a lock) and processes (a cache file + flock)."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str,
        cache_dir: str | os.PathLike,
        fetcher: Fetcher | None = None,
        timeout_s: float = 30,
        verify_tls: bool = True,
    ) -> None:
        self.app_id = app_id
        self._secret = app_secret
        register_secret(app_secret)
        self.base_url = base_url.rstrip("/")
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = hashlib.sha256(f"{app_id}\n{self.base_url}".encode("utf-8")).hexdigest()[:24]
        self.cache_path = self.cache_dir / f"saj-token-{key}.json"
        self.lock_path = self.cache_dir / f"saj-token-{key}.lock"
        self._fetch = fetcher or default_fetcher(self.base_url, timeout_s, verify_tls)
        self._lock = threading.RLock()
        self._token: Token | None = None
        self._loaded_mtime: int | None = None
        self.refreshes = 0  # tokens this process asked the server for

    def __repr__(self) -> str:
        return f"TokenProvider(app_id={self.app_id!r}, base_url={self.base_url!r}, cache={str(self.cache_path)!r})"

    # --- the cache file -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _mtime(self) -> int | None:
        try:
            return os.stat(self.cache_path).st_mtime_ns
        except FileNotFoundError:
            return None

    def _read_cache(self) -> Token | None:
        try:
            mtime = self._mtime()
            with open(self.cache_path, encoding="utf-8") as f:
                raw = json.load(f)
            token = Token(str(raw["token"]), float(raw["obtained_at"]), float(raw["expires_s"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
        register_secret(token.value)
        self._loaded_mtime = mtime
        return token

    def _write_cache(self, token: Token) -> None:
        tmp = self.cache_path.with_name(f"{self.cache_path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"token": token.value, "obtained_at": token.obtained_at, "expires_s": token.expires_s,
                           "app_id": self.app_id, "base_url": self.base_url}, f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.cache_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._loaded_mtime = self._mtime()

    def _refresh_locked(self) -> Token:
        """Ask the server for a new token (call with both locks held)."""
        t0 = time.time()
        value, expires_s = self._fetch(self.app_id, self._secret)
        register_secret(value)
        token = Token(value, t0, expires_s)
        self._write_cache(token)
        self.refreshes += 1
        log.info("obtained a new SAJ access token for app %s (expires in %.0f s)", self.app_id, expires_s)
        return token

    # --- API ----------------------------------------------------------------------------------
    def get(self) -> str:
        """A fresh token: this process's copy, the cache file's, or a new one from the server."""
        token = self._token
        if token is not None and token.fresh() and self._mtime() == self._loaded_mtime:
            return token.value
        with self._lock:
            token = self._token
            if token is not None and token.fresh() and self._mtime() == self._loaded_mtime:
                return token.value
            cached = self._read_cache()  # another process may have refreshed it
            if cached is not None and cached.fresh():
                self._token = cached
                return cached.value
            with self._file_lock():
                cached = self._read_cache()
                if cached is not None and cached.fresh():
                    self._token = cached
                    return cached.value
                self._token = self._refresh_locked()
                return self._token.value

    def invalidate(self, bad_token: str) -> str:
        """The server refused `bad_token`: refresh, unless someone already replaced it. Returns the
        token to use now."""
        with self._lock:
            token = self._token
            if token is not None and token.value != bad_token and token.fresh() \
                    and self._mtime() == self._loaded_mtime:
                return token.value
            with self._file_lock():
                cached = self._read_cache()
                if cached is not None and cached.value != bad_token and cached.fresh():
                    self._token = cached
                    return cached.value
                log.info("the SAJ access token was refused; refreshing it")
                self._token = self._refresh_locked()
                return self._token.value

    def clear(self) -> None:
        """Forget the token here and in the cache file (e.g. after a credentials change)."""
        with self._lock, self._file_lock():
            self._token = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.cache_path)
