"""Per-endpoint pacing at each vendor's documented limits, shared by threads, processes and hosts.

Vendors count calls per endpoint over a sliding window and reject calls past the limit (SAJ: code 10006
"Too frequent access" past N calls in one second). A token bucket with a burst trips such a window as soon
as latency bunches the burst up at the server, so this limiter *schedules* calls: each endpoint hands out
send slots spaced 1/rate apart, where rate = documented limit x scale x safety (0.95). Threads wait for
their slot, so a pool of any size runs at, never over, the rate.

The slots live in a `SlotStore`: in memory (one process), in small files behind `flock` (every process on
one machine) or in Postgres (`pipelines.core.postgres`: every host). A store only needs one atomic
read-modify-write per call ("slot = max(now, next); next = slot + interval").

Why not pyrate-limiter: its buckets keep a log of recent items per key and allow the bursts a sliding
window rejects; an adaptive slow-down after rejections (another client of the same app, or a server limit
lower than documented) and a shared pause are not expressible as its static rates.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import struct
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from pipelines.core.errors import logger

log = logger("pipelines.core.ratelimit")

SAFETY = 0.95


class SlotStore(Protocol):
    """The next free send slot per rate-limit key (wall-clock epoch seconds)."""

    def take(self, key: str, now: float, interval: float) -> float: ...

    def push(self, key: str, not_before: float) -> None: ...

    def close(self) -> None: ...


class MemorySlotStore:
    """Slots of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def take(self, key: str, now: float, interval: float) -> float:
        with self._lock:
            slot = max(now, self._next.get(key, 0.0))
            self._next[key] = slot + interval
            return slot

    def push(self, key: str, not_before: float) -> None:
        with self._lock:
            self._next[key] = max(self._next.get(key, 0.0), not_before)

    def close(self) -> None:
        pass


