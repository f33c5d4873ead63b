"""The SAJ Elekeeper Open Platform stand-in: the 19 endpoints of the reference's Appendix A with the
tokens, limits, errors and response shapes of the real service (docs/simulator.md is the contract).

Guarantees: every answer is derived from the fleet's truth as of the fleet's clock (a sample is served once
its interval ended, minus any lateness fault); the endpoints agree with each other (a realtime record is the
latest history record, history records and uploadData points share their measurements, statistics and
energies are integrals of the same 5-minute powers); answers are in the shape of the captured real
responses unless `envelopes` asks for another of the reference's shapes (see `envelopes.py`); samples in
time order unless `sample_order` asks for the repeated hour's stamps sorted (see `ordering.py`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd

from ..core.fleet import FLOW_KEYS, KEYS, STEP_S, STRING_MODELS, Device, Fleet, Plant, _h, _u
from ..core.http import Answer, StandInServer
from ..core.physics import SOC_MAX, SOC_MIN
from . import electrical, envelopes, ordering
from .envelopes import RawJson
from .records import KWH, TFMT, inv_times, inverter_records

PREFIX = "/prod-api/open/api/"

# Appendix A: endpoint -> (method, requests per second per app; None: neither token nor limit)
ENDPOINTS = {
    "access_token": ("GET", None),
    "developer/auth/plantAuthByOpenapiKey": ("POST", None),
    "developer/device/page": ("GET", 5),
    "developer/plant/page": ("GET", 5),
    "plant/getPlantAllDeviceList": ("GET", 5),
    "device/baseinfo": ("GET", 5),
    "device/batInfo": ("GET", 5),
    "device/realtimeDataCommon": ("GET", 150),
    "device/emsRealtimeDataCommon": ("GET", 10),
    "device/uploadData": ("GET", 50),
    "device/historyDataCommon": ("GET", 5),
    "device/emsHistoryData": ("GET", 5),
    "device/emsHistoryData4Meter": ("GET", 5),
    "plant/details": ("GET", 5),
    "plant/energy": ("GET", 5),
    "plant/getPlantStatisticsData": ("GET", 5),
    "device/secData": ("GET", 5),
    "device/alarmList": ("GET", 5),
    "device/getDeviceAlarmList": ("GET", 5),
}
PAGE_MSG = "查询成功"  # the page endpoints' message, in Chinese whatever the language asked
USABLE = SOC_MAX - SOC_MIN  # the share of a battery's capacity the dispatch uses
TERMS = KEYS + FLOW_KEYS  # what energy sums carry: the six terms and the flows (self-use figures need those)

MSG_SYSTEM = "System error, please try again later"
MSG_TOKEN = "accessToken does not exist"
MSG_FREQ = "Too frequent access, please try again later"
MSG_NO_MONITOR = "plant has not been bound with load monitoring"

GRID_STATUS = {1: "Standby", 2: "Normal", 3: "Error", 4: "Warning"}
STORAGE_STATUS = {1: "Standby", 2: "On-grid", 3: "Off-grid", 4: "Bypass", 5: "Fault", 6: "Upgrade"}


class ApiError(Exception):
    def __init__(self, code: int, msg: str):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _param_error(what: str) -> ApiError:
    return ApiError(10006, f"parameter error: {what}")


def _r2(x: float) -> float:
    return float(round(x + 0.0, 2))


def _s2(x: float) -> str:
    return f"{x:.2f}"


def _device_status(storage: bool, levels: set, producing: bool) -> int:
    """Appendix D's deviceStatus from the alarm levels open: grid-tied 1 standby / 2 normal / 3 error /
    4 warning; storage and AC-coupled 2 on-grid / 5 fault."""
    if 3 in levels:
        return 5 if storage else 3
    if levels and not storage:
        return 4
    return 2 if storage or producing else 1


class _Page:
    """A page answer: rows, total and totalPage at the top of the body, beside the code."""

    def __init__(self, rows: list, total: int, total_page: int):
        self.rows, self.total, self.total_page = rows, total, total_page


def _endpoint(msg: str = "request success"):
    """Make `_ep_<endpoint>`, which builds an endpoint's data (or a _Page), the endpoint's handler:
    (app, params) -> (body, code), the data in the endpoint's envelope."""

    def wrap(build):
        endpoint = build.__name__[len("_ep_") :].replace("_", "/")

        @functools.wraps(build)
        def handler(self, app, params):
            out, style = build(self, app, params), self._style(endpoint)
            if isinstance(out, _Page):
                text, code = envelopes.page(style, out.rows, out.total, out.total_page, PAGE_MSG)
            else:
                text, code = envelopes.success(style, out, msg)
            return text.encode("utf-8"), code

        return handler

    return wrap


