"""The SAJ Elekeeper Open Platform stand-in: endpoints, tokens, limits and envelopes of the real service."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from datetime import date, datetime, timedelta, timezone

import numpy as np

from ..core.faults import Faults
from ..core.fleet import STRING_MODELS, STEP_S, Fleet, Plant, _u
from ..core.http import Answer, StandInServer
from . import electrical

PREFIX = "/prod-api/open/api/"
TFMT = "%Y-%m-%d %H:%M:%S"
KWH = STEP_S / 3600.0 / 1000.0  # kWh per W-slot

LIMITS = {"device/uploadData": 50, "device/realtimeDataCommon": 150, "device/emsRealtimeDataCommon": 10}
DEFAULT_QPS = 5
ENDPOINTS = {
    "access_token", "developer/plant/page", "developer/device/page", "plant/details",
    "plant/getPlantAllDeviceList", "device/uploadData", "device/secData", "plant/getPlantStatisticsData",
    "device/alarmList", "device/getDeviceAlarmList", "device/realtimeDataCommon",
}
ERRCODE_ENVELOPE = {"plant/getPlantStatisticsData"}

MSG_SYSTEM = "System error, please try again later"
MSG_TOKEN = "accessToken does not exist"
MSG_FREQ = "Too frequent access, please try again later"


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


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class SimulatorServer(StandInServer):
    """Serve ``fleet`` as SAJ's Open Platform on 127.0.0.1:port (0 = a free port). Use start()/stop() or ``with``."""

    api_prefix = PREFIX
    server_name = "SAJSimulator/1.0"

    def __init__(self, fleet: Fleet, port: int = 0, limits: bool = True, qps_scale: float = 1.0,
                 token_ttl_s: float = 7200, faults: Faults | None = None, host: str = "127.0.0.1"):
        self.token_ttl_s = token_ttl_s
        self._tokens: dict[str, tuple[str, float]] = {}  # app id -> (token, issued monotonic)
        self._token_counter = 0
        super().__init__(fleet, port=port, limits=limits, qps_scale=qps_scale, faults=faults, host=host)

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/prod-api"

    # ------------------------------------------------------------------ request handling
    def internal_error(self) -> Answer:
        return Answer(200, _dumps({"code": 10001, "msg": MSG_SYSTEM, "data": None}), code=10001)

    def handle_api(self, method: str, endpoint: str, params: dict, headers, body: bytes = b"") -> Answer:
        endpoint = endpoint.strip("/")
        if endpoint not in ENDPOINTS:
            obj = {"code": 404, "msg": f"No handler found for GET /prod-api/open/api/{endpoint}", "data": None}
            return Answer(404, _dumps(obj), code=404)
        try:
            if method != "GET":
                raise ApiError(500, f"Request method '{method}' not supported")
            out, code = self._dispatch(endpoint, params, headers)
        except ApiError as e:
            out, code = self._error(endpoint, e.code, e.msg), e.code
        except Exception:  # never a stack trace
            out, code = self._error(endpoint, 10001, MSG_SYSTEM), 10001
        if code == 10006 and out.find(b"Too frequent") >= 0:
            self.count_rejected(endpoint)
        return Answer(200, out, code=code)

    def _error(self, endpoint: str, code: int, msg: str) -> bytes:
        if endpoint in ERRCODE_ENVELOPE:
            return _dumps({"errCode": code, "errMsg": msg, "data": None})
        return _dumps({"code": code, "msg": msg, "data": None})

    def _dispatch(self, endpoint: str, params: dict, headers) -> tuple[bytes, int]:
        if endpoint == "access_token":
            return self._access_token(params)
        app = self._check_token(headers.get("accessToken"))
        self._check_rate(app, endpoint)
        f = self.faults
        if f.roll(f.code_10001_rate):
            raise ApiError(10001, MSG_SYSTEM)
        sign = headers.get("clientSign")
        if sign is not None and params.get("deviceSn"):
            want = hashlib.sha256(f"appId={app},deviceSN={params['deviceSn']}".encode()).hexdigest()
            if sign.strip().lower() != want:
                raise ApiError(10004, "Authentication failed")
        h = getattr(self, "_ep_" + endpoint.replace("/", "_"))
        return h(app, params)

    # ------------------------------------------------------------------ auth and limits
    def _access_token(self, params):
        fl = self.fleet
        if params.get("appId") != fl.app_id or params.get("appSecret") != fl.app_secret:
            raise ApiError(100009, "appId or appSecret does not exist")
        with self._lock:
            self._token_counter += 1
            raw = hashlib.sha512(f"{fl.app_secret}|{self._token_counter}|{time.time_ns()}".encode()).digest()
            token = base64.b64encode(raw[:64]).decode()
            self._tokens[fl.app_id] = (token, time.monotonic())
        self.count_token()
        return _dumps({"code": 200, "msg": "", "data": {"access_token": token, "expires": int(self.token_ttl_s)}}), 200

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

    def _check_rate(self, app: str, endpoint: str):
        if self.limits and not self.within_limit((app, endpoint), LIMITS.get(endpoint, DEFAULT_QPS)):
            raise ApiError(10006, MSG_FREQ)

    # ------------------------------------------------------------------ parameter helpers
    def _plant_param(self, app, params, name="plantId") -> Plant:
        pid = params.get(name)
        if not pid:
            raise _param_error(f"{name} is required")
        try:
            return self.fleet.plant(pid)
        except KeyError:
            raise ApiError(200015, f"App {app} do not match. Unauthorized access to data")

    def _device_param(self, app, params):
        sn = params.get("deviceSn")
        if not sn:
            raise _param_error("deviceSn is required")
        try:
            return self.fleet.device(sn)
        except KeyError:
            raise ApiError(200015, f"App {app} do not match. Unauthorized access to data")

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
            raise _param_error(f"{name} must be in the format yyyy-MM-dd HH:mm:ss")

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
            raise _param_error(f"{name} must be an integer")
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise _param_error(f"{name} out of range")
        return n

    def _window(self, params, minute: bool):
        start = self._time_param(params, "startTime")
        end = self._time_param(params, "endTime")
        if end < start:
            raise _param_error("endTime is earlier than startTime")
        if minute and end - start > timedelta(hours=24):
            raise _param_error("time span exceeds 24 hours")
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
        keys = ["pv"] if sn else ["pv", "load", "imp", "exp", "chg", "dis"]
        out = {k: 0 for k in keys}
        if d1 <= d0:
            return out
        # full days: those ending by both limits
        lo, hi = d0, d1
        while hi > lo and cal.day_start(hi) > lim:
            hi -= 1
        # days [lo, hi) are complete; day hi (if < d1) may be partial
        if hi > lo:
            if sn:
                out["pv"] = int(fl.device_daily_pv(fl.device(sn), lo, hi).sum())
            else:
                for k in keys:
                    out[k] = int(fl.daily_array(plant, k, lo, hi).sum())
        if hi < d1 and cal.day_start(hi) < lim:
            dd = fl._day(plant, fl.start_date + timedelta(days=hi))
            m = (dd["utc"] < limit_ts) & (dd["utc"] + STEP_S <= avail)
            vals = dd["devices"][sn] if sn else dd["plant"]
            for k in keys:
                out[k] += int(vals[k][m].sum())
        return out

    def _local_to_utc(self, plant: Plant, dt: datetime) -> float:
        return dt.replace(tzinfo=self.fleet.zone(plant)).timestamp()

    def _dindex(self, day: date) -> int:
        return (day - self.fleet.start_date).days

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

    def _storage_total(self, s: dict) -> dict:
        pv, load, buy, sell = s["pv"] * KWH, s["load"] * KWH, s["imp"] * KWH, s["exp"] * KWH
        r = (lambda a, b: float(round(a / b, 4)) if b > 0 else 0)
        return {
            "buyRate": r(buy, load), "loadSelfConsumedRate": r(load - buy, load),
            "pvSelfConsumedRate": r(pv - sell, pv), "sellRate": r(sell, pv),
            "totalBuyEnergy": _r2(buy), "totalLoad": _r2(load), "totalPVEnergy": _r2(pv),
            "totalPVSelfConsumption": _r2(pv - sell), "totalSelfConsumption": _r2(load - buy),
            "totalSellEnergy": _r2(sell),
        }

    def _sec_total(self, s: dict) -> dict:
        pv, load, buy, sell = s["pv"] * KWH, s["load"] * KWH, s["imp"] * KWH, s["exp"] * KWH
        r = (lambda a, b: float(round(a / b, 3)) if b > 0 else 0)
        return {
            "buyEnergy": _r2(buy), "chargeEnergy": _r2(s["chg"] * KWH), "dischargeEnergy": _r2(s["dis"] * KWH),
            "energyUnit": "kWh", "loadBuyRate": r(buy, load), "loadEnergy": _r2(load),
            "loadSelfConsumedEnergy": _r2(load - buy), "loadSelfConsumedRate": r(load - buy, load),
            "pvEnergy": _r2(pv), "pvSelfConsumedEnergy": _r2(pv - sell), "pvSelfConsumedRate": r(pv - sell, pv),
            "pvSellRate": r(sell, pv), "sellEnergy": _r2(sell),
        }

    def _minute_slots(self, plant: Plant, start: datetime, end: datetime, mask_sns: list[str]):
        """[(day data, indices)] of the samples with local stamp in [start, end] that are served."""
        fl = self.fleet
        out = []
        d = start.date()
        s0, s1 = start.strftime(TFMT), end.strftime(TFMT)
        last = min(end.date(), fl.local_today(plant))  # nothing is served beyond now: do not simulate it
        while d <= last:
            dd = fl._day(plant, d)
            if dd is not None:
                loc = dd["local"]
                sel = np.array([s0 <= t <= s1 for t in loc], dtype=bool)
                for sn in mask_sns:
                    sel &= fl.reported_mask(sn, dd)
                idx = np.nonzero(sel)[0]
                if len(idx):
                    out.append((dd, idx))
            d += timedelta(days=1)
        return out

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
                    p[k] = (str(v) if isinstance(v, (int, float)) else
                            (None if f.roll(0.5) else {"value": v}) if isinstance(v, str) else "NaN")
            out.append(p)
            if f.roll(f.duplicate_sample_rate):
                out.append(dict(p))
        return out

    # ------------------------------------------------------------------ endpoints: system
    def _page(self, app, params, rows):
        appid = params.get("appId")
        if not appid:
            raise _param_error("appId is required")
        if appid != app:
            raise ApiError(200008, f"App {appid} does not exist")
        size = self._int_param(params, "pageSize", 100, 1, 10000)
        num = self._int_param(params, "pageNum", 1, 1)
        total = len(rows)
        page = rows[(num - 1) * size: num * size]
        return _dumps({"total": total, "rows": page, "code": 200, "msg": "查询成功",
                       "totalPage": int(math.ceil(total / size))}), 200

    def _ep_developer_plant_page(self, app, params):
        rows = [{"plantId": p.plant_id, "plantName": p.name, "NMI": p.nmi, "plantNo": p.plant_no}
                for p in self.fleet.plants]
        return self._page(app, params, rows)

    def _open_alarm_sns(self) -> set:
        return {a.device_sn for a in self.fleet.alarms() if a.ended_at is None}

    def _is_online(self, sn: str) -> int:
        now = self.fleet.now
        for a, b in self.fleet.offline.get(sn, []):
            if a <= now < b:
                return 0
        return 1

    def _ep_developer_device_page(self, app, params):
        alarmed = self._open_alarm_sns()
        rows = []
        for p in self.fleet.plants:
            for d in p.devices:
                rows.append({"deviceSn": d.sn, "deviceType": d.model, "plantId": p.plant_id, "plantName": p.name,
                             "isOnline": self._is_online(d.sn), "isAlarm": int(d.sn in alarmed),
                             "country": p.country})
        return self._page(app, params, rows)

    # ------------------------------------------------------------------ endpoints: information
    def _ep_plant_details(self, app, params):
        p = self._plant_param(app, params)
        data = {
            "plantUid": p.plant_uid, "plantName": p.name, "plantNo": p.plant_no, "type": p.plant_type,
            "useType": 0,
            "systemPower": str(p.system_power_kwp) if p.index % 2 else p.system_power_kwp,
            "gridPrice": p.grid_price, "currencyName": p.currency, "currency": p.currency,
            "timeZone": p.time_zone, "timeZoneName": p.time_zone_name, "countryCode": p.country_code,
            "country": p.country, "province": "", "city": p.city, "fullAddress": f"{p.city}, {p.country}",
            "latitude": p.latitude, "longitude": p.longitude, "zipCode": "", "meterId": p.nmi,
            "moduleNum": int(round(p.system_power_kwp * 1000 / 410)), "gridNetType": "2", "payMode": "3",
            "pvPanelAzimuth": str(p.azimuth_deg), "pvPanelAngle": str(p.tilt_deg),
            "isInstallMeter": int(p.has_load_monitor), "secModuleIfNewVersion": int(p.has_load_monitor),
            "isShared": 0, "deviceSnList": [d.sn for d in p.devices],
            "moduleSnList": [p.module_sn] if p.module_sn else [],
            "projectPic": "https://esolar-images.jtaiyang.com/plant/defaultPlantCover.png",
        }
        return _dumps({"code": 200, "msg": "request success", "data": data}), 200

    def _ep_plant_getPlantAllDeviceList(self, app, params):
        p = self._plant_param(app, params)
        fl = self.fleet
        today = fl.local_today(p)
        di = self._dindex(today)
        month0 = self._dindex(today.replace(day=1))
        year0 = self._dindex(today.replace(month=1, day=1))
        inf = float("inf")
        items = []
        for d in p.devices:
            sn = d.sn if d.device_type == 0 else None
            tday = self._sum_range(p, di, di + 1, inf, sn)["pv"] * KWH
            mon = self._sum_range(p, month0, di + 1, inf, sn)["pv"] * KWH
            yr = self._sum_range(p, year0, di + 1, inf, sn)["pv"] * KWH
            tot = self._sum_range(p, 0, di + 1, inf, sn)["pv"] * KWH
            last = self._last_sample(p, d.sn)
            soc = ""
            power = 0
            if last is not None:
                dd, i = last
                vals = dd["devices"][d.sn]
                power = int(vals["pv"][i])
                if d.device_type != 0:
                    soc = str(int(vals["soc"][i]))
            inv = {"aliases": d.sn, "deviceSn": d.sn, "deviceModel": d.model,
                   "deviceStatus": "Normal" if d.device_type == 0 else "On-grid", "powerNow": power,
                   "todayEnergy": _r2(tday), "monthEnergy": _r2(mon), "yearEnergy": _r2(yr),
                   "totalEnergy": _r2(tot), "type": d.device_type, "isOnline": self._is_online(d.sn)}
            if d.device_type != 0:
                inv["batEnergyPercent"] = soc
                inv["unitOfCapacity"] = "kWh"
            items.append({"deviceType": 1, "inverterData": inv, "sn": "", "sort": 0})
        if p.module_sn:
            items.append({"deviceType": 2, "monitorData": {"moduleSn": p.module_sn, "moduleModel": "eManager",
                                                           "isOnline": self._is_online(p.module_sn),
                                                           "firmwareVersion": "V1.046"}, "sn": "", "sort": 1})
        return _dumps({"code": 200, "msg": "request success", "data": items}), 200

    # ------------------------------------------------------------------ endpoints: data
    def _ep_device_uploadData(self, app, params):
        dev = self._device_param(app, params)
        unit = self._int_param(params, "timeUnit", None, 0, 3)
        start, end = self._window(params, minute=unit == 0)
        p = self.fleet.plant(dev.plant_id)
        if unit == 0:
            data, total = self._upload_minute(p, dev, start, end)
        else:
            data, total = self._upload_buckets(p, dev, start, end, unit)
        body = {"code": 200, "msg": "request success",
                "data": {"deviceType": dev.device_type, "timeUnit": unit, "total": total, "data": data}}
        return _dumps(body), 200

    def _upload_minute(self, p, dev, start, end):
        points = []
        sums = {k: 0 for k in ["pv", "load", "imp", "exp", "chg", "dis"]}
        for dd, idx in self._minute_slots(p, start, end, [dev.sn]):
            vals = dd["devices"][dev.sn]
            if dev.device_type == 0:
                points.extend(self._type0_points(p, dev, dd, idx))
            else:
                for i in idx:
                    pv, load, imp, exp = (int(vals[k][i]) for k in ("pv", "load", "imp", "exp"))
                    chg, dis, soc = int(vals["chg"][i]), int(vals["dis"][i]), int(vals["soc"][i])
                    if _u(self.fleet.seed, "bms", dev.sn, int(dd["utc"][i])) < 0.004:
                        soc = -1
                    points.append({"batterySOC": soc, "buyPower": imp, "chargePower": chg,
                                   "dataTime": dd["local"][i], "dischargePower": dis, "loadPower": load,
                                   "pvPower": pv, "selfUsePower": load - imp, "sellPower": exp})
                    for k in sums:
                        sums[k] += int(vals[k][i])
        total = None if dev.device_type == 0 else self._storage_total(sums)
        return self._damage(points), total

    def _type0_points(self, p, dev, dd, idx):
        vals = dd["devices"][dev.sn]["pv"]
        cum = np.cumsum(vals) * KWH
        d = self._dindex(date.fromisoformat(dd["local"][0][:10]))
        el = electrical.day_electrics(self.fleet.seed, p, dev, d, dd["n"])
        as_str = dev.model in STRING_MODELS
        out = []
        for i in idx:
            power = int(vals[i])
            p1, p2, v1, v2, c1, c2 = el.strings(power, i)
            te = 0.0 if (el.glitch[i] and power > 0) else _r2(float(cum[i]))
            three = el.three_phase
            pt = {"dataTime": dd["local"][i], "l1Volt": float(el.l1[i]),
                  "l2Volt": float(el.l23[0, i]) if three else 0, "l3Volt": float(el.l23[1, i]) if three else 0,
                  "power": power, "pv1Curr": c1, "pv1Power": p1, "pv1Volt": v1,
                  "pv2Curr": c2, "pv2Power": p2, "pv2Volt": v2, "todayEnergy": te}
            if as_str:
                pt = {k: (v if k == "dataTime" else (str(v))) for k, v in pt.items()}
            out.append(pt)
        return out

    def _upload_buckets(self, p, dev, start, end, unit):
        inf = float("inf")
        data = []
        tot = {k: 0 for k in ["pv", "load", "imp", "exp", "chg", "dis"]}
        for label, d0, d1 in self._buckets(p, start, end, unit):
            stamp = label.strftime(TFMT)
            if dev.device_type == 0:
                s = self._sum_range(p, d0, d1, inf, dev.sn)
                data.append({"dataTime": stamp, "pVEnergy": _r2(s["pv"] * KWH)})
            else:
                s = self._sum_range(p, d0, d1, inf)
                for k in tot:
                    tot[k] += s[k]
                data.append({"buyEnergy": _r2(s["imp"] * KWH), "dataTime": stamp, "loadEnergy": _r2(s["load"] * KWH),
                             "pVEnergy": _r2(s["pv"] * KWH), "selfConsumption": _r2((s["pv"] - s["exp"]) * KWH),
                             "sellEnergy": _r2(s["exp"] * KWH)})
        total = None if dev.device_type == 0 else self._storage_total(tot)
        return data, total

    def _ep_device_secData(self, app, params):
        p = self._plant_param(app, params)
        if not p.has_load_monitor:
            raise ApiError(10021, "plant has not been bound with load monitoring")
        unit = self._int_param(params, "timeUnit", None, 0, 3)
        start, end = self._window(params, minute=unit == 0)
        sums = {k: 0 for k in ["pv", "load", "imp", "exp", "chg", "dis"]}
        data = []
        if unit == 0:
            for dd, idx in self._minute_slots(p, start, end, [p.module_sn]):
                v = dd["plant"]
                for i in idx:
                    imp = int(v["imp"][i])
                    data.append({"dataTime": dd["local"][i], "pvPower": int(v["pv"][i]),
                                 "loadPower": int(v["load"][i]), "selfUsePower": int(v["load"][i]) - imp,
                                 "buyPower": imp, "sellPower": int(v["exp"][i])})
                    for k in sums:
                        sums[k] += int(v[k][i])
            if data and all(pt["pvPower"] == 0 for pt in data):
                data = []  # night-time minute windows answer an empty list
                sums = {k: 0 for k in sums}
            data = self._damage(data)
        else:
            for label, d0, d1 in self._buckets(p, start, end, unit):
                s = self._sum_range(p, d0, d1, float("inf"))
                for k in sums:
                    sums[k] += s[k]
                data.append({"dataTime": label.strftime(TFMT), "pvEnergy": _r2(s["pv"] * KWH),
                             "loadEnergy": _r2(s["load"] * KWH), "sellEnergy": _r2(s["exp"] * KWH),
                             "buyEnergy": _r2(s["imp"] * KWH), "selfUseEnergy": _r2((s["load"] - s["imp"]) * KWH)})
        body = {"code": 200, "msg": "request success",
                "data": {"dataList": [{"moduleSn": p.module_sn, "timeUnit": unit, "total": self._sec_total(sums),
                                       "data": data}]}}
        return _dumps(body), 200

    def _last_sample(self, p: Plant, sn: str, before_ts: float | None = None):
        """(day data, index) of the latest sample of sn the API serves (within the last 3 days)."""
        fl = self.fleet
        limit = self._cutoff() if before_ts is None else min(before_ts, self._cutoff())
        zone = fl.zone(p)
        day = datetime.fromtimestamp(limit, timezone.utc).astimezone(zone).date()
        for back in range(4):
            d = day - timedelta(days=back)
            dd = fl._day(p, d)
            if dd is None:
                return None
            m = fl.reported_mask(sn, dd) if sn != "__plant__" else np.ones(dd["n"], bool)
            m &= dd["utc"] + STEP_S <= limit
            idx = np.nonzero(m)[0]
            if len(idx):
                return dd, int(idx[-1])
        return None

    def _ep_plant_getPlantStatisticsData(self, app, params):
        p = self._plant_param(app, params)
        cd = self._time_param(params, "clientDate")
        lim = self._local_to_utc(p, cd)
        day = cd.date()
        di = self._dindex(day)
        today = self._sum_range(p, di, di + 1, lim)
        month = self._sum_range(p, self._dindex(day.replace(day=1)), di + 1, lim)
        year = self._sum_range(p, self._dindex(day.replace(month=1, day=1)), di + 1, lim)
        total = self._sum_range(p, 0, di + 1, lim)
        no_meter = p.plant_type == 0 and not p.has_load_monitor

        def e(s, k):
            if no_meter and k in ("load", "imp"):
                return ""
            if no_meter and k == "exp":
                k = "pv"  # a grid-tied plant without a meter reports all its PV as sold
            return _s2(s[k] * KWH)

        last = self._last_sample(p, "__plant__", lim)
        soc, power, dtime, upd = "0", "0", "", ""
        if last is not None:
            dd, i = last
            power = f"{float(dd['plant']['pv'][i]):.1f}"
            if p.battery_kwh > 0:
                soc = str(int(dd["plant"]["soc"][i]))
            dtime = dd["local"][i]
            upd = (datetime.strptime(dtime, TFMT) + timedelta(seconds=97)).strftime(TFMT)
        data = {
            "plantUid": p.plant_uid, "plantName": p.name, "type": p.plant_type, "powerNow": power,
            "deviceStatus": 2, "batEnergyPercent": soc,
            "todayPvEnergy": e(today, "pv"), "monthPvEnergy": e(month, "pv"), "yearPvEnergy": e(year, "pv"),
            "totalPvEnergy": e(total, "pv"),
            "todayLoadEnergy": e(today, "load"), "monthLoadEnergy": e(month, "load"),
            "yearLoadEnergy": e(year, "load"), "totalLoadEnergy": e(total, "load"),
            "todayBuyEnergy": e(today, "imp"), "monthBuyEnergy": e(month, "imp"), "yearBuyEnergy": e(year, "imp"),
            "totalBuyEnergy": e(total, "imp"),
            "todaySellEnergy": e(today, "exp"), "monthSellEnergy": e(month, "exp"),
            "yearSellEnergy": e(year, "exp"), "totalSellEnergy": e(total, "exp"),
            "todayChargeEnergy": e(today, "chg"), "todayDisChargeEnergy": e(today, "dis"),
            "totalChargeEnergy": e(total, "chg"), "totalDisChargeEnergy": e(total, "dis"),
            "usableBatCapacity": _s2(p.battery_kwh * 0.9), "unitOfCapacity": "kWh",
            "totalPlantTreeNum": _s2(total["pv"] * KWH * 0.0018),
            "totalReduceCo2": f"{total['pv'] * KWH * 0.000997:.1f}", "co2UnitOfWeight": "t",
            "todayEquivalentHours": _s2(today["pv"] * KWH / p.system_power_kwp),
            "dataTime": dtime, "updateDate": upd,
            "deviceSnList": [d.sn for d in p.devices], "moduleSnList": [p.module_sn] if p.module_sn else [],
        }
        return _dumps({"errCode": 0, "errMsg": "", "data": data}), 0

    def _ep_device_realtimeDataCommon(self, app, params):
        dev = self._device_param(app, params)
        p = self.fleet.plant(dev.plant_id)
        last = self._last_sample(p, dev.sn)
        storage = dev.device_type != 0
        if last is None:
            env = '{"errCode":"0","errMsg":"","data":null}' if storage else \
                '{"code":200,"msg":"request success","data":null}'
            return env.encode(), 0 if storage else 200
        dd, i = last
        v = dd["devices"][dev.sn]
        pv = int(v["pv"][i])
        utc = datetime.fromtimestamp(int(dd["utc"][i]), timezone.utc)
        di = self._dindex(date.fromisoformat(dd["local"][0][:10]))
        today_pv = float(np.sum(v["pv"][: i + 1])) * KWH
        total_pv = (self.fleet.device_daily_pv(dev, 0, di).sum() if di > 0 else 0) * KWH + today_pv
        vnom = {"DE": 230.0, "AU": 240.0, "MY": 240.0, "CN": 220.0}.get(p.country_code, 230.0)
        volt = vnom + 4 * (_u(self.fleet.seed, "v", dev.sn, int(dd["utc"][i])) - 0.5)
        s = lambda x: str(x)
        f2 = lambda x: f"{x:.2f}"
        pairs = [
            ("deviceSn", dev.sn), ("parallelEnable", 0), ("parallelMaster", 0),
            ("moduleSn", p.module_sn or ("M5310G" + dev.sn[-10:])),
            ("dataTime", dd["local"][i]), ("invTime", utc.strftime("%Y-%m-%dT%H:%MZ")),
            ("updateDate", (datetime.strptime(dd["local"][i], TFMT) + timedelta(seconds=116)).strftime(TFMT)),
            ("isOnline", "0" if dev.model in STRING_MODELS else "1"), ("mpvMode", "2" if pv > 0 else "1"),
            ("meterAStatus", "1" if storage else "0"),
        ]
        for ph in "123":
            pairs += [(f"meterAVolt{ph}", "0"), (f"meterACurr{ph}", "0"), (f"meterAPowerWatt{ph}", "0")]
        dc = pv / 0.975 if pv else 0.0
        for n, share in ((1, 0.5), (2, 0.5)):
            pw = dc * share
            vv = 350.0 if pv else 20.0 + 5 * n
            pairs += [(f"pv{n}volt", f2(vv)), (f"pv{n}curr", f2(pw / vv)), (f"pv{n}power", s(int(round(pw))))]
        for n in range(3, 17):
            pairs += [(f"pv{n}volt", "0"), (f"pv{n}curr", "0"), (f"pv{n}power", "0")]
        if storage:
            chg, dis, soc = int(v["chg"][i]), int(v["dis"][i]), int(v["soc"][i])
            load, imp, exp = int(v["load"][i]), int(v["imp"][i]), int(v["exp"][i])
            batp = dis - chg
            grid = exp - imp
            dsum = lambda k: float(np.sum(v[k][: i + 1])) * KWH
            pairs += [
                ("batTempC", "26.5"), ("batEnergyPercent", s(soc)), ("batPower", s(batp)),
                ("totalBatteryPower", s(batp)), ("batteryDirection", "1" if batp > 0 else "-1" if batp < 0 else "0"),
                ("currentMaxBatPoweLimitSupport", "false"), ("currentMaxChargePowerLimit", "-1"),
                ("currentMaxDisChargePowerLimit", "-1"),
                ("totalPVPower", s(pv)), ("totalLoadPowerWatt", s(load)), ("totalGridPowerWatt", s(grid)),
                ("backupTotalLoadPowerWatt", "0"), ("sysGridPowerWatt", s(grid)), ("sysTotalLoadWatt", s(load)),
                ("gridDirection", "1" if grid > 0 else "-1" if grid < 0 else "0"),
                ("todayLoadEnergy", f2(dsum("load"))), ("todaySellEnergy", f2(dsum("exp"))),
                ("todayFeedInEnergy", f2(dsum("exp"))), ("todayBatChgEnergy", f2(dsum("chg"))),
                ("todayBatDisEnergy", f2(dsum("dis"))),
            ]
        else:
            pairs += [
                ("batTempC", "0"), ("batEnergyPercent", "0"), ("batPower", "0"), ("totalBatteryPower", "0"),
                ("batteryDirection", "0"), ("currentMaxChargePowerLimit", "-1"),
                ("currentMaxDisChargePowerLimit", "-1"),
                ("totalPVPower", s(pv)), ("totalLoadPowerWatt", ""), ("totalGridPowerWatt", s(pv)),
                ("backupTotalLoadPowerWatt", ""), ("sysGridPowerWatt", s(pv)), ("sysTotalLoadWatt", ""),
                ("gridDirection", "-1"), ("todayLoadEnergy", ""), ("todaySellEnergy", "0"),
                ("todayFeedInEnergy", "0"), ("todayBatChgEnergy", "0"), ("todayBatDisEnergy", "0"),
            ]
        pairs += [
            ("todayPvEnergy", f2(today_pv)), ("totalPvEnergy", f2(total_pv)),
            ("rGridVolt", f2(volt)), ("rGridFreq", "50.01" if p.country_code != "XX" else "60.00"),
            ("rGridCurr", f2(pv / volt if not storage else abs(int(v["imp"][i]) - int(v["exp"][i])) / volt)),
            ("rGridPowerWatt", s(pv if not storage else int(v["exp"][i]) - int(v["imp"][i]))),
            ("rInvVolt", f2(volt)), ("rInvCurr", f2(pv / volt)), ("rInvFreq", "50.01"), ("rInvPowerWatt", s(pv)),
            ("sGridVolt", "0"), ("tGridVolt", "0"),
            ("rOutVolt", "0"), ("rOutPowerWatt", "0"), ("tOutVolt", "0"), ("tOutPowerVA", "0"),
            ("tOutPowerWatt", "0"),
            ("totalFeedInEnergy", ""), ("totalTotalLoadEnergy", ""), ("totalBatDisEnergy", ""),
            ("totalBatChgEnergy", ""), ("parallTotalPVMeterEnergy", "0"),
            ("totalSellEnergy", "0"),
            ("tOutPowerWatt", "-1"),  # the key really appears twice; a plain JSON parser keeps this one
            ("rGridPowerPF", "0.998"), ("sinkTempC", "38.2"), ("ambTempC", "27.4"), ("invTempC", "41.0"),
            ("linkSignal", "-67"), ("registerDnsp", "false"), ("dnspExportLimitPower", "-1"),
            ("totalHour", "0.0"), ("iso1", "8687"), ("iso2", "0"),
        ]
        obj = "{" + ",".join(json.dumps(k) + ":" + json.dumps(x, ensure_ascii=False) for k, x in pairs) + "}"
        if storage:
            text = '{"errCode":"0","errMsg":"","data":' + obj + "}"
            return text.encode("utf-8"), 0
        text = '{"code":200,"msg":"request success","data":' + obj + "}"
        return text.encode("utf-8"), 200

    # ------------------------------------------------------------------ endpoints: alarms
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
                raise ApiError(200015, f"App {appid} do not match. Unauthorized access to data")
            sns = {d.sn for d in fl.devices}
        start = self._time_param(params, "startTime", required=False)
        end = self._time_param(params, "endTime", required=False)
        try:
            status = {int(x) for x in params["status"].split(",") if x.strip()} if params.get("status") else None
            levels = ({int(x) for x in params["alarmLevel"].split(",") if x.strip()}
                      if params.get("alarmLevel") else None)
        except ValueError:
            raise _param_error("status and alarmLevel are comma-separated numbers")
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
            out.append({"deviceSn": a.device_sn, "alarmCode": a.alarm_code, "alarmName": a.alarm_name,
                        "alarmLevel": a.alarm_level, "status": st, "alarmTime": local.strftime(TFMT)})
        return _dumps({"code": 0, "msg": "", "data": out}), 0

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
        keyf = {1: lambda a: -a.started_at.timestamp(), 2: lambda a: a.started_at.timestamp(),
                3: lambda a: -(a.ended_at or now).timestamp(), 4: lambda a: (a.ended_at or now).timestamp()}[order]
        rows.sort(key=keyf)
        p = fl.plant(dev.plant_id)
        iso = lambda t: t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        out = []
        for n, a in enumerate(rows, 1):
            upd = a.ended_at or now.replace(second=0, microsecond=0)
            out.append({
                "serialNumber": n, "alarmID": a.alarm_id, "alarmName": a.alarm_name, "deviceSn": a.device_sn,
                "optSn": a.device_sn, "deviceType": 1, "deviceTypeName": "Inverter", "plantUid": p.plant_uid,
                "plantName": p.name, "plantCountry": p.country, "alarmLevel": a.alarm_level,
                "alarmLevelName": {1: "General", 2: "Important", 3: "Urgent"}[a.alarm_level],
                "alarmState": 1 if a.ended_at is None else 4,
                "alarmStateName": "Happening" if a.ended_at is None else "Recovered",
                "alarmStartTime": iso(a.started_at), "alarmUpdateTime": iso(upd),
                "alarmDuration": _duration(upd - a.started_at),
            })
        return _dumps({"code": 0, "msg": "", "data": out}), 0


def _duration(td: timedelta) -> str:
    mins = max(0, int(td.total_seconds() // 60))
    if mins < 60:
        return f"{mins} minutes"
    h, m = divmod(mins, 60)
    if h < 24:
        return f"{h} hours {m} minutes"
    d, h = divmod(h, 24)
    return f"{d} days {h} hours {m} minutes"