class FileSlotStore:
    """Slots shared by the processes of one machine: an 8-byte float per key in a file under `directory`,
    read and written under an exclusive flock."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()  # flock does not exclude threads sharing one descriptor
        self._fds: dict[str, int] = {}

    def _fd(self, key: str) -> int:
        fd = self._fds.get(key)
        if fd is None:
            name = hashlib.sha256(key.encode()).hexdigest()[:20]
            fd = self._fds[key] = os.open(self.directory / f"rate-{name}.slot", os.O_RDWR | os.O_CREAT, 0o600)
        return fd

    def _update(self, key: str, fn: Callable[[float], tuple[float, float]]) -> float:
        with self._lock:
            fd = self._fd(key)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(fd, 8, 0)
                stored = struct.unpack("<d", raw)[0] if len(raw) == 8 else 0.0
                new_next, result = fn(stored)
                os.pwrite(fd, struct.pack("<d", new_next), 0)
                return result
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def take(self, key: str, now: float, interval: float) -> float:
        def fn(stored: float) -> tuple[float, float]:
            if stored > now + 3600:  # the clock went back: start afresh
                stored = 0.0
            slot = max(now, stored)
            return slot + interval, slot

        return self._update(key, fn)

    def push(self, key: str, not_before: float) -> None:
        self._update(key, lambda stored: (max(stored, not_before), 0.0))

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds.clear()


class RateLimiter:
    """Hands out send slots per endpoint of one vendor.

    documented: the vendor's documented limits (QPS per endpoint, None = unlimited); default_qps for the
    endpoints it does not list. qps: None (documented limits), a number (every limited endpoint), or a
    mapping endpoint -> QPS overriding the documented ones. qps_scale multiplies the limits (like the
    simulator's --qps-scale); safety keeps the pace just under them. enabled=False lets every call through.
    namespace: who shares the budget (the vendor's app and server), the prefix of every key in the store.
    clock/sleep: the time source and the wait (default: the process's clocks; a simulation passes its own, so
    pacing follows a stand-in's movable clock instead of the wall clock).
    """

    # After a rejection the pace drops to DECREASE x its current value (at most once per DECREASE_EVERY_S,
    # so one burst of rejections counts once) and climbs back to the full pace at RECOVER_PER_S of the
    # limit per second.
    DECREASE = 0.7
    DECREASE_EVERY_S = 1.0
    RECOVER_PER_S = 0.2
    MIN_FACTOR = 0.1

    def __init__(
        self,
        documented: Mapping[str, float | None],
        default_qps: float | None,
        qps: float | Mapping[str, float | None] | None = None,
        qps_scale: float = 1.0,
        safety: float = SAFETY,
        enabled: bool = True,
        store: SlotStore | None = None,
        namespace: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if qps_scale <= 0:
            raise ValueError("qps_scale must be > 0")
        if not 0 < safety <= 1:
            raise ValueError("safety must be in (0, 1]")
        self.documented = dict(documented)
        self.default_qps = default_qps
        self.qps = qps
        self.qps_scale = qps_scale
        self.safety = safety
        self.enabled = enabled
        self.store: SlotStore = store if store is not None else MemorySlotStore()
        # A shared store compares wall-clock times across processes; one process may use its monotonic clock.
        self._clock = clock or (time.monotonic if isinstance(self.store, MemorySlotStore) else time.time)
        self._namespace = namespace
        self._sleep = sleep
        self._lock = threading.Lock()
        self._waited = 0.0
        self._backoff: dict[str, tuple[float, float]] = {}  # endpoint -> (factor, time of the last decrease)

    # --- limits -------------------------------------------------------------------------------
    def documented_qps(self, endpoint: str) -> float | None:
        return self.documented.get(endpoint, self.default_qps)

    def limit(self, endpoint: str) -> float | None:
        """The server-side limit this limiter assumes for `endpoint` (QPS), None when unlimited."""
        if isinstance(self.qps, Mapping):
            base = self.qps[endpoint] if endpoint in self.qps else self.documented_qps(endpoint)
        elif self.qps is not None:
            base = None if self.documented_qps(endpoint) is None else float(self.qps)
        else:
            base = self.documented_qps(endpoint)
        return None if base is None else base * self.qps_scale

    def rate(self, endpoint: str) -> float | None:
        """The pace actually used (calls per second)."""
        lim = self.limit(endpoint)
        return None if lim is None else lim * self.safety * self.factor(endpoint)

    def factor(self, endpoint: str, now: float | None = None) -> float:
        state = self._backoff.get(endpoint)
        if state is None:
            return 1.0
        f0, t0 = state
        now = time.monotonic() if now is None else now
        f = min(1.0, f0 + (now - t0) * self.RECOVER_PER_S)
        if f >= 1.0:
            self._backoff.pop(endpoint, None)
        return f

    def on_rejected(self, endpoint: str) -> None:
        """The server said "too frequent": slow this endpoint down for a while."""
        if not self.enabled or self.limit(endpoint) is None:
            return
        with self._lock:
            now = time.monotonic()
            state = self._backoff.get(endpoint)
            if state is not None and now - state[1] < self.DECREASE_EVERY_S:
                return
            f = max(self.MIN_FACTOR, self.factor(endpoint, now) * self.DECREASE)
            self._backoff[endpoint] = (f, now)
        log.info("rate limit hit on %s: pacing at %.0f%% of the limit for a while", endpoint, f * 100)

    def _key(self, endpoint: str) -> str:
        return f"{self._namespace}|{endpoint}"

    # --- use ----------------------------------------------------------------------------------
    def acquire(self, endpoint: str) -> float:
        """Wait for this endpoint's next send slot; returns the seconds waited."""
        if not self.enabled:
            return 0.0
        rate = self.rate(endpoint)
        if rate is None or rate <= 0:
            return 0.0
        now = self._clock()
        wait = self.store.take(self._key(endpoint), now, 1.0 / rate) - now
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self._waited += wait
            return wait
        return 0.0

    def pause(self, endpoint: str, seconds: float) -> None:
        """After a rate rejection: no call to `endpoint` (from any thread or process sharing the store)
        before `seconds` from now, so the server's window drains."""
        if not self.enabled or seconds <= 0 or self.rate(endpoint) is None:
            return
        self.store.push(self._key(endpoint), self._clock() + seconds)

    @property
    def waited_s(self) -> float:
        return self._waited

    def close(self) -> None:
        self.store.close()
