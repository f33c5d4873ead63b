"""The client's call loop against a tiny scripted HTTP server (exact fault sequences)."""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from pipelines.core.errors import (
    ApiCredentialsError,
    ApiError,
    ApiParameterError,
    ApiPermissionError,
    ApiTransientError,
)
from pipelines.sources.saj.client import SajClient

SECRET = "stub-secret-9f8e7d6c5b4a"


class Stub:
    def __init__(self):
        self.script: dict[str, deque] = {}
        self.requests: list[tuple[str, dict, dict]] = []
        self.tokens = 0
        self.live_token = None
        self.lock = threading.Lock()

    def on(self, endpoint: str, *answers):
        self.script.setdefault(endpoint, deque()).extend(answers)


def make_handler(stub: Stub):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, status: int, body: str | bytes):
            raw = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            u = urlparse(self.path)
            ep = u.path.split("/open/api/", 1)[1]
            q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
            with stub.lock:
                stub.requests.append((ep, q, dict(self.headers)))
                if ep == "access_token":
                    if q.get("appSecret") != SECRET:
                        return self.send(
                            200, json.dumps({"code": 100009, "msg": "appId or appSecret does not exist", "data": None})
                        )
                    stub.tokens += 1
                    stub.live_token = f"TOKEN-{stub.tokens}-abcdefghijklmnop"
                    return self.send(
                        200,
                        json.dumps(
                            {"code": 200, "msg": "", "data": {"access_token": stub.live_token, "expires": 7200}}
                        ),
                    )
                if self.headers.get("accessToken") != stub.live_token:
                    return self.send(
                        200, json.dumps({"code": 200010, "msg": "accessToken does not exist", "data": None})
                    )
                queue = stub.script.get(ep)
                ans = queue.popleft() if queue else (200, {"code": 200, "msg": "request success", "data": {"echo": q}})
            status, body = ans
            if body == "KILL_TOKEN":
                with stub.lock:
                    stub.live_token = "revoked"
                return self.send(200, json.dumps({"code": 200010, "msg": "accessToken does not exist", "data": None}))
            self.send(status, body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False))

    return H


@pytest.fixture
def stub():
    s = Stub()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(s))
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    s.base_url = f"http://127.0.0.1:{srv.server_address[1]}/prod-api"
    yield s
    srv.shutdown()
    srv.server_close()


def client(stub, tmp_path, **kw):
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_max_s", 0.05)
    return SajClient("app-stub", kw.pop("secret", SECRET), stub.base_url, tmp_path / "cache", **kw)


def test_happy_path_headers_and_params(stub, tmp_path):
    c = client(stub, tmp_path)
    r = c.realtime("R5X2602J2516E27344")
    assert r.ok and r.endpoint == "device/realtimeDataCommon" and r.params == {"deviceSn": "R5X2602J2516E27344"}
    ep, q, h = stub.requests[-1]
    assert h["accessToken"] == stub.live_token and h["content-language"] == "en_US"
    from pipelines.sources.saj.auth import sign

    assert h["clientSign"] == sign("app-stub", "R5X2602J2516E27344")
    r = c.plant_devices("123")
    assert stub.requests[-1][1] == {"plantId": "123", "userId": ""} and "clientSign" not in stub.requests[-1][2]
    # the token call's params are stored redacted
    assert r.fetched_at.tzinfo is not None and r.attempts == 1


def test_transient_sequence_then_success(stub, tmp_path):
    stub.on(
        "plant/details",
        (502, "<html>bad gateway</html>"),
        (200, '{"code": 200, "msg": "request success", "data": {"plantUid": "12'),  # truncated
        (200, {"code": 10001, "msg": "System error, please try again later", "data": None}),
        (200, {"code": 200, "msg": "request success", "data": {"plantUid": "1"}}),
    )
    c = client(stub, tmp_path)
    r = c.plant_details("1")
    assert r.ok and r.attempts == 4 and r.data == {"plantUid": "1"}
    assert c.stats["retries"] == 3 and c.stats["failures"] == 0


def test_transient_exhausted(stub, tmp_path):
    stub.on("plant/details", *[(503, "")] * 3)
    c = client(stub, tmp_path, max_attempts=3)
    with pytest.raises(ApiTransientError) as ei:
        c.plant_details("1")
    e = ei.value
    assert e.attempts == 3 and "HTTP 503" in str(e) and e.response.http_status == 503
    assert c.stats["failures"] == 1


def test_token_refused_refreshes_once(stub, tmp_path):
    c = client(stub, tmp_path)
    c.plant_details("1")
    stub.on("plant/details", (200, "KILL_TOKEN"))
    r = c.plant_details("1")
    assert r.ok and stub.tokens == 2 and c.stats["token_refreshes"] == 2


