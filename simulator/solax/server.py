"""The SolaX Cloud "User API" stand-in: the real-time snapshot of one dongle per call, v2 and v1.

    POST {base}/api/v2/dataAccess/realtimeInfo/get     header tokenId, JSON {"wifiSn": ...}
    GET  {base}/proxyApp/proxy/api/getRealtimeInfo.do?tokenId=...&sn=...    (also /proxy/api/...)

Bodies are those of the captures in shared/fixtures/solax-cloud-api (key order, `.0` numbers, string
codes, nulls), errors those the field guide reports; the values come from `SolaxView` (exact against the
fleet's truth). Limits per token follow the fleet's clock (`Quota`). See docs/simulator.md, "SolaX Cloud".
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, datetime, timezone

from ..core.faults import Faults
from ..core.fleet import STEP_S, Fleet
from ..core.http import Answer, StandInServer, dumps
from .dongles import DC_EFFICIENCY, Dongle, Reading, SolaxView, sites_csv, token_for
from .quota import DAY, LOCKED, MINUTE, OK, Quota

V2_PATH = "api/v2/dataAccess/realtimeInfo/get"
V1_PATHS = ("proxyApp/proxy/api/getRealtimeInfo.do", "proxy/api/getRealtimeInfo.do")
TFMT = "%Y-%m-%d %H:%M:%S"

# the fields of `result`, in the order of every capture (v2 adds utcDateTime after batStatus)
FIELDS = (
    "inverterSN",
    "sn",
    "acpower",
    "yieldtoday",
    "yieldtotal",
    "feedinpower",
    "feedinenergy",
    "consumeenergy",
    "feedinpowerM2",
    "soc",
    "peps1",
    "peps2",
    "peps3",
    "inverterType",
    "inverterStatus",
    "uploadTime",
    "batPower",
    "powerdc1",
    "powerdc2",
    "powerdc3",
    "powerdc4",
    "batStatus",
)
# channels the 2021-2022 v1 bodies sent as 0.0 when the device lacks them (MPPT 3/4 stayed null)
LEGACY_ZERO = ("feedinpowerM2", "soc", "peps1", "peps2", "peps3", "batPower")

LOCKOUT_MSG = "There have been several violations in a row, and the system will prohibit calls within the next hour"
MINUTE_MSG = "Request calls within the current minute > threshold"


def _w(joules: int) -> float:
    """Mean power over a 5-minute interval, whole W (half up), as the JSON float the service writes."""
    return float((2 * joules + STEP_S) // (2 * STEP_S))


def _error(code: int | None, exception: str, result=None) -> dict:
    body = {"success": False, "exception": exception, "result": result}
    if code is not None:
        body["code"] = code
    return body


class SolaxServer(StandInServer):
    """Serve `fleet` as SolaX Cloud on host:port (0 = a free port). Use start()/stop() or `with`.

    upload_time_zone: "local" (the plant's wall clock, default) or "utc": the zone of `uploadTime`
    (`utcDateTime`, v2 only, is always UTC). per_minute / per_day / violations / lockout_s: the quota
    per token (`limits=False` lifts it; `qps_scale` scales both limits). legacy_v1: v1 answers in the
    2021-2022 shape (no `code`, no `batStatus`, `success` last, absent channels 0.0). token_invalid: the
    fleet's token is refused as if revoked on the portal (code 103). Their defaults: CONFIG. The other options,
    those every stand-in takes (port, limits, qps_scale, faults, host), are `StandInServer`'s, passed on."""

    api_prefix = "/"
    server_name = "SolaxCloudSimulator/1.0"
    http_5xx_statuses = (503,)  # the only server error users report (a bug of September 2024, since fixed)
    #: the settings, with their defaults: the constructor takes them, configure() (POST /admin/solax/config)
    #: changes them while it serves
    CONFIG = {
        "upload_time_zone": "local",
        "legacy_v1": False,
        "token_invalid": False,
        "per_minute": 10,
        "per_day": 10_000,
        "violations": 3,
        "lockout_s": 3600.0,
    }

    def __init__(self, fleet: Fleet, **options):
        settings = {name: options.pop(name, default) for name, default in self.CONFIG.items()}
        # the view first: the base constructor pushes the faults, whose offline spans may name a wifiSn
        self.view = SolaxView(fleet)
        self.token = token_for(fleet)
        self.quota = Quota()
        super().__init__(fleet, **options)
        self.configure(**settings)

    @property
    def base_url(self) -> str:
        """What the pipeline calls SOLAX_BASE_URL."""
        return self.root_url

    @property
    def dongles(self) -> list[Dongle]:
        return self.view.dongles

    def dongle(self, wifi_sn: str) -> Dongle:
        return self.view.by_wifi[wifi_sn]

    def sites_csv(self) -> str:
        return sites_csv(self.view.dongles)

    # ------------------------------------------------------------------ control
    def configure(self, **kw) -> dict:
        """Change any of CONFIG; answers the whole configuration."""
        unknown = set(kw) - set(self.CONFIG)
        if unknown:
            raise ValueError(f"unknown SolaX settings: {sorted(unknown)}")
        if kw.get("upload_time_zone", "local") not in ("local", "utc"):
            raise ValueError("upload_time_zone is 'local' or 'utc'")
        with self._lock:
            for k in ("upload_time_zone", "legacy_v1", "token_invalid"):
                if k in kw:
                    setattr(self, k, kw[k] if k == "upload_time_zone" else bool(kw[k]))
            q = self.quota
            scale = lambda n: max(1, int(round(int(n) * self.qps_scale)))  # noqa: E731
            q.per_minute = scale(kw["per_minute"]) if "per_minute" in kw else q.per_minute
            q.per_day = scale(kw["per_day"]) if "per_day" in kw else q.per_day
            q.violations = max(1, int(kw.get("violations", q.violations)))
            q.lockout_s = float(kw.get("lockout_s", q.lockout_s))
            return self.config()

    def config(self) -> dict:
        q = self.quota
        return {
            "upload_time_zone": self.upload_time_zone,
            "legacy_v1": self.legacy_v1,
            "token_invalid": self.token_invalid,
            "per_minute": q.per_minute,
            "per_day": q.per_day,
            "violations": q.violations,
            "lockout_s": q.lockout_s,
            "limits": self.limits,
        }

    def set_faults(self, faults: Faults):
        # an offline span may name the dongle (wifiSn) the test knows from the sites CSV: the fleet's
        # truth (`reported`) keys its outages by the device serial
        sn = {d.wifi_sn: d.device.sn for d in self.view.dongles}
        if any(k in sn for k in faults.offline):
            faults = replace(faults, offline={sn.get(k, k): v for k, v in faults.offline.items()})
        super().set_faults(faults)

    def reset_stats(self):
        super().reset_stats()
        self.quota.reset()

    # ------------------------------------------------------------------ requests
    def internal_error(self) -> Answer:
        return Answer(200, dumps(_error(2001, "error")), code=2001)

    def handle_api(self, method: str, path: str, params: dict, headers, body: bytes) -> Answer:
        path = path.strip("/")
        if path == V2_PATH:
            form, want = "v2", "POST"
        elif path in V1_PATHS:
            form, want = "v1", "GET"
        else:
            return Answer(404, dumps({"status": 404, "error": "Not Found", "path": "/" + path}), code=404)
        if method != want:
            return Answer(405, dumps({"status": 405, "error": "Method Not Allowed", "path": "/" + path}), code=405)
        if form == "v2":
            token = headers.get("tokenId")
            try:
                req = json.loads(body or b"null")
            except ValueError:
                req = None
            sn = req.get("wifiSn") if isinstance(req, dict) else None
            if isinstance(sn, str):
                params["wifiSn"] = sn  # so that the served log names the dongle of a v2 call too
        else:
            token, sn = params.get("tokenId"), params.get("sn")
        obj = self._answer(path, form, token, sn)
        code = obj.get("code", 0 if obj.get("success") else obj.get("exception"))
        return Answer(200, dumps(obj), code=code)

    def _answer(self, endpoint: str, form: str, token: str | None, sn) -> dict:
        v2 = form == "v2"
        if not token:
            return _error(1001, "Interface Unauthorized") if v2 else {"exception": "no auth!", "success": False}
        if token != self.token or self.token_invalid:
            return _error(103, "token invalid!") if v2 else {"exception": "no auth!", "success": False}
        now = self.fleet.now.timestamp()
        if self.limits:
            verdict = self.quota.admit(token, now)
            if verdict != OK:
                self.count_rejected(endpoint)
                if verdict == LOCKED:  # the captured body, key order and all
                    return {"exception": LOCKOUT_MSG, "code": 1, "tokenId": token, "success": False}
                if verdict == MINUTE:
                    return _error(104, MINUTE_MSG)
                assert verdict == DAY
                return _error(
                    3,
                    f"Accumulated {self.quota.per_day} requests within 24 hours exceed the "
                    f"maximum call threshold, suspend the request",
                )
        did_not_access = {"success": False, "exception": "Query success!", "result": "this sn did not access!"}
        sn = sn.strip() if isinstance(sn, str) else ""
        if not sn:
            return _error(1002, "Parameter validation failed") if v2 else did_not_access
        f = self.faults
        if f.roll(f.code_10001_rate):  # the service's generic failure, as openHAB's tests expect it
            return _error(2001, "error")
        d = self.view.by_wifi.get(sn)
        if d is None:
            # the inverter's own serial instead of the registration number answers "no auth!" (LP5)
            if v2:
                return _error(1003, "no auth!")
            return {"exception": "no auth!", "success": False} if sn in self.view.by_inverter else did_not_access
        t = self.view.last_upload(d, now)
        if t is None:
            return _error(2002, "Data not found") if v2 else did_not_access
        result = self._damage(self.result(d, self.view.reading(d, t), now, form))
        if v2:
            return {"success": True, "exception": "operation success", "result": result, "code": 0}
        if self.legacy_v1:
            return {"exception": "Query success!", "result": result, "success": True}
        return {"success": True, "exception": "Query success!", "result": result, "code": 0}

    def result(self, d: Dongle, r: Reading, now: float, form: str = "v2") -> dict:
        """The `result` object of an upload, in the captures' key order."""
        p = d.plant
        zone = self.fleet.zone(p)
        at = datetime.fromtimestamp(r.t, timezone.utc)
        # the cloud zeroes the day's yield at the plant's midnight, before the dongle's first upload of the day
        today = r.yield_today if self.view.local_midnight(p, int(now)) <= r.t else 0
        pv = _w(r.pv_j)
        dc = [None, None, None, None]
        if d.role != "ac_battery":
            total = float(math.floor(pv / DC_EFFICIENCY + 0.5))
            dc[0] = float(math.floor(total * d.dc_share + 0.5))
            dc[1] = total - dc[0]
        three = d.device.phases == 3
        if d.role == "pv":
            ac = pv
            status = "103" if r.fault else "102" if ac > 0 else "100"
        else:
            ac = _w((r.pv_j if d.role == "hybrid" else 0) + r.dis_j - r.chg_j)
            status = "103" if r.fault else "102"
        res = {
            "inverterSN": d.inverter_sn,
            "sn": d.wifi_sn,
            "acpower": ac,
            "yieldtoday": today / 10,
            "yieldtotal": r.yield_total / 10,
            "feedinpower": _w(r.exp_j - r.imp_j) if d.meter else 0.0,
            "feedinenergy": r.feedin_total / 100,
            "consumeenergy": r.consume_total / 100,
            "feedinpowerM2": (pv if d.meter2 else None) if d.role == "ac_battery" else 0.0 if d.battery else None,
            "soc": float(r.soc) if d.battery else None,
            "peps1": 0.0 if d.battery else None,
            "peps2": 0.0 if d.battery and three else None,
            "peps3": 0.0 if d.battery and three else None,
            "inverterType": d.inverter_type,
            "inverterStatus": status,
            "uploadTime": (at.astimezone(zone) if self.upload_time_zone == "local" else at).strftime(TFMT),
            "batPower": _w(r.chg_j - r.dis_j) if d.battery else None,
            "powerdc1": dc[0],
            "powerdc2": dc[1],
            "powerdc3": dc[2],
            "powerdc4": dc[3],
            "batStatus": ("1" if r.battery_fault else "0") if d.battery else None,
        }
        if form == "v2":
            res["utcDateTime"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif self.legacy_v1:
            del res["batStatus"]
            for k in LEGACY_ZERO:
                if res[k] is None:
                    res[k] = 0.0
        return res

    def _damage(self, res: dict) -> dict:
        """Data faults on a snapshot: a field dropped, a value of the wrong type."""
        f = self.faults
        if f.roll(f.missing_field_rate):
            res.pop(f.choice(list(res)))
        if f.roll(f.wrong_type_rate):
            k = f.choice(list(res))
            v = res[k]
            res[k] = str(v) if isinstance(v, float) else None if isinstance(v, str) else {"value": v}
        return res

    # ------------------------------------------------------------------ admin
    def uploads(self, wifi_sn: str, day: date) -> list[dict]:
        """The truth of a dongle's uploads on its plant-local `day`: every scheduled instant, whether it
        happened, and whether the cloud shows it yet (the clock and lateness)."""
        d = self.dongle(wifi_sn)
        cutoff = self.fleet.now.timestamp() - self.fleet.late_s
        zone = self.fleet.zone(d.plant)
        out = []
        for t, happened in self.view.schedule(d, day):
            at = datetime.fromtimestamp(t, timezone.utc)
            out.append(
                {
                    "utcDateTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "local": at.astimezone(zone).strftime(TFMT),
                    "uploaded": happened,
                    "visible": happened and t <= cutoff,
                }
            )
        return out

    def admin_routes(self) -> dict:
        def body_json(body):
            return json.loads(body or b"{}")

        return {
            ("GET", "/admin/solax/token"): lambda q, b: (200, {"tokenId": self.token}),
            ("GET", "/admin/solax/dongles"): lambda q, b: (200, [d.describe() for d in self.dongles]),
            ("GET", "/admin/solax/sites.csv"): lambda q, b: Answer(
                200, self.sites_csv().encode(), ctype="text/csv; charset=utf-8"
            ),
            ("GET", "/admin/solax/config"): lambda q, b: (200, self.config()),
            ("POST", "/admin/solax/config"): lambda q, b: (200, self.configure(**body_json(b))),
            ("GET", "/admin/solax/quota"): lambda q, b: (200, self.quota.state(self.token, self.fleet.now.timestamp())),
            ("GET", "/admin/solax/uploads"): lambda q, b: (
                200,
                self.uploads(q["wifiSn"], date.fromisoformat(q["day"])),
            ),
        }
