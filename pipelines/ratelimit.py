"""Per-endpoint rate limiting at the documented QPS.

The SAJ service counts calls per endpoint and app over a sliding one-second window and answers
code 10006 "Too frequent access" past the limit. A token bucket with a burst would trip such a
window, so this limiter *schedules* calls: each endpoint hands out send slots spaced 1/rate apart,
where rate = documented limit x scale x safety (0.95). Threads wait for their slot, so a pool of any
size runs at, never over, the rate.

With `shared_dir` the slots are kept in a small file per endpoint behind an exclusive `flock`, so
every process on the machine that uses the same directory (Dagster runs one process per run)
shares one schedule and together stay under the app's limit.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import struct
import threading
import time
from pathlib import Path
from typing import Callable, Mapping

log = logging.getLogger("pipelines.ratelimit")

DEFAULT_QPS = 5.0
# Appendix A of the reference; everything else is 5 QPS. The token endpoint is not limited.
DOCUMENTED_QPS: dict[str, float | None] = {
    "access_token": None,
    "developer/auth/plantAuthByOpenapiKey": None,
    "developer/device/page": 5,
    "developer/plant/page": 5,
    "plant/getPlantAllDeviceList": 5,
    "device/baseinfo": 5,
    "device/batInfo": 5,
    "device/realtimeDataCommon": 150,
    "device/emsRealtimeDataCommon": 10,
    "device/uploadData": 50,
    "device/historyDataCommon": 5,
    "device/emsHistoryData": 5,
    "device/emsHistoryData4Meter": 5,
    "plant/details": 5,
    "plant/energy": 5,
    "plant/getPlantStatisticsData": 5,
    "device/secData": 5,
    "device/alarmList": 5,
    "device/getDeviceAlarmList": 5,
}
SAFETY = 0.95


def documented_qps(endpoint: str) -> float | None:
    return DOCUMENTED_QPS.get(endpoint, DEFAULT_QPS)


class _Slots:
    """In-process schedule of one endpoint."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_t = 0.0

    def take(self, now: float, interval: float) -> float:
        with self.lock:
            slot = max(now, self.next_t)
            self.next_t = slot + interval
            return slot

    def push(self, not_before: float) -> None:
        with self.lock:
            self.next_t = max(self.next_t, not_before)


class _SharedSlots:
    """Schedule of one endpoint shared by processes: an 8-byte float (epoch seconds) in a file,
    read and written under an exclusive flock."""

    def __init__(self, path: Path) -> None:
        self.lock = threading.Lock()  # flock does not exclude threads sharing one descriptor
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def _update(self, fn: Callable[[float], tuple[float, float]]) -> float:
        with self.lock:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(self.fd, 8, 0)
                stored = struct.unpack("<d", raw)[0] if len(raw) == 8 else 0.0
                new_next, result = fn(stored)
                os.pwrite(self.fd, struct.pack("<d", new_next), 0)
                return result
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)

    def take(self, now: float, interval: float) -> float:
        def fn(stored: float) -> tuple[float, float]:
            if stored > now + 3600:  # the clock went back: start afresh
                stored = 0.0
            slot = max(now, stored)
            return slot + interval, slot

        return self._update(fn)

    def push(self, not_before: float) -> None:
        self._update(lambda stored: (max(stored, not_before), 0.0))

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class RateLimiter:
    """Hands out send slots per endpoint.

    qps: None (documented limits), a number (every limited endpoint), or a mapping endpoint -> QPS
    overriding the documented ones. qps_scale multiplies the limits (like the simulator's
    --qps-scale); safety keeps the pace just under them. enabled=False lets every call through.
    """

    def __init__(
        self,
        qps: float | Mapping[str, float | None] | None = None,
        qps_scale: float = 1.0,
        safety: float = SAFETY,
        enabled: bool = True,
        shared_dir: str | os.PathLike | None = None,
        namespace: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if qps_scale <= 0:
            raise ValueError("qps_scale must be > 0")
        if not 0 < safety <= 1:
            raise ValueError("safety must be in (0, 1]")
        self.qps = qps
        self.qps_scale = qps_scale
        self.safety = safety
        self.enabled = enabled
        self._sleep = sleep
        self._slots: dict[str, _Slots | _SharedSlots] = {}
        self._lock = threading.Lock()
        self._shared_dir = Path(shared_dir) if shared_dir is not None else None
        self._namespace = namespace
        self._waited = 0.0
        # Adaptive slow-down after "too frequent" answers (another client of the same app, or a
        # server limit lower than documented): factor, time of the last decrease.
        self._backoff: dict[str, tuple[float, float]] = {}
        if self._shared_dir is not None:
            self._shared_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    # --- limits -------------------------------------------------------------------------------
    def limit(self, endpoint: str) -> float | None:
        """The server-side limit this limiter assumes for `endpoint` (QPS), None when unlimited."""
        if isinstance(self.qps, Mapping):
            base = self.qps[endpoint] if endpoint in self.qps else documented_qps(endpoint)
        elif self.qps is not None:
            base = None if documented_qps(endpoint) is None else float(self.qps)
        else:
            base = documented_qps(endpoint)
        return None if base is None else base * self.qps_scale

    def rate(self, endpoint: str) -> float | None:
        """The pace actually used (calls per second)."""
        lim = self.limit(endpoint)
        return None if lim is None else lim * self.safety * self.factor(endpoint)

    # After a rejection the pace drops to DECREASE x its current value (at most once per
    # DECREASE_EVERY_S, so one burst of rejections counts once) and climbs back to the full pace
    # at RECOVER_PER_S of the limit per second.
    DECREASE = 0.7
    DECREASE_EVERY_S = 1.0
    RECOVER_PER_S = 0.2
    MIN_FACTOR = 0.1

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

    def _slots_for(self, endpoint: str) -> _Slots | _SharedSlots:
        slots = self._slots.get(endpoint)
        if slots is None:
            with self._lock:
                slots = self._slots.get(endpoint)
                if slots is None:
                    if self._shared_dir is not None:
                        key = hashlib.sha256(f"{self._namespace}|{endpoint}".encode()).hexdigest()[:20]
                        slots = _SharedSlots(self._shared_dir / f"rate-{key}.slot")
                    else:
                        slots = _Slots()
                    self._slots[endpoint] = slots
        return slots

    def _now(self) -> float:
        return time.time() if self._shared_dir is not None else time.monotonic()

    # --- use ----------------------------------------------------------------------------------
    def acquire(self, endpoint: str) -> float:
        """Wait for this endpoint's next send slot; returns the seconds waited."""
        if not self.enabled:
            return 0.0
        rate = self.rate(endpoint)
        if rate is None or rate <= 0:
            return 0.0
        now = self._now()
        slot = self._slots_for(endpoint).take(now, 1.0 / rate)
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
            with self._lock:
                self._waited += wait
            return wait
        return 0.0

    def pause(self, endpoint: str, seconds: float) -> None:
        """After a rate rejection: no call to `endpoint` (from any thread sharing this limiter)
        before `seconds` from now, so the server's window drains."""
        if not self.enabled or seconds <= 0 or self.rate(endpoint) is None:
            return
        self._slots_for(endpoint).push(self._now() + seconds)

    @property
    def waited_s(self) -> float:
        return self._waited

    def close(self) -> None:
        with self._lock:
            for slots in self._slots.values():
                if isinstance(slots, _SharedSlots):
                    slots.close()
            self._slots.clear()
