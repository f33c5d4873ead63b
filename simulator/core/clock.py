"""The client side of a stand-in's movable clock (`/admin/clock`): a clock a pipeline can run on.

`MovableClock(admin_url)` freezes the stand-in's clock and keeps its own copy: `time()` is the stand-in's "now"
in epoch seconds without a round trip, `sleep(s)` moves both on by `s` instead of waiting, and `set(instant)`
jumps. A client paced by it (`SolaxClient(clock=..., sleep=...)`) walks days of polls in seconds while the
stand-in's per-minute and per-day windows see the calls spread as they would be in real time. Sleeps shorter
than `sync_s` are only pushed to the stand-in once they add up to it (pacing a client under a raised limit
asks for many tiny waits).
"""

from __future__ import annotations

from datetime import datetime, timezone

import requests


class MovableClock:
    def __init__(self, admin_url: str, start: datetime | None = None, sync_s: float = 1.0):
        self.admin_url = admin_url.rstrip("/")
        self.sync_s = sync_s
        self._http = requests.Session()
        self._http.trust_env = False  # loopback: no proxy lookup from the environment on every call
        if start is None:
            start = datetime.fromisoformat(self._post({"advance_s": 0})["now"])
        self.set(start)

    def _post(self, body: dict) -> dict:
        r = self._http.post(self.admin_url + "/clock", json=body, timeout=10)
        r.raise_for_status()
        return r.json()

    def set(self, instant: datetime) -> None:
        """Freeze the stand-in's clock at `instant` (aware)."""
        self._now = instant.astimezone(timezone.utc).timestamp()
        self._post({"now": instant.astimezone(timezone.utc).isoformat()})
        self._synced = self._now

    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._now += seconds
        if self._now - self._synced >= self.sync_s:
            self._post({"now": self.now().isoformat()})
            self._synced = self._now

    def close(self) -> None:
        self._http.close()
