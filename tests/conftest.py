"""Shared fixtures: a started SAJ simulator over real HTTP.

    def test_something(make_simulator):
        server = make_simulator(plants=6, seed=7, limits=False)          # server kwargs
        server = make_simulator(start_date=date(2025, 1, 1), now=NOW)    # Fleet kwargs, plain
        server = make_simulator(fleet_kwargs={"gaps": False})             # or grouped
        server.fleet, server.base_url, server.stats(), server.served()

    def test_other(simulator):  # the default: 6 plants, seed 7, limits on, clock frozen at SIM_NOW

The clock is frozen at ``SIM_NOW`` unless ``now=None`` is passed (real clock). Fleets are cached per
configuration for the session (their truth is immutable; the server pushes its faults into the fleet,
and a new server resets them).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from simulator import Faults, Fleet, SimulatorServer

SIM_START = date(2025, 1, 1)
SIM_NOW = datetime(2025, 11, 3, 12, 0, tzinfo=timezone.utc)
_FLEET_KEYS = {"start_date", "now", "gaps"}
_fleets: dict = {}


def get_fleet(plants: int = 6, seed: int = 7, **fleet_kwargs) -> Fleet:
    fleet_kwargs.setdefault("start_date", SIM_START)
    fleet_kwargs.setdefault("now", SIM_NOW)
    key = (plants, seed, tuple(sorted(fleet_kwargs.items())))
    if fleet_kwargs["now"] is None:  # a real-clock fleet is not shared
        return Fleet(seed=seed, plants=plants, **fleet_kwargs)
    if key not in _fleets:
        _fleets[key] = Fleet(seed=seed, plants=plants, **fleet_kwargs)
    return _fleets[key]


@pytest.fixture
def make_simulator():
    started = []

    def factory(plants: int = 6, seed: int = 7, fleet_kwargs: dict | None = None, **kwargs) -> SimulatorServer:
        fk = dict(fleet_kwargs or {})
        for k in list(kwargs):
            if k in _FLEET_KEYS:
                fk[k] = kwargs.pop(k)
        kwargs.setdefault("faults", Faults())
        server = SimulatorServer(get_fleet(plants, seed, **fk), port=0, **kwargs)
        server.start()
        started.append(server)
        return server

    yield factory
    for s in started:
        s.stop()


@pytest.fixture
def simulator(make_simulator) -> SimulatorServer:
    return make_simulator()