class SimulatorServer(StandInServer):
    """Serve ``fleet`` as SAJ's Open Platform on 127.0.0.1:port (0 = a free port). Use start()/stop() or ``with``.

    envelopes: {endpoint: style} answers those endpoints in another shape of the reference (envelopes.py);
    sample_order: {endpoint: "time" | "stamp"} the order of their samples (ordering.py).
    The options every stand-in takes (port, limits, qps_scale, faults, host) are `StandInServer`'s, passed on.
    """

    api_prefix = PREFIX
    server_name = "SAJSimulator/1.0"

    def __init__(
        self,
        fleet: Fleet,
        *,
        token_ttl_s: float = 7200,
        envelopes: dict | None = None,
        sample_order: dict | None = None,
        **server,
    ):
        self.token_ttl_s = token_ttl_s
        self._tokens: dict[str, tuple[str, float]] = {}  # app id -> (token, issued monotonic)
        self._token_counter = 0
        self.set_envelopes(envelopes or {})
        self.set_sample_order(sample_order or {})
        # the plant owner's OpenAPI key pair, which plantAuthByOpenapiKey takes
        digest = hashlib.sha256(f"saj-simulator-openapi-{fleet.seed}".encode()).hexdigest().upper()
        self.openapi_key, self.openapi_credentials = digest[:32], digest[32:]
        self._ems = {p.module_sn: p for p in fleet.plants if p.module_sn}
        super().__init__(fleet, **server)

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/prod-api"

    def set_envelopes(self, mapping: dict) -> None:
        """Answer these endpoints in these shapes ({endpoint: style}); the others in the default shape."""
        self.envelopes = envelopes.checked(mapping, ENDPOINTS)

    def set_sample_order(self, mapping: dict) -> None:
        """Serve these endpoints' samples in these orders ({endpoint: "time" | "stamp"}); the others in time order."""
        self.sample_order = ordering.checked(mapping)

    def admin_routes(self) -> dict:
        def post(params, body):
            self.set_envelopes(json.loads(body or b"{}"))
            return 200, {"ok": True, "envelopes": self.envelopes}

        def post_order(params, body):
            self.set_sample_order(json.loads(body or b"{}"))
            return 200, {"ok": True, "sample_order": self.sample_order}

        return {
            ("GET", "/admin/saj/envelopes"): lambda params, body: (200, self.envelopes),
            ("POST", "/admin/saj/envelopes"): post,
            ("GET", "/admin/saj/sample-order"): lambda params, body: (200, self.sample_order),
            ("POST", "/admin/saj/sample-order"): post_order,
        }

    # ------------------------------------------------------------------ request handling
    def internal_error(self) -> Answer:
        return Answer(200, envelopes.error("code", 10001, MSG_SYSTEM).encode(), code=10001)

    def handle_api(self, method: str, endpoint: str, params: dict, headers, body: bytes = b"") -> Answer:
        endpoint = endpoint.strip("/")
        if endpoint not in ENDPOINTS:
            obj = {"code": 404, "msg": f"No handler found for {method} {PREFIX}{endpoint}", "data": None}
            return Answer(404, envelopes.dumps(obj).encode(), code=404)
        try:
            if method != ENDPOINTS[endpoint][0]:
                raise ApiError(500, f"Request method '{method}' not supported")
            out, code = self._dispatch(endpoint, params, headers, body)
        except ApiError as e:
            out, code = envelopes.error(self._style(endpoint), e.code, e.msg).encode("utf-8"), e.code
        except Exception:  # never a stack trace
            out, code = envelopes.error(self._style(endpoint), 10001, MSG_SYSTEM).encode("utf-8"), 10001
        return Answer(200, out, code=code)

    def _style(self, endpoint: str) -> str:
        return self.envelopes.get(endpoint, "code")

    def _dispatch(self, endpoint: str, params: dict, headers, body: bytes) -> tuple[bytes, int]:
        handler = getattr(self, "_ep_" + endpoint.replace("/", "_"))
        if endpoint == "access_token":
            return handler(None, params)
        qps = ENDPOINTS[endpoint][1]
        if qps is None:  # plantAuthByOpenapiKey: the OpenAPI key pair authenticates
            app = self.fleet.app_id
        else:
            app = self._check_token(headers.get("accessToken"))
            if self.limits and not self.within_limit((app, endpoint), qps):
                self.count_rejected(endpoint)
                raise ApiError(10006, MSG_FREQ)
        f = self.faults
        if f.roll(f.code_10001_rate):
            raise ApiError(10001, MSG_SYSTEM)
        sign = headers.get("clientSign")
        if sign is not None and params.get("deviceSn"):
            want = hashlib.sha256(f"appId={app},deviceSN={params['deviceSn']}".encode()).hexdigest()
            if sign.strip().lower() != want:
                raise ApiError(10004, "Authentication failed")
        if endpoint == "developer/auth/plantAuthByOpenapiKey":
            params = self._json_body(body)
        return handler(app, params)

    @staticmethod
    def _json_body(body: bytes) -> dict:
        try:
            obj = json.loads(body or b"")
        except ValueError:
            raise _param_error("the body must be a JSON object") from None
        if not isinstance(obj, dict):
            raise _param_error("the body must be a JSON object")
        return {k: str(v) for k, v in obj.items() if v is not None}

    # ------------------------------------------------------------------ auth
    @_endpoint(msg="")
    def _ep_access_token(self, app, params):
        fl = self.fleet
        if params.get("appId") != fl.app_id or params.get("appSecret") != fl.app_secret:
            raise ApiError(100009, "appId or appSecret does not exist")
        with self._lock:
            self._token_counter += 1
            raw = hashlib.sha512(f"{fl.app_secret}|{self._token_counter}|{time.time_ns()}".encode()).digest()
            token = base64.b64encode(raw[:64]).decode()
            self._tokens[fl.app_id] = (token, time.monotonic())
        self.count_token()
        return {"access_token": token, "expires": int(self.token_ttl_s)}

    def _check_token(self, token: str | None) -> str:
        ttl = self.token_ttl_s
        if self.faults.token_ttl_s is not None:
            ttl = min(ttl, self.faults.token_ttl_s)
        with self._lock:
            for app, (tok, issued) in self._tokens.items():
                if token and token == tok:
                    if time.monotonic() - issued < ttl:
                        return app
                    break
        raise ApiError(200010, MSG_TOKEN)

    @_endpoint()
    def _ep_developer_auth_plantAuthByOpenapiKey(self, app, params):
        key, cred = params.get("appKey"), params.get("credentials")
        if not key or not cred:
            raise _param_error("appKey and credentials are required")
        if (key, cred) != (self.openapi_key, self.openapi_credentials):
            raise _param_error("appKey or credentials is invalid")
        return {"authSuccessPlantId": [p.plant_id for p in self.fleet.plants]}

    # ------------------------------------------------------------------ parameter helpers
    def _unauthorized(self, app) -> ApiError:
        return ApiError(200015, f"App {app} do not match. Unauthorized access to data")

    @staticmethod
    def _required(params, name) -> str:
        v = params.get(name)
        if not v:
            raise _param_error(f"{name} is required")
        return v

    def _owned(self, app, find, key):
        """`find(key)` (a plant or device of the fleet); one the fleet does not have is answered as another
        app's: unauthorized, as the service does."""
        try:
            return find(key)
        except KeyError:
            raise self._unauthorized(app) from None

    def _plant_param(self, app, params, name="plantId") -> Plant:
        return self._owned(app, self.fleet.plant, self._required(params, name))

    def _device_param(self, app, params) -> Device:
        return self._owned(app, self.fleet.device, self._required(params, "deviceSn"))

    def _ems_param(self, app, params) -> Plant:
        """The plant whose energy-management module (its load monitor) is `emsSn`."""
        sn = self._required(params, "emsSn")
        if sn in self._ems:
            return self._ems[sn]
        if sn in {d.sn for d in self.fleet.devices}:
            raise _param_error(f"{sn} is not an EMS module")
        raise self._unauthorized(app)

    @staticmethod
    def _time_param(params, name, required=True) -> datetime | None:
        v = params.get(name)
        if v is None or v == "":
            if required:
                raise _param_error(f"{name} is required")
            return None
        try:
            return datetime.strptime(v.strip(), TFMT)
        except ValueError:
            raise _param_error(f"{name} must be in the format yyyy-MM-dd HH:mm:ss") from None

    @staticmethod
    def _int_param(params, name, default=None, lo=None, hi=None) -> int:
        v = params.get(name)
        if v is None or v == "":
            if default is None:
                raise _param_error(f"{name} is required")
            return default
        try:
            n = int(v)
        except ValueError:
            raise _param_error(f"{name} must be an integer") from None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise _param_error(f"{name} out of range")
        return n

    def _window(self, params, max_hours: int | None):
        """(startTime, endTime), at most `max_hours` apart (wall-clock) when given."""
        start = self._time_param(params, "startTime")
        end = self._time_param(params, "endTime")
        if end < start:
            raise _param_error("endTime is earlier than startTime")
        if max_hours is not None and end - start > timedelta(hours=max_hours):
            raise _param_error(f"time span exceeds {max_hours} hours")
        return start, end

    def _cutoff(self) -> float:
        return self.fleet.now.timestamp() - float(self.faults.late_s or 0.0)

    # ------------------------------------------------------------------ energy helpers
    def _sum_range(self, plant: Plant, d0: int, d1: int, limit_ts: float, sn: str | None = None) -> dict:
        """W-slot sums over local days [d0, d1) counting intervals that start before limit_ts and ended by
        the availability cutoff. sn: a type-0 device (pv only) instead of the plant."""
        fl = self.fleet
        cal = fl._cals[plant.time_zone]
        d0 = max(d0, 0)
        avail = self._cutoff()
        lim = min(limit_ts, avail)
        keys = ["pv"] if sn else TERMS
        out = {k: 0 for k in keys}
        if d1 <= d0:
            return out
        # full days: those ending by both limits
        lo, hi = d0, d1
        while hi > lo and cal.day_start(hi) > lim:
            hi -= 1
        # days [lo, hi) are complete; day hi (if < d1) may be partial
        if hi > lo:
            out = self._earlier(plant, sn, lo, hi)
        if hi < d1 and cal.day_start(hi) < lim:
            dd = fl._day(plant, fl.start_date + timedelta(days=hi))
            m = (dd["utc"] < limit_ts) & (dd["utc"] + STEP_S <= avail)
            vals = dd["devices"][sn] if sn else dd["plant"]
            for k in keys:
                out[k] += int(vals[k][m].sum())
        return out

    @staticmethod
    def _scope(dev: Device) -> str | None:
        """What a device's counters count: a grid-tied inverter its own PV (its SN); a storage or
        AC-coupled inverter the plant (None: PV through its own strings or its PV meter)."""
        return dev.sn if dev.device_type == 0 else None

    def _earlier(self, plant: Plant, sn: str | None, d0: int, d1: int) -> dict:
        """W-slot sums of the whole days [d0, d1) (the counters: logger outages included)."""
        fl = self.fleet
        if sn:
            return {"pv": int(fl.device_daily_pv(fl.device(sn), d0, d1).sum())}
        return {k: int(fl.daily_array(plant, k, d0, d1).sum()) for k in TERMS}

    def _periods(self, day: date) -> dict:
        """Day indices where the month, the year and the commissioning of `day` start."""
        return {
            "month": self._dindex(day.replace(day=1)),
            "year": self._dindex(day.replace(month=1, day=1)),
            "total": 0,
        }

    def _local_to_utc(self, plant: Plant, dt: datetime) -> float:
        return dt.replace(tzinfo=self.fleet.zone(plant)).timestamp()

    def _dindex(self, day: date) -> int:
        return (day - self.fleet.start_date).days

    @staticmethod
    def _day_of(dd: dict) -> date:
        return date.fromisoformat(dd["local"][0][:10])

    def _buckets(self, plant: Plant, start: datetime, end: datetime, unit: int):
        """(label date, d0, d1) day-index ranges of the day/month/year buckets overlapping [start, end]."""
        fl = self.fleet
        today = fl.local_today(plant)
        first, last = max(start.date(), fl.start_date), min(end.date(), today)
        out = []
        if last < first:
            return out
        if unit == 1:
            d = first
            while d <= last:
                out.append((d, self._dindex(d), self._dindex(d) + 1))
                d += timedelta(days=1)
        elif unit == 2:
            y, m = first.year, first.month
            while (y, m) <= (last.year, last.month):
                b0 = date(y, m, 1)
                ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
                b1 = date(ny, nm, 1)
                out.append((b0, self._dindex(b0), self._dindex(b1)))
                y, m = ny, nm
        else:
            for y in range(first.year, last.year + 1):
                b0, b1 = date(y, 1, 1), date(y + 1, 1, 1)
                out.append((b0, self._dindex(b0), self._dindex(b1)))
        return out

    @staticmethod
    def _self_use(s: dict) -> tuple[float, ...]:
        """(pv, load, buy, sell, load bought, PV sold) in kWh from W-slot sums: the platform's self-use
        figures count what the load took from the grid and what PV sent to it (the flows), so they stay
        within [0, 1] when the battery charges from the grid or exports (buy and sell alone would not)."""
        return tuple(s[k] * KWH for k in ("pv", "load", "imp", "exp", "grid_to_load", "pv_to_grid"))

    def _storage_total(self, s: dict) -> dict:
        pv, load, buy, sell, load_bought, pv_sold = self._self_use(s)
        r = lambda a, b: float(round(a / b, 4)) if b > 0 else 0
        return {
            "buyRate": r(load_bought, load),
            "loadSelfConsumedRate": r(load - load_bought, load),
            "pvSelfConsumedRate": r(pv - pv_sold, pv),
            "sellRate": r(pv_sold, pv),
            "totalBuyEnergy": _r2(buy),
            "totalLoad": _r2(load),
            "totalPVEnergy": _r2(pv),
            "totalPVSelfConsumption": _r2(pv - pv_sold),
            "totalSelfConsumption": _r2(load - load_bought),
            "totalSellEnergy": _r2(sell),
        }

    def _sec_total(self, s: dict) -> dict:
        pv, load, buy, sell, load_bought, pv_sold = self._self_use(s)
        r = lambda a, b: float(round(a / b, 3)) if b > 0 else 0
        return {
            "buyEnergy": _r2(buy),
            "chargeEnergy": _r2(s["chg"] * KWH),
            "dischargeEnergy": _r2(s["dis"] * KWH),
            "energyUnit": "kWh",
            "loadBuyRate": r(load_bought, load),
            "loadEnergy": _r2(load),
            "loadSelfConsumedEnergy": _r2(load - load_bought),
            "loadSelfConsumedRate": r(load - load_bought, load),
            "pvEnergy": _r2(pv),
            "pvSelfConsumedEnergy": _r2(pv - pv_sold),
            "pvSelfConsumedRate": r(pv - pv_sold, pv),
            "pvSellRate": r(pv_sold, pv),
            "sellEnergy": _r2(sell),
        }

    def _minute_slots(self, plant: Plant, start: datetime, end: datetime, sn: str, endpoint: str):
        """[(day data, indices)] of the samples of `sn` (a device or a load monitor) with local stamp in
        [start, end] that are served, in the endpoint's sample order."""
        fl = self.fleet
        order = self.sample_order.get(endpoint, "time")
        out = []
        d = start.date()
        s0, s1 = start.strftime(TFMT), end.strftime(TFMT)
        last = min(end.date(), fl.local_today(plant))  # nothing is served beyond now: do not simulate it
        while d <= last:
            dd = fl._day(plant, d)
            if dd is not None:
                loc = dd["local"]
                sel = np.array([s0 <= t <= s1 for t in loc], dtype=bool) & fl.reported_mask(sn, dd)
                idx = np.nonzero(sel)[0]
                if len(idx):
                    out.append((dd, ordering.arrange(order, loc, idx)))
            d += timedelta(days=1)
        return out

    def _last_sample(self, p: Plant, sn: str | None, stamped_before: float | None = None):
        """(day data, index) of the latest sample of `sn` (a device or load monitor; None: the plant) the API
        serves, within the last 3 days; with `stamped_before`, the latest stamped before that instant (the last
        interval a statistic up to that instant counts)."""
        fl = self.fleet
        cutoff = self._cutoff()
        limit = cutoff if stamped_before is None else min(stamped_before, cutoff)
        day = datetime.fromtimestamp(limit, timezone.utc).astimezone(fl.zone(p)).date()
        for back in range(4):
            dd = fl._day(p, day - timedelta(days=back))
            if dd is None:
                return None
            m = fl.reported_mask(sn, dd) if sn else np.ones(dd["n"], bool)
            m &= dd["utc"] + STEP_S <= cutoff
            if stamped_before is not None:
                m &= dd["utc"] < stamped_before
            idx = np.nonzero(m)[0]
            if len(idx):
                return dd, int(idx[-1])
        return None

    def _damage(self, points: list[dict]) -> list[dict]:
        """Data faults on sample dicts: duplicates, missing fields, wrong types."""
        f = self.faults
        if not (f.duplicate_sample_rate or f.missing_field_rate or f.wrong_type_rate):
            return points
        out = []
        for p in points:
            p = dict(p)
            if f.roll(f.missing_field_rate):
                keys = [k for k in p if k != "dataTime"]
                if keys:
                    del p[f.choice(keys)]
            if f.roll(f.wrong_type_rate):
                keys = [k for k in p if k != "dataTime"]
                if keys:
                    k = f.choice(keys)
                    v = p[k]
                    p[k] = (
                        str(v)
                        if isinstance(v, (int, float))
                        else (None if f.roll(0.5) else {"value": v})
                        if isinstance(v, str)
                        else "NaN"
                    )
            out.append(p)
            if f.roll(f.duplicate_sample_rate):
                out.append(dict(p))
        return out

    # ------------------------------------------------------------------ state helpers
    def _is_online(self, sn: str) -> int:
        now = self.fleet.now
        for a, b in self.fleet.offline.get(sn, []):
            if a <= now < b:
                return 0
        return 1

    def _open_levels(self, sns: set, ts: float) -> set:
        """Levels of the alarms of these devices open at instant ts."""
        return {
            a.alarm_level
            for a in self.fleet.alarms()
            if a.device_sn in sns
            and a.started_at.timestamp() <= ts
            and (a.ended_at is None or a.ended_at.timestamp() > ts)
        }

    @staticmethod
    def _module_sn(dev: Device) -> str:
        """The serial number of an inverter's communication module (its Wi-Fi/4G dongle)."""
        return "M5310G" + dev.sn[-10:]

    def _electrics(self, p: Plant, dev: Device, dd: dict) -> electrical.DayElectrics:
        return electrical.day_electrics(self.fleet.seed, p, dev, self._dindex(self._day_of(dd)), dd["n"])

    def _records(self, p: Plant, dev: Device, dd: dict, idx, realtime: bool) -> list[str]:
        day = self._day_of(dd)
        before = self._earlier(p, self._scope(dev), 0, self._dindex(day))
        online = bool(self._is_online(dev.sn)) if realtime else True
        return inverter_records(
            self.fleet.seed,
            p,
            dev,
            self._module_sn(dev),
            dd,
            idx,
            self._electrics(p, dev, dd),
            before,
            electrical.ambient_c(p),
            online,
            realtime,
        )

    # ------------------------------------------------------------------ endpoints: system
    def _page(self, app, params, rows) -> _Page:
        appid = self._required(params, "appId")
        if appid != app:
            raise ApiError(200008, f"App {appid} does not exist")
        size = self._int_param(params, "pageSize", 100, 1, 10000)
        num = self._int_param(params, "pageNum", 1, 1)
        return _Page(rows[(num - 1) * size : num * size], len(rows), int(math.ceil(len(rows) / size)))

    @_endpoint()
    def _ep_developer_plant_page(self, app, params):
        rows = [
            {"plantId": p.plant_id, "plantName": p.name, "NMI": p.nmi, "plantNo": p.plant_no} for p in self.fleet.plants
        ]
        return self._page(app, params, rows)

    @_endpoint()
    def _ep_developer_device_page(self, app, params):
        alarmed = {a.device_sn for a in self.fleet.alarms() if a.ended_at is None}
        rows = []
        for p in self.fleet.plants:
            for d in p.devices:
                rows.append(
                    {
                        "deviceSn": d.sn,
                        "deviceType": d.model,
                        "plantId": p.plant_id,
                        "plantName": p.name,
                        "isOnline": self._is_online(d.sn),
                        "isAlarm": int(d.sn in alarmed),
                        "country": p.country,
                    }
                )
        return self._page(app, params, rows)

    # ------------------------------------------------------------------ endpoints: information
    @_endpoint()
    def _ep_plant_details(self, app, params):
        p = self._plant_param(app, params)
        return {
            "plantUid": p.plant_uid,
            "plantName": p.name,
            "plantNo": p.plant_no,
            "type": p.plant_type,
            "useType": 0,
            "systemPower": str(p.system_power_kwp) if p.index % 2 else p.system_power_kwp,
            "gridPrice": p.grid_price,
            "currencyName": p.currency,
            "currency": p.currency,
            "timeZone": p.time_zone,
            "timeZoneName": p.time_zone_name,
            "countryCode": p.country_code,
            "country": p.country,
            "province": "",
            "city": p.city,
            "fullAddress": f"{p.city}, {p.country}",
            "latitude": p.latitude,
            "longitude": p.longitude,
            "zipCode": "",
            "meterId": p.nmi,
            "moduleNum": int(round(p.system_power_kwp * 1000 / 410)),
            "gridNetType": "2",
            "payMode": "3",
            "pvPanelAzimuth": str(p.azimuth_deg),
            "pvPanelAngle": str(p.tilt_deg),
            "isInstallMeter": int(p.has_load_monitor),
            "secModuleIfNewVersion": int(p.has_load_monitor),
            "isShared": 0,
            "deviceSnList": [d.sn for d in p.devices],
            "moduleSnList": [p.module_sn] if p.module_sn else [],
            "projectPic": "https://esolar-images.jtaiyang.com/plant/defaultPlantCover.png",
        }

    @_endpoint()
    def _ep_plant_getPlantAllDeviceList(self, app, params):
        p = self._plant_param(app, params)
        fl = self.fleet
        today = fl.local_today(p)
        di = self._dindex(today)
        starts = self._periods(today)
        now_ts = fl.now.timestamp()
        items = []
        for d in p.devices:
            sn = self._scope(d)
            e = {k: self._sum_range(p, d0, di + 1, now_ts, sn) for k, d0 in {"today": di, **starts}.items()}
            last = self._last_sample(p, d.sn)
            vals = last[0]["devices"][d.sn] if last else None
            power = int(vals["pv"][last[1]]) if last else 0
            storage = d.device_type != 0
            online = self._is_online(d.sn)
            status = _device_status(storage, self._open_levels({d.sn}, now_ts), power > 0)
            inv = {
                "aliases": d.sn,
                "deviceSn": d.sn,
                "deviceModel": d.model,
                "moduleSn": self._module_sn(d),
                "plantName": p.name,
                "plantUid": p.plant_uid,
                "deviceStatus": (STORAGE_STATUS if storage else GRID_STATUS)[status],
                "powerNow": power,
                "todayEnergy": _r2(e["today"]["pv"] * KWH),
                "monthEnergy": _r2(e["month"]["pv"] * KWH),
                "yearEnergy": _r2(e["year"]["pv"] * KWH),
                "totalEnergy": _r2(e["total"]["pv"] * KWH),
                "type": d.device_type,
                "isOnline": online,
                "hasBattery": int(storage),
                "runningState": 3 if not online else 2 if status in (3, 4, 5) else 1,
            }
            if storage:
                inv.update(
                    {
                        "batEnergyPercent": str(int(vals["soc"][last[1]])) if last else "",
                        "unitOfCapacity": "kWh",
                        "todayBatChgEnergy": _s2(e["today"]["chg"] * KWH),
                        "todayBatDisChgEnergy": _s2(e["today"]["dis"] * KWH),
                    }
                )
            items.append({"deviceType": 1, "inverterData": inv, "sn": "", "sort": 0})
        if p.module_sn:
            mon = {
                "moduleSn": p.module_sn,
                "moduleModel": "eManager",
                "isOnline": self._is_online(p.module_sn),
                "firmwareVersion": "V1.046",
                "deviceSnList": [d.sn for d in p.devices],
            }
            last = self._last_sample(p, p.module_sn)
            if last:
                dd, i = last
                v = dd["plant"]
                grid = int(v["exp"][i]) - int(v["imp"][i])
                mon.update(
                    {
                        "gridPower": abs(grid),
                        "gridDirection": int(np.sign(grid)),
                        "totalLoadPower": int(v["load"][i]),
                        "updateDate": dd["local"][i],
                    }
                )
            items.append({"deviceType": 2, "monitorData": mon, "sn": "", "sort": 1})
        return items

    def _hardware(self, dev: Device) -> dict:
        """The inverter's and its module's identity (baseinfo and batInfo's deviceInfo)."""
        h = _h(self.fleet.seed, "firmware", dev.model)
        return {
            "invType": f"{dev.model}-{dev.rated_w / 1000:g}K-{'T' if dev.phases == 3 else 'S'}",
            "invPower": f"{dev.rated_w:.2f}",
            "invSN": dev.sn,
            "invPC": f"{_h(self.fleet.seed, 'pc', dev.sn) % 10**10:010d}",
            "invDFW": f"v1.{h % 90 + 10:03d}",
            "invMFW": f"v0.{h // 90 % 900 + 100:03d}",
            "invSFW": "v65.535",
            "dispHWVersion": "v1.100",
            "ctrlHWVersion": "v1.100",
            "powerHWVersion": "v1.100",
            "moduleModel": "eSolar AIO3",
            "moduleSN": self._module_sn(dev),
            "modulePC": f"{_h(self.fleet.seed, 'mpc', dev.sn) % 10**9:09d}",
            "moduleFW": "v1.500",
            "moduleCCID": "",
            "moduleIMEI": "",
        }

    def _battery(self, dev: Device) -> dict | None:
        """The device's battery (one box holding the device's whole capacity), or None without one."""
        if dev.battery_kwh <= 0:
            return None
        h = _h(self.fleet.seed, "battery", dev.sn)
        return {
            "batModel": f"B1-{dev.battery_kwh:.1f}-48",
            "batSN": f"B1{h % 10**14:014d}",
            "batType": "LFP",
            "bmsSN": f"BMS{h // 10**14 % 10**12:012d}",
            "bmsType": "SAJ-BMS",
            "bmsSoftwareVersion": "v1.20",
            "bmsHardwareVersion": "v1.04",
            "batPC": f"{h % 10**9:09d}",
        }

    @_endpoint()
    def _ep_device_baseinfo(self, app, params):
        dev = self._device_param(app, params)
        out = self._hardware(dev)
        out["ratedPower"] = f"{dev.rated_w / 1000:g}"
        bat = self._battery(dev)
        out["batNum"] = "1" if bat else "0"
        for n in range(1, 6):
            b = bat if n == 1 and bat else {}
            out.update(
                {
                    f"bat{n}SN": b.get("batSN", ""),
                    f"bat{n}Type": b.get("batType", ""),
                    f"bms{n}SN": b.get("bmsSN", ""),
                    f"bms{n}Type": b.get("bmsType", ""),
                    f"bms{n}SoftwareVersion": b.get("bmsSoftwareVersion", ""),
                    f"bms{n}HardwareVersion": b.get("bmsHardwareVersion", ""),
                }
            )
        return out

    @_endpoint()
    def _ep_device_batInfo(self, app, params):
        dev = self._device_param(app, params)
        bat = self._battery(dev)
        boxes = []
        if bat:
            boxes.append(
                {
                    "batModel": bat["batModel"],
                    "batModule": "1",
                    "bmsSN": bat["bmsSN"],
                    "batPC": bat["batPC"],
                    "batType": bat["batType"],
                    "bmsSoftwareVersion": bat["bmsSoftwareVersion"],
                    "bmsHardwareVersion": bat["bmsHardwareVersion"],
                    "batSN": bat["batSN"],
                    "ifBatBox": True,
                    "numberIndex": 1,
                }
            )
        return {"deviceInfo": self._hardware(dev), "batteryInfoList": boxes}

    # ------------------------------------------------------------------ endpoints: inverter data
    @_endpoint()
    def _ep_device_uploadData(self, app, params):
        dev = self._device_param(app, params)
        unit = self._int_param(params, "timeUnit", None, 0, 3)
        start, end = self._window(params, 24 if unit == 0 else None)
        p = self.fleet.plant(dev.plant_id)
        if unit == 0:
            data, total = self._upload_minute(p, dev, start, end)
        else:
            data, total = self._upload_buckets(p, dev, start, end, unit)
        return {"deviceType": dev.device_type, "timeUnit": unit, "total": total, "data": data}

    def _upload_minute(self, p, dev, start, end):
        points = []
        sums = {k: 0 for k in TERMS}
        for dd, idx in self._minute_slots(p, start, end, dev.sn, "device/uploadData"):
            vals = dd["devices"][dev.sn]
            if dev.device_type == 0:
                points.extend(self._type0_points(p, dev, dd, idx))
            else:
                for i in idx:
                    pv, load, imp, exp = (int(vals[k][i]) for k in ("pv", "load", "imp", "exp"))
                    chg, dis, soc = int(vals["chg"][i]), int(vals["dis"][i]), int(vals["soc"][i])
                    own = load - int(vals["grid_to_load"][i])  # the load served on site (PV and battery)
                    if _u(self.fleet.seed, "bms", dev.sn, int(dd["utc"][i])) < 0.004:
                        soc = -1
                    points.append(
                        {
                            "batterySOC": soc,
                            "buyPower": imp,
                            "chargePower": chg,
                            "dataTime": dd["local"][i],
                            "dischargePower": dis,
                            "loadPower": load,
                            "pvPower": pv,
                            "selfUsePower": own,
                            "sellPower": exp,
                        }
                    )
                for k in sums:
                    sums[k] += int(vals[k][idx].sum())
        total = None if dev.device_type == 0 else self._storage_total(sums)
        return self._damage(points), total

    def _type0_points(self, p, dev, dd, idx):
        vals = dd["devices"][dev.sn]["pv"]
        cum = np.cumsum(vals) * KWH
        el = self._electrics(p, dev, dd)
        as_str = dev.model in STRING_MODELS
        out = []
        for i in idx:
            power = int(vals[i])
            p1, p2, v1, v2, c1, c2 = el.strings(power, i)
            te = 0.0 if (el.glitch[i] and power > 0) else _r2(float(cum[i]))
            three = el.three_phase
            pt = {
                "dataTime": dd["local"][i],
                "l1Volt": float(el.l1[i]),
                "l2Volt": float(el.l23[0, i]) if three else 0,
                "l3Volt": float(el.l23[1, i]) if three else 0,
                "power": power,
                "pv1Curr": c1,
                "pv1Power": p1,
                "pv1Volt": v1,
                "pv2Curr": c2,
                "pv2Power": p2,
                "pv2Volt": v2,
                "todayEnergy": te,
            }
            if as_str:
                pt = {k: (v if k == "dataTime" else (str(v))) for k, v in pt.items()}
            out.append(pt)
        return out

    def _upload_buckets(self, p, dev, start, end, unit):
        inf = float("inf")
        data = []
        tot = {k: 0 for k in TERMS}
        for label, d0, d1 in self._buckets(p, start, end, unit):
            stamp = label.strftime(TFMT)
            if dev.device_type == 0:
                s = self._sum_range(p, d0, d1, inf, dev.sn)
                data.append({"dataTime": stamp, "pVEnergy": _r2(s["pv"] * KWH)})
            else:
                s = self._sum_range(p, d0, d1, inf)
                for k in tot:
                    tot[k] += s[k]
                data.append(
                    {
                        "buyEnergy": _r2(s["imp"] * KWH),
                        "dataTime": stamp,
                        "loadEnergy": _r2(s["load"] * KWH),
                        "pVEnergy": _r2(s["pv"] * KWH),
                        "selfConsumption": _r2((s["pv"] - s["pv_to_grid"]) * KWH),
                        "sellEnergy": _r2(s["exp"] * KWH),
                    }
                )
        total = None if dev.device_type == 0 else self._storage_total(tot)
        return data, total

    @_endpoint()
    def _ep_device_historyDataCommon(self, app, params):
        dev = self._device_param(app, params)
        start, end = self._window(params, 24)
        p = self.fleet.plant(dev.plant_id)
        recs = []
        for dd, idx in self._minute_slots(p, start, end, dev.sn, "device/historyDataCommon"):
            recs += self._records(p, dev, dd, idx, realtime=False)
        return RawJson("[" + ",".join(recs) + "]")

    @_endpoint()
    def _ep_device_realtimeDataCommon(self, app, params):
        dev = self._device_param(app, params)
        p = self.fleet.plant(dev.plant_id)
        last = self._last_sample(p, dev.sn)
        if last is None:
            return None
        dd, i = last
        return RawJson(self._records(p, dev, dd, [i], realtime=True)[0])

    # ------------------------------------------------------------------ endpoints: plant data
    @_endpoint()
    def _ep_plant_getPlantStatisticsData(self, app, params):
        p = self._plant_param(app, params)
        cd = self._time_param(params, "clientDate")
        lim = self._local_to_utc(p, cd)
        day = cd.date()
        di = self._dindex(day)
        s = {k: self._sum_range(p, d0, di + 1, lim) for k, d0 in {"today": di, **self._periods(day)}.items()}
        no_meter = p.plant_type == 0 and not p.has_load_monitor

        def e(period, k):
            if no_meter and k in ("load", "imp"):
                return ""
            if no_meter and k == "exp":
                k = "pv"  # a grid-tied plant without a meter reports all its PV as sold
            return _s2(s[period][k] * KWH)

        last = self._last_sample(p, None, lim)
        soc, power, dtime, upd = "0", 0, "", ""
        if last is not None:
            dd, i = last
            power = int(dd["plant"]["pv"][i])
            if p.battery_kwh > 0:
                soc = str(int(dd["plant"]["soc"][i]))
            dtime = dd["local"][i]
            upd = (datetime.strptime(dtime, TFMT) + timedelta(seconds=97)).strftime(TFMT)
        main = next((d for d in p.devices if d.device_type != 0), p.devices[0])
        status = _device_status(p.plant_type != 0, self._open_levels({d.sn for d in p.devices}, lim), power > 0)
        data = {
            "plantUid": p.plant_uid,
            "deviceSn": main.sn,
            "plantName": p.name,
            "type": p.plant_type,
            "powerNow": f"{power:.1f}",
            "deviceStatus": status,
            "batEnergyPercent": soc,
        }
        for name, k in (("Pv", "pv"), ("Load", "load"), ("Buy", "imp"), ("Sell", "exp")):
            for period in ("today", "month", "year", "total"):
                data[f"{period}{name}Energy"] = e(period, k)
        data.update(
            {
                "todayChargeEnergy": e("today", "chg"),
                "todayDisChargeEnergy": e("today", "dis"),
                "totalChargeEnergy": e("total", "chg"),
                "totalDisChargeEnergy": e("total", "dis"),
                "usableBatCapacity": _s2(p.battery_kwh * USABLE),
                "unitOfCapacity": "kWh",
                "totalPlantTreeNum": _s2(s["total"]["pv"] * KWH * 0.0018),
                "totalReduceCo2": f"{s['total']['pv'] * KWH * 0.000997:.1f}",
                "co2UnitOfWeight": "t",
                "todayEquivalentHours": _s2(s["today"]["pv"] * KWH / p.system_power_kwp),
                "dataTime": dtime,
                "updateDate": upd,
                "deviceSnList": [d.sn for d in p.devices],
                "moduleSnList": [p.module_sn] if p.module_sn else [],
            }
        )
        return data

    @_endpoint()
    def _ep_plant_energy(self, app, params):
        p = self._plant_param(app, params)
        sns = [s.strip() for s in (params.get("deviceSns") or "").split(",") if s.strip()]
        if not sns:
            raise _param_error("deviceSns is required")
        mine = {d.sn: d for d in p.devices}
        if any(sn not in mine for sn in sns):
            raise _param_error("deviceSns holds a device that is not in the plant")
        devs = [mine[sn] for sn in dict.fromkeys(sns)]
        cd = self._time_param(params, "clientDate")
        lim = self._local_to_utc(p, cd)
        di = self._dindex(cd.date())
        # the PV those devices measure, counted once: a storage or AC-coupled inverter sees the plant's
        storage = any(d.device_type != 0 for d in devs)
        scope = [None] if storage else [d.sn for d in devs]
        e = {
            k: sum(self._sum_range(p, d0, di + 1, lim, sn)["pv"] for sn in scope) * KWH
            for k, d0 in {"today": di, **self._periods(cd.date())}.items()
        }
        last = self._last_sample(p, None, lim)
        power, soc, upd = 0, 0, None
        if last is not None:
            dd, i = last
            power = sum(int((dd["plant"] if sn is None else dd["devices"][sn])["pv"][i]) for sn in scope)
            soc = int(dd["plant"]["soc"][i]) if any(d.battery_kwh > 0 for d in devs) else 0
            upd = (datetime.strptime(dd["local"][i], TFMT) + timedelta(seconds=97)).strftime(TFMT)
        status = _device_status(storage, self._open_levels(set(sns), lim), power > 0)
        return {
            "batEnergyPercent": soc,
            "deviceStatus": status,
            "monthPvEnergy": _r2(e["month"]),
            "powerNow": power,
            "todayPvEnergy": _r2(e["today"]),
            "totalPvEnergy": _r2(e["total"]),
            "updateDate": upd,
            "yearPvEnergy": _r2(e["year"]),
        }

    @_endpoint()
    def _ep_device_secData(self, app, params):
        p = self._plant_param(app, params)
        if not p.has_load_monitor:
            raise ApiError(10021, MSG_NO_MONITOR)
        unit = self._int_param(params, "timeUnit", None, 0, 3)
        start, end = self._window(params, 24 if unit == 0 else None)
        sums = {k: 0 for k in TERMS}
        data = []
        if unit == 0:
            # the monitor measures the house around the clock: every sample it sent, night included
            for dd, idx in self._minute_slots(p, start, end, p.module_sn, "device/secData"):
                v = dd["plant"]
                for i in idx:
                    data.append(
                        {
                            "dataTime": dd["local"][i],
                            "pvPower": int(v["pv"][i]),
                            "loadPower": int(v["load"][i]),
                            "selfUsePower": int(v["load"][i]) - int(v["grid_to_load"][i]),
                            "buyPower": int(v["imp"][i]),
                            "sellPower": int(v["exp"][i]),
                        }
                    )
                for k in sums:
                    sums[k] += int(v[k][idx].sum())
            data = self._damage(data)
        else:
            for label, d0, d1 in self._buckets(p, start, end, unit):
                s = self._sum_range(p, d0, d1, float("inf"))
                for k in sums:
                    sums[k] += s[k]
                data.append(
                    {
                        "dataTime": label.strftime(TFMT),
                        "pvEnergy": _r2(s["pv"] * KWH),
                        "loadEnergy": _r2(s["load"] * KWH),
                        "sellEnergy": _r2(s["exp"] * KWH),
                        "buyEnergy": _r2(s["imp"] * KWH),
                        "selfUseEnergy": _r2((s["load"] - s["grid_to_load"]) * KWH),
                    }
                )
        return {"dataList": [{"moduleSn": p.module_sn, "timeUnit": unit, "total": self._sec_total(sums), "data": data}]}

    # ------------------------------------------------------------------ endpoints: EMS (the load monitor)
    def _ems_points(self, p: Plant, dd: dict, idx, text: bool) -> list[dict]:
        """The plant as its energy-management module sees it at the samples `idx` of a day. text: powers and
        energies as strings (emsHistoryData) instead of numbers (emsRealtimeDataCommon), with the year's
        breakdown."""
        idx = np.asarray(idx, dtype=np.int64)
        n = len(idx)
        v = {k: dd["plant"][k][idx] for k in KEYS + ["soc"]}
        day = self._day_of(dd)
        di = self._dindex(day)
        cum = {k: np.cumsum(dd["plant"][k])[idx] for k in TERMS}
        e = {"today": {k: cum[k] * KWH for k in TERMS}}
        for period, d0 in self._periods(day).items():
            base = self._earlier(p, None, d0, di)
            e[period] = {k: (base[k] + cum[k]) * KWH for k in TERMS}
        if text:
            num = lambda a: [f"{x:.2f}" for x in np.broadcast_to(a, (n,)).tolist()]
            whole = lambda a: list(map(str, np.broadcast_to(a, (n,)).astype(np.int64).tolist()))
        else:
            num = lambda a: [_r2(x) for x in np.broadcast_to(a, (n,)).tolist()]
            whole = lambda a: np.broadcast_to(a, (n,)).astype(np.int64).tolist()
        grid, bat = v["exp"] - v["imp"], v["dis"] - v["chg"]
        local = dd["local_naive"][idx]
        cols = {
            "deviceSn": [p.module_sn] * n,
            "plantUid": [p.plant_uid] * n,
            "invTime": inv_times(dd, idx),
            "dataTime": [dd["local"][i] for i in idx.tolist()],
            "updateDate": (local + pd.Timedelta(seconds=2)).strftime(TFMT).tolist(),
            "invType": [59] * n,
            "parallSOC": whole(v["soc"]),
            "parallPVPower": whole(v["pv"]),
            "parallGridPower": whole(grid),
            "parallLoadPower": whole(v["load"]),
            "parallBatPower": whole(bat),
            "parallMeterPower": whole(v["pv"] if p.plant_type == 3 else 0),
            "parallBackupPower": whole(0),
            "parallOngridPower": whole(v["load"]),
            "parallTotalPvPower": whole(v["pv"]),
            "parallTotalCap": num(p.battery_kwh),
            "parallUserCap": num(p.battery_kwh * USABLE),
        }
        # SAJ's "feed-in" is what the house bought (as the reference's example shows), "sell" what it sold
        names = {"PV": "pv", "Sell": "exp", "FeedIn": "imp", "BatChg": "chg", "BatDis": "dis", "TotalLoad": "load"}
        for period, prefix in (
            ("today", "parallToday"),
            ("month", "parallMonth"),
            ("year", "parallYear"),
            ("total", "parallTotal"),
        ):
            for name, k in names.items():
                sic = period == "month" and name in ("FeedIn", "Sell")  # spelt parall_Month_... in the reference
                cols[f"{'parall_Month_' if sic else prefix}{name}Energy"] = num(e[period][k])
        signal = str(-50 - int(35 * _u(self.fleet.seed, "signal", p.module_sn)))
        cols.update(
            {"batteryDirection": np.sign(bat).astype(int).tolist(), "gridDirection": np.sign(grid).astype(int).tolist()}
        )
        const = {
            "registerDnsp": False,
            "dnspExportLimitPower": -1,
            "currentMaxBatPoweLimitSupport": False,
            "currentMaxChargePowerLimit": -1,
            "currentMaxDisChargePowerLimit": -1,
            "di0IoValue": 0,
            "di1IoValue": 0,
            "di2IoValue": 0,
            "rcrIoValue": 0,
            "drmIoValue": 0,
            "signal4G": "",
            "wifiSignal": signal,
            "emsAlarmInfo": 0,
            "emsAlarmStatus": 0,
            "emsAlarmStatus1": 0,
        }
        if text:
            y = e["year"]
            cols.update(
                {
                    "yearBackupLoadEnergy": num(0),
                    "yearBatChgEnergy": num(y["chg"]),
                    "yearBatDisEnergy": num(y["dis"]),
                    "yearGridConsumpEnergy": num(y["imp"]),
                    "yearFeedInEnergy": num(y["imp"]),
                    "yearGridFeedInEnergy": num(y["exp"]),
                    "yearGridFeedInBatEnergy": num(y["battery_to_grid"]),
                    "yearGridFeedInPVEnergy": num(y["pv_to_grid"]),
                    "yearPVEnergy": num(y["pv"]),
                    "yearSellEnergy": num(y["exp"]),
                    "yearTotalLoadEnergy": num(y["load"]),
                }
            )
        return [{**dict(zip(cols, row)), **const} for row in zip(*cols.values())]

    @_endpoint()
    def _ep_device_emsRealtimeDataCommon(self, app, params):
        p = self._ems_param(app, params)
        last = self._last_sample(p, p.module_sn)
        if last is None:
            return None
        dd, i = last
        return self._ems_points(p, dd, [i], text=False)[0]

    def _ems_window(self, app, params, max_hours: int):
        p = self._ems_param(app, params)
        if self._plant_param(app, params) is not p:
            raise _param_error("emsSn is not a module of plantId")
        return p, self._window(params, max_hours)

    @_endpoint()
    def _ep_device_emsHistoryData(self, app, params):
        p, (start, end) = self._ems_window(app, params, 24)
        out = []
        for dd, idx in self._minute_slots(p, start, end, p.module_sn, "device/emsHistoryData"):
            out += self._ems_points(p, dd, idx, text=True)
        return out

    @_endpoint()
    def _ep_device_emsHistoryData4Meter(self, app, params):
        """The module's meters: the grid meter on the first channel; on AC-coupled plants the PV meter of
        the grid-tied inverter on the second. Power signs: + drawn from the grid side (import), - sent back."""
        p, (start, end) = self._ems_window(app, params, 2)
        meter_sn = f"DT{_h(self.fleet.seed, 'meter', p.module_sn) % 10**12:012d}"
        three = any(d.phases == 3 for d in p.devices)
        second = p.plant_type == 3
        out = []
        for dd, idx in self._minute_slots(p, start, end, p.module_sn, "device/emsHistoryData4Meter"):
            v = dd["plant"]
            el = self._electrics(p, p.devices[0], dd)
            cum = {k: np.cumsum(v[k]) for k in ("imp", "exp", "pv")}
            before = self._earlier(p, None, 0, self._dindex(self._day_of(dd)))
            for i in idx:
                volts = [float(el.l1[i])] + ([float(x) for x in el.l23[:, i]] if three else [0.0, 0.0])
                pt = {
                    "sn": meter_sn,
                    "dataTime": dd["local"][i].replace(" ", "T"),
                    "meterType": "DTSU666",
                    "currRatio": 1,
                    "wiringMode": 0,
                }
                channels = [
                    (
                        "",
                        int(v["imp"][i]) - int(v["exp"][i]),
                        cum["imp"][i],
                        cum["exp"][i],
                        before["imp"],
                        before["exp"],
                    )
                ]
                if second:
                    channels.append(("SecondWay", -int(v["pv"][i]), 0, cum["pv"][i], 0, before["pv"]))
                for suffix, power, imp_today, exp_today, imp_before, exp_before in channels:
                    n = 3 if three else 1
                    per = [power / n if ph < n else 0.0 for ph in range(3)]
                    pt.update({f"phase{ph + 1}Volt{suffix}": volts[ph] for ph in range(3)})
                    pt.update(
                        {
                            f"phase{ph + 1}Curr{suffix}": round(abs(per[ph]) / volts[ph], 2) if volts[ph] else 0.0
                            for ph in range(3)
                        }
                    )
                    pt.update({f"freq{x}{suffix}": electrical.FREQ for x in ("", "A", "B", "C")})
                    pt[f"totalGridPower{suffix}"] = power
                    pt.update({f"phase{ph + 1}Power{suffix}": round(per[ph], 1) for ph in range(3)})
                    pt.update({f"totalQpower{suffix}": 0, **{f"phase{ph + 1}Qpower{suffix}": 0 for ph in range(3)}})
                    pf = 0.99 if power else 0.0
                    pt.update(
                        {
                            f"totalPowerfactor{suffix}": pf,
                            **{f"phase{ph + 1}Powerfactor{suffix}": pf if ph < n else 0.0 for ph in range(3)},
                        }
                    )
                    pt[f"impEp{suffix}"] = _r2((imp_before + imp_today) * KWH)
                    pt[f"expEp{suffix}"] = _r2((exp_before + exp_today) * KWH)
                    pt[f"todayImpEp{suffix}"] = _s2(imp_today * KWH)
                    pt[f"todayExpEp{suffix}"] = _s2(exp_today * KWH)
                    for ph, x in enumerate("ABC"):
                        share = 1 / n if ph < n else 0.0
                        pt[f"todayImpEp{x}{suffix}"] = _s2(imp_today * KWH * share)
                        pt[f"todayExpEp{x}{suffix}"] = _s2(exp_today * KWH * share)
                pt.update({"firstWayEnable": 1, "secondWayEnable": int(second)})
                out.append(pt)
        return out

    # ------------------------------------------------------------------ endpoints: alarms
    @_endpoint()
    def _ep_device_alarmList(self, app, params):
        fl = self.fleet
        sn = params.get("deviceSn")
        if sn:
            dev = self._device_param(app, params)
            sns = {dev.sn}
        else:
            appid = params.get("appId")
            if not appid:
                raise _param_error("appId or deviceSn is required")
            if appid != app:
                raise self._unauthorized(appid)
            sns = {d.sn for d in fl.devices}
        start = self._time_param(params, "startTime", required=False)
        end = self._time_param(params, "endTime", required=False)
        try:
            status = {int(x) for x in params["status"].split(",") if x.strip()} if params.get("status") else None
            levels = (
                {int(x) for x in params["alarmLevel"].split(",") if x.strip()} if params.get("alarmLevel") else None
            )
        except ValueError:
            raise _param_error("status and alarmLevel are comma-separated numbers") from None
        if start is None and end is None and status is None:
            status = {1}
        out = []
        for a in fl.alarms():
            if a.device_sn not in sns:
                continue
            st = 1 if a.ended_at is None else 4
            if status is not None and st not in status:
                continue
            if levels is not None and a.alarm_level not in levels:
                continue
            local = a.started_at.astimezone(fl.zone(fl.plant(a.plant_id))).replace(tzinfo=None)
            if start is not None and local < start:
                continue
            if end is not None and local > end:
                continue
            out.append(
                {
                    "deviceSn": a.device_sn,
                    "alarmCode": a.alarm_code,
                    "alarmName": a.alarm_name,
                    "alarmLevel": a.alarm_level,
                    "status": st,
                    "alarmTime": local.strftime(TFMT),
                }
            )
        return out

    @_endpoint()
    def _ep_device_getDeviceAlarmList(self, app, params):
        fl = self.fleet
        dev = self._device_param(app, params)
        state = self._int_param(params, "alarmCommonState", None, 1, 3)
        dtype = self._int_param(params, "alarmDeviceType", None, 1, 6)
        order = self._int_param(params, "orderByIndex", 1, 1, 4)
        now = fl.now
        rows = []
        if dtype == 1:
            for a in fl.alarms():
                if a.device_sn != dev.sn:
                    continue
                if state in (1, 2) and a.ended_at is not None:
                    continue
                if state == 3 and (a.ended_at is None or a.ended_at < now - timedelta(days=90)):
                    continue
                rows.append(a)
        keyf = {
            1: lambda a: -a.started_at.timestamp(),
            2: lambda a: a.started_at.timestamp(),
            3: lambda a: -(a.ended_at or now).timestamp(),
            4: lambda a: (a.ended_at or now).timestamp(),
        }[order]
        rows.sort(key=keyf)
        p = fl.plant(dev.plant_id)
        iso = lambda t: t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = []
        for n, a in enumerate(rows, 1):
            upd = a.ended_at or now.replace(second=0, microsecond=0)
            out.append(
                {
                    "serialNumber": n,
                    "alarmID": a.alarm_id,
                    "alarmName": a.alarm_name,
                    "deviceSn": a.device_sn,
                    "optSn": a.device_sn,
                    "deviceType": 1,
                    "deviceTypeName": "Inverter",
                    "plantUid": p.plant_uid,
                    "plantName": p.name,
                    "plantCountry": p.country,
                    "alarmLevel": a.alarm_level,
                    "alarmLevelName": {1: "General", 2: "Important", 3: "Urgent"}[a.alarm_level],
                    "alarmState": 1 if a.ended_at is None else 4,
                    "alarmStateName": "Happening" if a.ended_at is None else "Recovered",
                    "alarmStartTime": iso(a.started_at),
                    "alarmUpdateTime": iso(upd),
                    "alarmDuration": _duration(upd - a.started_at),
                }
            )
        return out


def _duration(td: timedelta) -> str:
    mins = max(0, int(td.total_seconds() // 60))
    if mins < 60:
        return f"{mins} minutes"
    h, m = divmod(mins, 60)
    if h < 24:
        return f"{h} hours {m} minutes"
    d, h = divmod(h, 24)
    return f"{d} days {h} hours {m} minutes"
