"""A minimal SAJ Open Platform client for the tests: a requests session, a token, the common headers."""

from __future__ import annotations

import requests

from simulator import SimulatorServer


class Api:
    def __init__(self, server: SimulatorServer):
        self.s = server
        self.http = requests.Session()
        self.token = None

    def url(self, ep):
        return f"{self.s.base_url}/open/api/{ep}"

    def login(self):
        r = self.http.get(
            self.url("access_token"), params={"appId": self.s.fleet.app_id, "appSecret": self.s.fleet.app_secret}
        )
        self.token = r.json()["data"]["access_token"]
        return self.token

    def raw(self, ep, headers=None, **params):
        h = {"accessToken": self.token or "", "content-language": "en_US"}
        h.update(headers or {})
        return self.http.get(self.url(ep), params=params, headers=h)

    def get(self, ep, headers=None, **params):
        r = self.raw(ep, headers, **params)
        assert r.status_code == 200, r.text
        return r.json()


def code(body: dict):
    return body.get("code", body.get("errCode"))
