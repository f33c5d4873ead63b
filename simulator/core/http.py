"""What every vendor's stand-in shares: a loopback HTTP server, its statistics, its served log, per-key
sliding-window rate limits, transport faults, and the admin routes (fleet, ground truth, stats, faults,
clock).

A vendor's server subclasses `StandInServer` and implements `handle_api(method, path, params, headers,
body) -> Answer`; the base counts the request, injects latency and HTTP 5xx faults before it, truncates
bodies after it, and logs every whole JSON answer in `served()`. A vendor's constructor takes its own options
as keywords and passes the rest (`**server`) on: the options every stand-in shares, and their defaults, are
declared here only.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np

from .faults import Faults, parse_instant
from .fleet import Fleet

JSON = "application/json;charset=UTF-8"


def dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Answer:
    """One HTTP answer of a stand-in: `code` is the API's code as the statistics count it."""

    status: int
    body: bytes
    code: object = None
    ctype: str = JSON
    headers: dict = field(default_factory=dict)


class StandInServer:
    """Serve a vendor API for `fleet` on host:port (0 = a free port). Use start()/stop() or `with`."""

    #: the path prefix of the vendor's API (requests elsewhere, but /admin, answer 404)
    api_prefix = "/"
    server_name = "StandIn/1.0"
    #: the statuses the 5xx fault draws from (a vendor may narrow them to those its service is seen to give)
    http_5xx_statuses = (500, 502, 503, 504)

    def __init__(
        self,
        fleet: Fleet,
        port: int = 0,
        limits: bool = True,
        qps_scale: float = 1.0,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
    ):
        self.fleet = fleet
        self.port = port
        self.host = host
        self.limits = limits
        self.qps_scale = qps_scale
        self._lock = threading.RLock()
        self._windows: dict[tuple, deque] = defaultdict(deque)
        self._httpd = None
        self._thread = None
        self._pushed_offline: dict = {}
        self.faults = Faults()
        self.set_faults(faults or Faults())
        self.reset_stats()

    # ------------------------------------------------------------------ lifecycle
    def start(self):
        handler = type("Handler", (_Handler,), {"sim": self, "server_version": self.server_name})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        # leave a (possibly shared) fleet without this server's outages and lateness
        if self.fleet.offline is self._pushed_offline:
            self.fleet.offline = {}
            self.fleet.late_s = 0.0
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        if self._httpd is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"{self.root_url}/admin"

    # ------------------------------------------------------------------ control
    def set_faults(self, faults: Faults):
        with self._lock:
            self.faults = faults
            self._pushed_offline = dict(faults.offline)
            self.fleet.offline = self._pushed_offline
            self.fleet.late_s = float(faults.late_s or 0.0)

    def reset_stats(self):
        with self._lock:
            self._requests = defaultdict(int)
            self._rejected = defaultdict(int)
            self._codes = defaultdict(lambda: defaultdict(int))
            self._http_errors = defaultdict(int)
            self._truncated = defaultdict(int)
            self._tokens_issued = 0
            self._served: list[dict] = []
            self._windows.clear()

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "rejected_rate": dict(self._rejected),
                "codes": {e: dict(c) for e, c in self._codes.items()},
                "http_errors": dict(self._http_errors),
                "truncated": dict(self._truncated),
                "tokens_issued": self._tokens_issued,
                "served_responses": len(self._served),
            }

    def served(self) -> list[dict]:
        with self._lock:
            return list(self._served)

    def count_token(self) -> None:
        with self._lock:
            self._tokens_issued += 1

    def count_rejected(self, endpoint: str) -> None:
        with self._lock:
            self._rejected[endpoint] += 1

    # ------------------------------------------------------------------ limits
    def within_limit(self, key: tuple, limit: float, window_s: float = 1.0) -> bool:
        """Sliding window: True (and the call counted) when fewer than `limit` calls of `key` arrived in
        the last `window_s` seconds; rejected calls do not use up the window."""
        limit = max(1, int(round(limit * self.qps_scale)))
        now = time.monotonic()
        with self._lock:
            w = self._windows[key]
            while w and now - w[0] >= window_s:
                w.popleft()
            if len(w) >= limit:
                return False
            w.append(now)
            return True

    # ------------------------------------------------------------------ request handling
    def handle_api(self, method: str, path: str, params: dict, headers, body: bytes) -> Answer:
        """The answer to one API request. Vendors implement it."""
        raise NotImplementedError

    def internal_error(self) -> Answer:
        """What the service answers when the stand-in itself fails (never a stack trace)."""
        return Answer(500, dumps({"error": "internal error"}), code=500)

    def endpoint_of(self, path: str) -> str:
        """The name the statistics use for a request path (vendors may group ids out of it)."""
        return path.strip("/")

    def serve(self, method: str, path: str, params: dict, headers, body: bytes) -> Answer:
        f = self.faults
        endpoint = self.endpoint_of(path)
        with self._lock:
            self._requests[endpoint] += 1
        if f.latency_s:
            time.sleep(f.latency_s)
        if f.roll(f.http_5xx_rate):
            status = f.choice(self.http_5xx_statuses)
            with self._lock:
                self._http_errors[endpoint] += 1
            page = (
                f"<html><body><h1>{status} Server Error</h1><p>The upstream server is temporarily "
                f"unavailable.</p></body></html>"
            ).encode()
            return Answer(status, page, ctype="text/html")
        answer = self.handle_api(method, path, params, headers, body)
        with self._lock:
            self._codes[endpoint][answer.code] += 1
        if answer.status == 200 and len(answer.body) > 2 and f.roll(f.truncate_rate):
            cut = f.randint(1, len(answer.body) - 1)
            with self._lock:
                self._truncated[endpoint] += 1
            return Answer(200, answer.body[:cut], answer.code, answer.ctype, answer.headers)
        if answer.ctype.startswith("application/json"):
            with self._lock:
                self._served.append(
                    {
                        "endpoint": endpoint,
                        "params": dict(params),
                        "body": answer.body,
                        "code": answer.code,
                        "http_status": answer.status,
                    }
                )
        return answer

    # ------------------------------------------------------------------ admin
    def admin_routes(self) -> dict:
        """Extra admin routes of a vendor: {(method, path): fn(params, body) -> (status, obj)}, or an
        `Answer` for a route whose body is not JSON (e.g. a CSV)."""
        return {}

    def handle_admin(self, method: str, path: str, params: dict, body: bytes) -> tuple[int, bytes] | Answer:
        fl = self.fleet
        try:
            extra = self.admin_routes().get((method, path))
            if extra is not None:
                out = extra(params, body)
                if isinstance(out, Answer):
                    return out
                status, obj = out
                return status, dumps(obj)
            if method == "GET" and path == "/admin/fleet":
                return 200, dumps(fl.describe())
            if method == "GET" and path == "/admin/stats":
                st = self.stats()
                st["codes"] = {e: {str(k): n for k, n in c.items()} for e, c in st["codes"].items()}
                return 200, dumps(st)
            if method == "GET" and path in ("/admin/truth/device", "/admin/truth/plant"):
                day = date.fromisoformat(params.get("day", ""))
                if path.endswith("device"):
                    df = fl.device_day(params.get("sn", ""), day)
                else:
                    df = fl.plant_day(params.get("plantId", ""), day)
                return 200, dumps(frame_records(df))
            if method == "GET" and path == "/admin/truth/alarms":
                return 200, dumps(
                    [
                        {
                            "alarm_id": a.alarm_id,
                            "device_sn": a.device_sn,
                            "plant_id": a.plant_id,
                            "alarm_code": a.alarm_code,
                            "alarm_name": a.alarm_name,
                            "alarm_level": a.alarm_level,
                            "started_at": a.started_at.isoformat(),
                            "ended_at": a.ended_at.isoformat() if a.ended_at else None,
                        }
                        for a in fl.alarms()
                    ]
                )
            if method == "GET" and path == "/admin/clock":
                return 200, dumps({"now": fl.now.isoformat(), "frozen": fl.frozen})
            if method == "POST" and path == "/admin/clock":
                # {"now": ISO instant} freezes the clock there, {"advance_s": n} moves a frozen clock on
                req = json.loads(body or b"{}")
                if "now" in req:
                    fl.set_now(parse_instant(req["now"]))
                elif "advance_s" in req:
                    fl.set_now(fl.now + _seconds(req["advance_s"]))
                else:
                    raise ValueError("give 'now' (ISO-8601 instant) or 'advance_s' (seconds)")
                return 200, dumps({"now": fl.now.isoformat(), "frozen": fl.frozen})
            if method == "POST" and path == "/admin/faults":
                self.set_faults(Faults.from_dict(json.loads(body or b"{}")))
                return 200, dumps({"ok": True, "faults": self.faults.to_dict()})
            if method == "POST" and path == "/admin/reset":
                self.reset_stats()
                return 200, dumps({"ok": True})
            return 404, dumps({"error": f"no admin route {method} {path}"})
        except KeyError as e:
            return 404, dumps({"error": f"unknown {e}"})
        except Exception as e:  # bad input
            return 400, dumps({"error": f"{type(e).__name__}: {e}"})


