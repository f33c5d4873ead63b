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

    # the windowed reads: [start, end] as plant-local stamps "yyyy-MM-dd HH:mm:ss"; time_unit 0 samples,
    # 1 days, 2 months
    def upload_data(self, sn, start, end, time_unit=0):
        return self.get("device/uploadData", deviceSn=sn, startTime=start, endTime=end, timeUnit=time_unit)

    def sec_data(self, plant_id, start, end, time_unit=0):
        return self.get("device/secData", plantId=plant_id, startTime=start, endTime=end, timeUnit=time_unit)

    def meter_data(self, plant, start, end):
        """The plant's load monitor's meters (emsHistoryData4Meter: at most two hours)."""
        return self.get(
            "device/emsHistoryData4Meter", emsSn=plant.module_sn, plantId=plant.plant_id, startTime=start, endTime=end
        )


def code(body: dict):
    return body.get("code", body.get("errCode"))
