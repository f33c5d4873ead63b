"""The SMA stand-in: the OAuth2 token endpoint, the owner-consent flow and the Monitoring API on one port.

    /auth/oauth2/token                          SMA_AUTH_URL    = <root>/auth
    /async-auth/oauth2/v2/bc-authorize[/hint]   SMA_CONSENT_URL = <root>/async-auth
    /monitoring/v1/...                          SMA_API_URL     = <root>/monitoring

Guarantees: the shapes of the captured responses (fixtures/sma-monitoring-api/); tokens that live
``token_ttl_s`` seconds of the real clock (401 once expired or unknown); no plant before its owner accepted
a consent request; one token bucket per API key (``bucket_size`` calls, refilled every ``refill_s``
seconds; past it HTTP 429 with ``Retry-After``); measurement sets computed from the fleet's truth by
`series` (see its guarantees); never a stack trace. See docs/simulator.md for the contract.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import time
from datetime import date, timezone
from urllib.parse import parse_qs, unquote

from ..core.fleet import Fleet
from ..core.http import Answer, StandInServer, dumps
from .layout import CO2_FACTOR, SmaDevice, SmaLayout, SmaPlant
from .series import SeriesMaker, derived_plant_values, device_noise, device_set_rows, energy_balance_rows

SCOPE = "monitoringApi:read profile email"
PERIODS = ("Day", "Recent")  # served; Week/Month/Year/Total answer 400 (see docs/simulator.md)
ALL_PERIODS = ("Recent", "Day", "Week", "Month", "Year", "Total")
DECISIONS = {
    "accept": ("Pending", "Accepted"),
    "decline": ("Pending", "Rejected"),
    "expire": ("Pending", "Expired"),
    "revoke": ("Accepted", "Revoked"),
}
LOG_CATEGORY = {1: "Warning", 2: "Error", 3: "Error"}
MESSAGE_TAG_BASE = 9_000_000  # messageTagId = base + the fleet's alarm code


class HttpError(Exception):
    def __init__(self, status: int, obj: dict, headers: dict | None = None):
        super().__init__(obj)
        self.status, self.obj, self.headers = status, obj, headers or {}


def _problem(status: int, title: str, detail: str = "") -> HttpError:
    """ASP.NET-style problem details: no error body of the real API was ever captured."""
    obj = {"title": title, "status": status}
    if detail:
        obj["detail"] = detail
    return HttpError(status, obj)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class SmaServer(StandInServer):
    """Serve ``fleet`` as SMA's auth, consent and Monitoring API on host:port (0 = a free port).

    The options every stand-in takes (port, limits, qps_scale, faults, host) are `StandInServer`'s, passed on.
    """

    api_prefix = "/"
    server_name = "SmaSimulator/1.0"

    def __init__(
        self,
        fleet: Fleet,
        *,
        token_ttl_s: float = 300.0,
        bucket_size: int = 1000,
        refill_s: float = 300.0,
        time_basis: str = "local",
        processing_s: float = 7200.0,
        consented: bool = False,
        swap_day="default",
        **server,
    ):
        self.layout = SmaLayout(fleet, swap_day=swap_day)
        self.series = SeriesMaker(fleet, processing_s=processing_s)
        self.token_ttl_s = float(token_ttl_s)
        self.bucket_size = int(bucket_size)
        self.refill_s = float(refill_s)
        self.time_basis = _basis(time_basis)
        self._key = os.urandom(32)  # signs this server's tokens; never leaves the process
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, issued monotonic)
        self._jti = 0
        self._buckets: dict[str, list] = {}  # client id -> [calls left, window start monotonic]
        self.consent: dict[str, str] = {e: "Accepted" for e in self.layout.owners} if consented else {}
        self.consent_emails_sent: dict[str, int] = {}
        super().__init__(fleet, **server)

    # ------------------------------------------------------------------ URLs
    @property
    def auth_url(self) -> str:
        return f"{self.root_url}/auth"

    @property
    def consent_url(self) -> str:
        return f"{self.root_url}/async-auth"

    @property
    def api_url(self) -> str:
        return f"{self.root_url}/monitoring"

    # ------------------------------------------------------------------ request handling
    def reset_stats(self):
        super().reset_stats()
        with self._lock:
            self._buckets.clear()

    def internal_error(self) -> Answer:
        return Answer(500, dumps({"title": "Internal Server Error", "status": 500}), code=500)

    def endpoint_of(self, path: str) -> str:
        parts = path.strip("/").split("/")
        for i in range(2, len(parts)):
            if parts[i - 2] == "v1" and parts[i - 1] in ("plants", "devices"):
                parts[i] = "{id}"
            if parts[i - 1] == "bc-authorize":
                parts[i] = "{loginHint}"
        return "/".join(parts)

    def handle_api(self, method: str, path: str, params: dict, headers, body: bytes = b"") -> Answer:
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        params = {k.lower(): v for k, v in params.items()}  # ASP.NET binds query names in any case
        try:
            if parts[:3] == ["auth", "oauth2", "token"] and len(parts) == 3:
                status, obj, hdrs = self._token_endpoint(method, headers, body)
            elif parts[:4] == ["async-auth", "oauth2", "v2", "bc-authorize"] and len(parts) <= 5:
                status, obj, hdrs = self._consent_endpoint(method, parts[4:], headers, body)
            elif parts[:2] == ["monitoring", "v1"]:
                status, obj, hdrs = self._monitoring(method, parts[2:], params, headers)
            else:
                raise _problem(404, "Not Found")
        except HttpError as e:
            status, obj, hdrs = e.status, e.obj, e.headers
        except Exception:  # never a stack trace
            return self.internal_error()
        if status == 429:
            self.count_rejected(self.endpoint_of(path))
        return Answer(status, dumps(obj), code=status, headers=hdrs)

    # ------------------------------------------------------------------ OAuth2 token endpoint
    def _token_endpoint(self, method, headers, body):
        if method != "POST":
            raise HttpError(405, {"error": "invalid_request", "error_description": "HTTP method not allowed"})
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = headers.get("Authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                cid, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except Exception:
                cid = secret = None
        if not form.get("grant_type"):
            raise HttpError(
                400, {"error": "invalid_request", "error_description": "Missing form parameter: grant_type"}
            )
        lay = self.layout
        if cid != lay.client_id or not secret or not hmac.compare_digest(secret, lay.client_secret):
            raise HttpError(
                401, {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"}
            )
        if form["grant_type"] != "client_credentials":
            raise HttpError(400, {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"})
        now = time.time()
        with self._lock:
            self._jti += 1
            jti = self._jti
        ttl = int(self.token_ttl_s)
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = _b64(
            json.dumps(
                {
                    "exp": int(now) + ttl,
                    "iat": int(now),
                    "jti": f"sim-{jti}",
                    "azp": cid,
                    "typ": "Bearer",
                    "scope": SCOPE,
                }
            ).encode()
        )
        sig = _b64(hmac.new(self._key, f"{head}.{claims}".encode(), hashlib.sha256).digest())
        token = f"{head}.{claims}.{sig}"
        with self._lock:
            self._tokens[token] = (cid, time.monotonic())
        self.count_token()
        return (
            200,
            {
                "access_token": token,
                "expires_in": ttl,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": SCOPE,
            },
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _client(self, headers) -> str:
        """The client id behind a live bearer token, else 401."""
        auth = headers.get("Authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        ttl = self.token_ttl_s
        if self.faults.token_ttl_s is not None:
            ttl = min(ttl, self.faults.token_ttl_s)
        with self._lock:
            hit = self._tokens.get(token) if token else None
            if hit is not None and time.monotonic() - hit[1] < ttl:
                return hit[0]
            if hit is not None:
                del self._tokens[token]
        raise HttpError(
            401, {"title": "Unauthorized", "status": 401}, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )

    def expire_tokens(self) -> int:
        """End every live token now (a test's 'token expires mid-run')."""
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
        return n

    # ------------------------------------------------------------------ consent (custom flow)
    def _consent_endpoint(self, method, rest, headers, body):
        self._client(headers)
        if method == "POST" and not rest:
            try:
                hint = str(json.loads(body or b"{}")["loginHint"]).strip()
            except Exception:
                raise _problem(
                    400, "Bad Request", "the body must be JSON with a loginHint (the owner's e-mail)"
                ) from None
            owner = self._owner(hint)
            if owner is None:
                raise HttpError(
                    400,
                    {
                        "loginHint": hint,
                        "state": None,
                        "message": f"No permission request was sent: the user '{hint}' is not a plant owner.",
                    },
                )
            with self._lock:
                state = self.consent.get(owner)
                if state != "Accepted":
                    state = self.consent[owner] = "Pending"
                    self.consent_emails_sent[owner] = self.consent_emails_sent.get(owner, 0) + 1
            return 200, {"loginHint": owner, "state": state}, {}
        if method == "GET" and len(rest) == 1:
            owner = self._owner(rest[0])
            state = self.consent.get(owner) if owner else None
            if state is None:
                raise _problem(404, "Not Found", f"no permission request for '{rest[0]}'")
            return 200, {"loginHint": owner, "state": state}, {}
        raise _problem(405 if not rest else 404, "Method Not Allowed" if not rest else "Not Found")

    def _owner(self, hint: str) -> str | None:
        h = hint.strip().lower()
        return next((e for e in self.layout.owners if e.lower() == h), None)

    def decide(self, login_hint: str, decision: str) -> str:
        """Play the owner: accept, decline or let expire a pending request, or revoke an accepted one."""
        owner = self._owner(login_hint)
        if owner is None:
            raise KeyError(login_hint)
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {sorted(DECISIONS)}")
        need, new = DECISIONS[decision]
        with self._lock:
            if self.consent.get(owner) != need:
                raise ValueError(f"cannot {decision}: the request of {owner} is {self.consent.get(owner)}, not {need}")
            self.consent[owner] = new
        return new

    # ------------------------------------------------------------------ rate limit
    def _take(self, client: str):
        """One call from the client's bucket, else 429 with the seconds to the next refill."""
        if not self.limits:
            return
        size = max(1, int(round(self.bucket_size * self.qps_scale)))
        now = time.monotonic()
        with self._lock:
            b = self._buckets.get(client)
            if b is None:
                b = self._buckets[client] = [size, now]
            elif now - b[1] >= self.refill_s:
                b[1] += math.floor((now - b[1]) / self.refill_s) * self.refill_s
                b[0] = size
            if b[0] > 0:
                b[0] -= 1
                return
            wait = max(1, math.ceil(b[1] + self.refill_s - now))
        raise HttpError(429, {"title": "Too Many Requests", "status": 429}, {"Retry-After": str(wait)})

    # ------------------------------------------------------------------ monitoring
    def _monitoring(self, method, parts, params, headers):
        client = self._client(headers)
        self._take(client)
        if method != "GET":
            raise _problem(405, "Method Not Allowed")
        n = len(parts)
        if parts[:1] == ["plants"]:
            if n == 1:
                return 200, {"plants": [self._plant_item(sp) for sp in self.layout.plants if self._visible(sp)]}, {}
            sp = self._plant_param(parts[1])
            if n == 2:
                return 200, {**self._plant_head(sp), "description": _description(sp)}, {}
            if parts[2:] == ["devices", "lean"]:
                return 200, {"devices": self._devices(sp, _bool(params, "withdeactivateddevices"))}, {}
            if parts[2:] == ["measurements", "sets"]:
                return 200, {"plant": self._plant_head(sp), "sets": ["EnergyBalance"]}, {}
            if n == 6 and parts[2:4] == ["measurements", "sets"]:
                if parts[4].lower() != "energybalance":
                    raise _problem(404, "Not Found", f"measurement set {parts[4]} is not offered for plants")
                return 200, self._energy_balance(sp, parts[5], params), {}
            if parts[2:] == ["logs"]:
                return 200, self._logs(sp, None, params), {}
        if parts[:1] == ["devices"] and n >= 2:
            dev = self._device_param(parts[1])
            if parts[2:] == ["measurements", "sets"]:
                return (
                    200,
                    {"plant": self._plant_head(dev.plant), "device": self._device_head(dev), "sets": list(dev.sets)},
                    {},
                )
            if n == 6 and parts[2:4] == ["measurements", "sets"]:
                return 200, self._device_set(dev, parts[4], parts[5], params), {}
            if parts[2:] == ["logs"]:
                return 200, self._logs(dev.plant, dev, params), {}
        raise _problem(404, "Not Found")

    def _visible(self, sp: SmaPlant) -> bool:
        return self.consent.get(sp.owner) == "Accepted"

    def _plant_param(self, plant_id: str) -> SmaPlant:
        try:
            sp = self.layout.plant(plant_id)
        except KeyError:
            raise _problem(404, "Not Found", f"plant {plant_id} not found") from None
        if not self._visible(sp):
            raise _problem(403, "Forbidden", "no permission of the plant owner for this plant")
        return sp

    def _device_param(self, device_id: str) -> SmaDevice:
        try:
            dev = self.layout.device(device_id)
        except KeyError:
            raise _problem(404, "Not Found", f"device {device_id} not found") from None
        if not dev.exists_on(self.fleet.local_today(dev.plant.plant)):
            raise _problem(404, "Not Found", f"device {device_id} not found")
        if not self._visible(dev.plant):
            raise _problem(403, "Forbidden", "no permission of the plant owner for this device")
        return dev

    # ------------------------------------------------------------------ master data
    def _plant_head(self, sp: SmaPlant) -> dict:
        return {"plantId": sp.plant_id, "name": sp.plant.name, "timezone": sp.timezone}

    def _device_head(self, dev: SmaDevice) -> dict:
        return {"deviceId": dev.device_id, "name": dev.name, "timezone": dev.plant.timezone}

    def _plant_item(self, sp: SmaPlant) -> dict:
        p = sp.plant
        peak = p.system_power_kwp * 1000.0
        ac = float(sum(d.rated_w for d in p.devices if d.device_type in (0, 1)))
        inst = {
            "peakPower": round(peak, 1),
            "acNominalPower": ac,
            "calcAcNominalPower": round(peak * 0.9, 1),
            "dcPowerInputMax": round(peak, 1),
        }
        if not sp.installation_set:  # "not configured" shows as 0.0 and an empty orientation
            inst.update(peakPower=0.0, acNominalPower=0.0, dcPowerInputMax=0.0)
        inst["co2SavingsFactor"] = CO2_FACTOR.get(p.country_code, 500)
        inst["startUpUtc"] = f"{self.fleet.start_date.isoformat()}T00:00:00"
        inst["orientation"] = (
            {"azimuth": int(round(p.azimuth_deg)), "collectorSlope": int(round(p.tilt_deg))}
            if sp.installation_set
            else {}
        )
        zipc = f"{10000 + p.index * 137 % 89999:05d}"
        return {
            **self._plant_head(sp),
            "installation": inst,
            "location": {
                "currencyCode3": p.currency,
                "address": {
                    "country": p.country_code,
                    "federalState": _state(p),
                    "city": p.city,
                    "zipCode": zipc,
                    "street": "Sonnenallee",
                    "streetNo": str(p.index + 1),
                    "longitude": p.longitude,
                    "latitude": p.latitude,
                },
            },
        }

    def _devices(self, sp: SmaPlant, with_deactivated: bool) -> list[dict]:
        today = self.fleet.local_today(sp.plant)
        out = []
        for d in sp.devices:
            if not d.exists_on(today):
                continue
            active = d.active_on(today)
            if not active and not with_deactivated:
                continue
            item = {
                "deviceId": d.device_id,
                "name": d.name,
                "type": d.type,
                "product": d.product,
                "productId": d.product_id,
                "serial": d.serial,
                "vendor": "SMA Solar Technology AG",
            }
            if d.generator_power is not None:
                item["generatorPower"] = d.generator_power
                item["generatorPowerDc"] = d.generator_power_dc
            item["isActive"] = active
            if not active:  # plant-local wall time without offset
                item["deactivatedAt"] = f"{d.deactivated_on.isoformat()}T00:00:00"
            out.append(item)
        return out

    # ------------------------------------------------------------------ measurements
    def _period_day(self, sp: SmaPlant, period: str, params: dict) -> tuple[str, date | None]:
        per = next((p for p in ALL_PERIODS if p.lower() == period.lower()), None)
        if per is None:
            raise _problem(404, "Not Found", f"unknown period {period}")
        if per not in PERIODS:
            raise _problem(400, "Bad Request", f"the simulator serves the periods {', '.join(PERIODS)}")
        today = self.fleet.local_today(sp.plant)
        if per == "Recent":
            return per, today
        raw = params.get("date")
        if not raw:
            raise _problem(400, "Bad Request", "Date is required (YYYY-MM-DD)")
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise _problem(400, "Bad Request", "Date must be YYYY-MM-DD") from None
        return per, (day if day <= today else None)  # nothing beyond today: do not simulate the future

    def _energy_balance(self, sp: SmaPlant, period: str, params: dict) -> dict:
        per, day = self._period_day(sp, period, params)
        energy = _bool(params, "returnenergyvalues")
        body = {"plant": self._plant_head(sp), "setType": "EnergyBalance", "resolution": sp.resolution, "set": []}
        dd = self.fleet._day(sp.plant, day) if day is not None else None
        if dd is None:
            return body
        values = derived_plant_values(dd["plant"])
        rows = self.series.rows(sp, day, values, self.fleet.plant_reported_mask(sp.plant, dd), dd, self.time_basis)
        spike = None
        for dev in sp.devices:
            if dev.spike_wh is not None and dev.active_from == day:
                drows = self._device_rows(dev, day, dd, {"pv": dd["devices"][dev.sn]["pv"]})
                if len(drows):
                    spike = (int(drows.ends[0]), dev.spike_wh)
        out = energy_balance_rows(rows, sp, energy, spike)
        body["set"] = out[-1:] if per == "Recent" else out
        return body

    def _device_rows(self, dev: SmaDevice, day: date, dd: dict, values: dict):
        sp = dev.plant
        mask = self.fleet.reported_mask(dev.sn, dd) if dev.sn else self.fleet.plant_reported_mask(sp.plant, dd)
        first = self.series.spike_row(sp, dev, dd) if dev.spike_wh is not None and day == dev.active_from else 0
        return self.series.rows(sp, day, values, mask, dd, self.time_basis, first_row=first)

    def _device_set(self, dev: SmaDevice, set_name: str, period: str, params: dict) -> dict:
        sp = dev.plant
        set_type = next((s for s in dev.sets if s.lower() == set_name.lower()), None)
        if set_type is None:
            raise _problem(404, "Not Found", f"measurement set {set_name} is not offered by device {dev.device_id}")
        per, day = self._period_day(sp, period, params)
        energy = _bool(params, "returnenergyvalues") and set_type.startswith("EnergyAndPower")
        body = {
            "plant": self._plant_head(sp),
            "device": self._device_head(dev),
            "setType": set_type,
            "resolution": sp.resolution,
            "set": [],
        }
        dd = self.fleet._day(sp.plant, day) if day is not None and dev.active_on(day) else None
        if dd is None:
            return body
        if dev.kind == "meter":
            values = dict(dd["plant"])
        else:
            values = dict(dd["devices"][dev.sn])
            if dev.kind == "pv":
                values["ac"] = values["pv"]
            elif dev.kind == "hybrid":
                values["ac"] = values["pv"] - values["chg"] + values["dis"]
        if set_type in ("PowerAc", "PowerDc"):
            values.update(device_noise(self.fleet, sp, dev, (day - self.fleet.start_date).days, dd["n"]))
        rows = self._device_rows(dev, day, dd, values)
        spike = dev.spike_wh if dev.spike_wh is not None and day == dev.active_from else None
        out = device_set_rows(set_type, rows, dev, energy, values, spike)
        body["set"] = out[-1:] if per == "Recent" else out
        return body

    # ------------------------------------------------------------------ logs
    def _logs(self, sp: SmaPlant, dev: SmaDevice | None, params: dict) -> dict:
        """Fault began / fault ended entries of the plant's (or one device's) alarms in a plant-local day."""
        raw = params.get("date")
        try:
            day = date.fromisoformat(raw or "")
        except ValueError:
            raise _problem(400, "Bad Request", "Date is required (YYYY-MM-DD)") from None
        fl = self.fleet
        zone = fl.zone(sp.plant)
        by_sn: dict[str, list[SmaDevice]] = {}
        for d in sp.devices:
            if d.sn:
                by_sn.setdefault(d.sn, []).append(d)
        out = []
        for a in fl.alarms():
            if a.plant_id != sp.plant.plant_id:
                continue
            for status, at in (("Began", a.started_at), ("Ended", a.ended_at)):
                if at is None:
                    continue
                local = at.astimezone(zone)
                if local.date() != day:
                    continue
                owner = next((d for d in by_sn.get(a.device_sn, []) if d.active_on(local.date())), None)
                if owner is None or (dev is not None and owner is not dev):
                    continue
                shown = local if self.time_basis == "local" else at.astimezone(timezone.utc)
                out.append(
                    {
                        "logId": "" if sp.classic else str(a.alarm_code),
                        "messageTagId": MESSAGE_TAG_BASE + a.alarm_code,
                        "message": a.alarm_name,
                        "category": LOG_CATEGORY[a.alarm_level],
                        "status": status,
                        "time": shown.strftime("%Y-%m-%dT%H:%M:%S"),
                        "deviceId": owner.device_id,
                        "deviceName": owner.name,
                        "_at": at,
                    }
                )
        out.sort(key=lambda r: (r["_at"], r["deviceId"], r["status"] == "Began"))
        for r in out:
            del r["_at"]
        body = {"plant": self._plant_head(sp)}
        if dev is not None:
            body["device"] = self._device_head(dev)
        body["logs"] = out
        return body

    # ------------------------------------------------------------------ admin
    def admin_routes(self) -> dict:
        return {
            ("GET", "/admin/sma"): lambda p, b: (200, self.describe()),
            ("POST", "/admin/sma/consent"): self._admin_consent,
            ("POST", "/admin/sma/tokens/expire"): lambda p, b: (200, {"expired": self.expire_tokens()}),
            ("POST", "/admin/sma/config"): self._admin_config,
        }

    def describe(self) -> dict:
        return {
            **self.layout.describe(),
            "consent": dict(self.consent),
            "urls": {"SMA_AUTH_URL": self.auth_url, "SMA_CONSENT_URL": self.consent_url, "SMA_API_URL": self.api_url},
            "config": self.config(),
        }

    def config(self) -> dict:
        return {
            "time_basis": self.time_basis,
            "token_ttl_s": self.token_ttl_s,
            "bucket_size": self.bucket_size,
            "refill_s": self.refill_s,
            "processing_s": self.series.processing_s,
        }

    def _admin_consent(self, params, body):
        req = json.loads(body or b"{}")
        state = self.decide(str(req.get("loginHint", "")), str(req.get("decision", "")))
        return 200, {"loginHint": self._owner(req["loginHint"]), "state": state}

    def _admin_config(self, params, body):
        req = json.loads(body or b"{}")
        unknown = set(req) - set(self.config())
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        with self._lock:
            if "time_basis" in req:
                self.time_basis = _basis(req["time_basis"])
            if "token_ttl_s" in req:
                self.token_ttl_s = float(req["token_ttl_s"])
            if "bucket_size" in req:
                self.bucket_size = int(req["bucket_size"])
            if "refill_s" in req:
                self.refill_s = float(req["refill_s"])
            if "processing_s" in req:
                self.series.processing_s = float(req["processing_s"])
            self._buckets.clear()  # a new bucket starts full
        return 200, self.config()


def _basis(v: str) -> str:
    if v not in ("local", "utc"):
        raise ValueError("time_basis is 'local' (plant wall time, as captured) or 'utc' (as the FAQ says)")
    return v


def _bool(params: dict, name: str) -> bool:
    v = params.get(name)
    if v is None or v == "":
        return False
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise _problem(400, "Bad Request", f"{name} must be true or false")


def _description(sp: SmaPlant) -> str:
    p = sp.plant
    kind = {0: "PV plant", 1: "PV plant with battery", 3: "PV plant with AC-coupled battery"}[p.plant_type]
    return f"{kind} in {p.city} ({'Sunny Portal classic' if sp.classic else 'ennexOS'})"


def _state(p) -> str:
    states = {
        "DE": {"Berlin": "Berlin", "Munich": "Bavaria"},
        "AU": "New South Wales",
        "MY": {"Kuala Lumpur": "Kuala Lumpur", "George Town": "Penang"},
        "CN": "Guangdong",
    }
    s = states.get(p.country_code, "")
    return s.get(p.city, "") if isinstance(s, dict) else s