def _seconds(value) -> timedelta:
    return timedelta(seconds=float(value))


def frame_records(df) -> list[dict]:
    """A truth frame as JSON-ready records (local stamps as text, instants in UTC with Z)."""
    out = []
    cols = list(df.columns)
    for row in df.itertuples(index=False):
        rec = {}
        for c, v in zip(cols, row):
            if v is None or (not isinstance(v, (str, bool, np.bool_)) and _isna(v)):
                rec[c] = None
            elif c == "ts_local":
                rec[c] = v.strftime("%Y-%m-%d %H:%M:%S")
            elif c == "ts_utc":
                rec[c] = v.strftime("%Y-%m-%dT%H:%M:%SZ")
            elif isinstance(v, (bool, np.bool_)):
                rec[c] = bool(v)
            elif isinstance(v, (int, np.integer)):
                rec[c] = int(v)
            elif isinstance(v, datetime):
                rec[c] = v.isoformat()
            else:
                rec[c] = float(v)
        out.append(rec)
    return out


def _isna(v) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


class _Handler(BaseHTTPRequestHandler):
    sim: StandInServer = None
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _send(self, answer: Answer):
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.ctype)
        self.send_header("Content-Length", str(len(answer.body)))
        for k, v in answer.headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(answer.body)

    def _route(self, method: str):
        try:
            u = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if u.path.startswith("/admin"):
                out = self.sim.handle_admin(method, u.path.rstrip("/"), params, body)
                return self._send(out if isinstance(out, Answer) else Answer(*out))
            prefix = self.sim.api_prefix
            if u.path.startswith(prefix):
                return self._send(self.sim.serve(method, u.path[len(prefix) :], params, self.headers, body))
            self._send(Answer(404, dumps({"code": 404, "msg": "Not Found", "data": None})))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:
            try:
                self._send(self.sim.internal_error())
            except Exception:
                pass

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_PUT(self):
        self._route("PUT")

    def do_DELETE(self):
        self._route("DELETE")