def test_bad_credentials_typed(stub, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    c = client(stub, tmp_path, secret="wrong-secret-123456")
    with pytest.raises(ApiCredentialsError) as ei:
        c.plant_details("1")
    e = ei.value
    assert e.code == 100009 and "SAJ_APP_SECRET" in str(e) and "wrong-secret-123456" not in str(e)
    assert e.response.params["appSecret"] == "***" and "wrong-secret-123456" not in caplog.text


@pytest.mark.parametrize(
    "code,msg,exc",
    [
        (10005, "No permission", ApiPermissionError),
        (200015, "App x do not match. Unauthorized access to data", ApiPermissionError),
        (10004, "Authentication failed", ApiPermissionError),
        (10003, "Parameter validation failed", ApiParameterError),
        (10006, "parameter error: time span exceeds 24 hours", ApiParameterError),
        (200014, "app is not released", ApiCredentialsError),
        (10021, "Data exception", ApiError),
    ],
)
def test_no_retry_codes(stub, tmp_path, code, msg, exc):
    stub.on("plant/details", (200, {"code": code, "msg": msg, "data": None}))
    c = client(stub, tmp_path)
    with pytest.raises(exc) as ei:
        c.plant_details("1")
    assert ei.value.code == code and ei.value.response.attempts == 1 and msg in str(ei.value)
    assert ei.value.response.body_text.startswith("{")


def test_accept_codes_return_response(stub, tmp_path):
    stub.on(
        "device/secData", (200, {"code": 10021, "msg": "plant has not been bound with load monitoring", "data": None})
    )
    c = client(stub, tmp_path)
    rs = c.sec_data("1", "2025-01-01 00:00:00", "2025-01-02 23:59:59", 0)
    assert len(rs) == 1 and rs[0].code == 10021 and not rs[0].ok


def test_too_frequent_backs_off(stub, tmp_path):
    stub.on("device/uploadData", *[(200, {"code": 10006, "msg": "Too frequent access", "data": None})] * 2)
    c = client(stub, tmp_path)
    (r,) = c.upload_data("SN1", "2025-01-01 00:00:00", "2025-01-01 23:59:59", 0)
    assert r.ok and r.attempts == 3 and c.stats["rate_rejections"] == 2 and c.stats["failures"] == 0


def test_device_timeout_bounded(stub, tmp_path):
    stub.on("device/realtimeDataCommon", *[(200, {"code": 10016, "msg": "Device connect timeout", "data": None})] * 5)
    c = client(stub, tmp_path)
    with pytest.raises(ApiError) as ei:
        c.realtime("SN1")
    assert ei.value.code == 10016 and ei.value.response.attempts == 2


def test_pages_and_windows(stub, tmp_path):
    for p in (1, 2, 3):
        stub.on(
            "developer/device/page",
            (
                200,
                {
                    "total": 250,
                    "rows": [{"n": i} for i in range(100 if p < 3 else 50)],
                    "code": 200,
                    "msg": "查询成功",
                    "totalPage": 3,
                },
            ),
        )
    c = client(stub, tmp_path)
    pages = c.device_page()
    assert len(pages) == 3 and sum(len(p.rows) for p in pages) == 250
    assert sorted(q["pageNum"] for ep, q, _ in stub.requests if ep == "developer/device/page") == ["1", "2", "3"]
    rs = c.upload_data("SN1", "2025-01-01 00:00:00", "2025-01-03 00:00:00", 0)
    assert [(r.params["startTime"], r.params["endTime"]) for r in rs] == [
        ("2025-01-01 00:00:00", "2025-01-01 23:59:59"),
        ("2025-01-02 00:00:00", "2025-01-03 00:00:00"),
    ]
    assert len(c.upload_data("SN1", "2025-01-01 00:00:00", "2025-03-01 00:00:00", 1)) == 1


def test_secrets_never_logged(stub, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    c = client(stub, tmp_path)
    stub.on("plant/details", (502, ""), (200, "KILL_TOKEN"))
    c.plant_details("1")
    c.close()
    assert stub.tokens == 2
    for tok in ("TOKEN-1-abcdefghijklmnop", "TOKEN-2-abcdefghijklmnop", SECRET):
        assert tok not in caplog.text
    assert "plant/details" in caplog.text and "totals" in caplog.text


def test_sessions_of_finished_fan_outs_are_closed(stub, tmp_path):
    c = client(stub, tmp_path, max_workers=8, rate_limit=False)
    for _ in range(5):
        out = c.fan_out(lambda i: c.plant_details(str(i)), range(16))
        assert all(not isinstance(r, BaseException) for _, r in out)
    assert c.open_sessions <= 8 + 1  # the last pool's threads (and maybe the main thread), not 5 x 8
