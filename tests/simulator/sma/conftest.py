"""The SMA stand-in over real HTTP, on the session's shared fleets (tests/conftest.py), with a small client.

def test_x(make_sma):
    sma = make_sma(consented=True)            # SmaServer kwargs; Fleet kwargs via fleet_kwargs={...}
    sma.get("/v1/plants").json()               # a token is fetched on first use
    sma.truth_plant(0, day)                     # the fleet's truth of the plant with index 0
"""

from __future__ import annotations

from datetime import date

import pytest
import requests

from simulator import Faults
from simulator.sma import SmaServer
from tests.conftest import get_fleet
from tests.support import shared_fixture


def fixture(name: str):
    return shared_fixture("sma-monitoring-api", name)


class Sma:
    """A test's client: the server, its mapping, a token, and the fleet's truth by SMA plant index."""

    def __init__(self, server: SmaServer):
        self.s = server
        self.fleet = server.fleet
        self.http = requests.Session()
        self.token = None
        self.info = requests.get(server.admin_url + "/sma", timeout=5).json()

    # --- protocol
    def new_token(self, **kw) -> str:
        r = self.http.post(
            self.s.auth_url + "/oauth2/token",
            timeout=5,
            auth=(self.info["client_id"], self.info["client_secret"]),
            data={"grant_type": "client_credentials"},
            **kw,
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["access_token"]
        return self.token

    def get(self, path: str, token: str | None = None, **params) -> requests.Response:
        if token is None:
            token = self.token or self.new_token()
        return self.http.get(
            self.s.api_url + path, params=params, timeout=10, headers={"Authorization": f"Bearer {token}"}
        )

    def ok(self, path: str, **params) -> dict:
        r = self.get(path, **params)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def consent_request(self, email: str) -> requests.Response:
        return self.http.post(
            self.s.consent_url + "/oauth2/v2/bc-authorize",
            json={"loginHint": email},
            headers={"Authorization": f"Bearer {self.token or self.new_token()}"},
            timeout=5,
        )

    def owner_decides(self, email: str, decision: str) -> requests.Response:
        return requests.post(
            self.s.admin_url + "/sma/consent", json={"loginHint": email, "decision": decision}, timeout=5
        )

    # --- mapping and truth
    def plant(self, index: int) -> dict:
        return self.info["plants"][index]

    def devices(self, index: int, kind: str) -> list[dict]:
        return [d for d in self.plant(index)["devices"] if d["kind"] == kind]

    def balance(self, index: int, day: date, energy: bool, period: str = "Day") -> dict:
        return self.ok(
            f"/v1/plants/{self.plant(index)['plantId']}/measurements/sets/EnergyBalance/{period}",
            Date=day.isoformat(),
            ReturnEnergyValues=str(energy).lower(),
        )

    def device_set(self, device_id: str, set_type: str, day: date, energy: bool) -> dict:
        return self.ok(
            f"/v1/devices/{device_id}/measurements/sets/{set_type}/Day",
            Date=day.isoformat(),
            ReturnEnergyValues=str(energy).lower(),
        )

    def truth_plant(self, index: int, day: date):
        return self.fleet.plant_day(self.plant(index)["fleet_plant_id"], day)

    def truth_device(self, sn: str, day: date):
        return self.fleet.device_day(sn, day)


@pytest.fixture
def make_sma():
    started = []

    def factory(plants: int = 6, seed: int = 7, fleet_kwargs: dict | None = None, fleet=None, **kwargs) -> Sma:
        """fleet: a private Fleet (for tests that move its clock); else the session's shared one."""
        kwargs.setdefault("faults", Faults())
        fleet = fleet if fleet is not None else get_fleet(plants, seed, **(fleet_kwargs or {}))
        server = SmaServer(fleet, port=0, **kwargs).start()
        started.append(server)
        return Sma(server)

    yield factory
    for s in started:
        s.stop()


@pytest.fixture
def sma(make_sma) -> Sma:
    """Six plants, seed 7, every owner consented, clock frozen at SIM_NOW (2025-11-03 12:00 UTC)."""
    return make_sma(consented=True)
