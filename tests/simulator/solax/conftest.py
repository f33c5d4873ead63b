"""Fixtures of the SolaX Cloud stand-in tests: a started server over real HTTP, a client that talks to it
as the pipeline will, and the fleet's truth as energies at any instant.

    def test_something(make_solax):
        server = make_solax(limits=False, gaps=False)   # Fleet kwargs (start_date, now, gaps) or server kwargs
        server = make_solax(fleet_kwargs={"tou": True})  # any Fleet kwargs
        cloud = Cloud(server)
        cloud.poll(wifi_sn), cloud.move(advance_s=300)

Fleets are the session's cached ones (tests/conftest.py); a test that moves the clock gets it back.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
import requests

from simulator import Faults
from simulator.solax import SolaxServer
from tests.conftest import _FLEET_KEYS, get_fleet

V2 = "/api/v2/dataAccess/realtimeInfo/get"
V1 = "/proxyApp/proxy/api/getRealtimeInfo.do"
KWH_01, KWH_001 = 360_000, 36_000  # J per counter step


class Cloud:
    """The client side: the token from the admin route, v2 and v1 polls, the clock."""

    def __init__(self, server: SolaxServer):
        self.s = server
        self.http = requests.Session()
        self.http.trust_env = False  # loopback: no proxy lookup from the environment on every call
        self.token = self.http.get(server.admin_url + "/solax/token", timeout=5).json()["tokenId"]

    def post(self, wifi_sn, token=None, **kw):
        tok = self.token if token is None else token
        return self.http.post(self.s.base_url + V2, headers={"tokenId": tok}, json={"wifiSn": wifi_sn}, timeout=5, **kw)

    def poll(self, wifi_sn, token=None) -> dict:
        r = self.post(wifi_sn, token)
        assert r.status_code == 200, r.text
        return r.json()

    def poll_v1(self, sn, token=None) -> dict:
        r = self.http.get(
            self.s.base_url + V1, params={"tokenId": self.token if token is None else token, "sn": sn}, timeout=5
        )
        assert r.status_code == 200, r.text
        return r.json()

    def move(self, **kw) -> datetime:
        r = self.http.post(self.s.admin_url + "/clock", json=kw, timeout=5)
        assert r.status_code == 200, r.text
        return datetime.fromisoformat(r.json()["now"])

    def admin(self, path, method="GET", **kw):
        r = self.http.request(method, self.s.admin_url + path, timeout=5, **kw)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def make_solax():
    started = []

    def factory(plants: int = 6, seed: int = 7, fleet_kwargs: dict | None = None, **kwargs) -> SolaxServer:
        fk = dict(fleet_kwargs or {}) | {k: kwargs.pop(k) for k in list(kwargs) if k in _FLEET_KEYS}
        fleet = get_fleet(plants, seed, **fk)
        kwargs.setdefault("faults", Faults())
        server = SolaxServer(fleet, port=0, **kwargs).start()
        started.append((server, fleet.now if fleet.frozen else None))
        return server

    yield factory
    for server, clock in started:
        server.stop()
        server.fleet.set_now(clock)


@pytest.fixture
def cloud(make_solax) -> Cloud:
    return Cloud(make_solax(limits=False))


def epoch(text: str) -> int:
    """utcDateTime ("...Z") as epoch seconds."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


class Truth:
    """The fleet's truth over a few local days as piecewise-constant powers, and its energy between instants.

    Built from the public truth frames (fleet.device_day / plant_day), not from the stand-in's code."""

    def __init__(self, fleet, plant, first: date, last: date, device_sn: str | None = None):
        frames = [
            _frame(fleet, plant.plant_id, device_sn, first + timedelta(days=i)) for i in range((last - first).days + 1)
        ]
        self.start = np.array([int(x.timestamp()) for f in frames for x in f["ts_utc"]], dtype=np.int64)
        self.w = {
            c: np.concatenate([f[c].to_numpy(dtype="float64", na_value=0.0) for f in frames])
            for c in frames[0].columns
            if c.endswith("_w")
        }
        self.soc = np.concatenate([f["battery_soc_pct"].to_numpy(dtype="float64", na_value=0.0) for f in frames])
        assert (np.diff(self.start) == 300).all()

    def energy(self, col: str, t0: int, t1: int) -> int:
        """J of `col` (e.g. "pv_w") over [t0, t1)."""
        lo = np.maximum(self.start, t0)
        hi = np.minimum(self.start + 300, t1)
        assert self.start[0] <= t0 and t1 <= self.start[-1] + 300
        return int(np.sum(np.clip(hi - lo, 0, None) * self.w[col]))

    def mean_w(self, col: str, t: int) -> float:
        """Mean W of `col` over (t - 300, t]."""
        return self.energy(col, t - 300, t) / 300

    def soc_before(self, t: int) -> float:
        """SOC at the end of the slot that ended at or before t."""
        return float(self.soc[np.searchsorted(self.start, t - 300, side="right") - 1])


_frames: dict = {}


def _frame(fleet, plant_id: str, device_sn: str | None, day: date):
    """A truth frame, kept for the session: the physics of a day never changes (only `reported`, not used here)."""
    key = (id(fleet), plant_id, device_sn, day)
    if key not in _frames:
        _frames[key] = (fleet, fleet.device_day(device_sn, day) if device_sn else fleet.plant_day(plant_id, day))
    return _frames[key][1]
