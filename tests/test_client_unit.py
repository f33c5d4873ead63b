"""Client pieces that need no HTTP: windows, redaction, typed errors, the rate limiter, fan-out."""

from __future__ import annotations

import pickle
import threading
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from pipelines.client import ApiResponse, SajClient, fmt_time, parse_time, windows
from pipelines.errors import (
    SajApiError,
    SajCredentialsError,
    SajParameterError,
    SajPermissionError,
    SajTransientError,
    redact_params,
    register_secret,
)
from pipelines.ratelimit import RateLimiter, documented_qps

H24 = timedelta(hours=24)


def dt(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S")


# --- windows -------------------------------------------------------------------------------------

def test_local_day_is_one_window():
    assert windows("2025-03-30 00:00:00", "2025-03-30 23:59:59", H24) == [
        (dt("2025-03-30 00:00:00"), dt("2025-03-30 23:59:59"))]


def test_exactly_24h_is_one_window():
    assert len(windows(dt("2025-03-30 00:00:00"), dt("2025-03-31 00:00:00"), H24)) == 1


def test_48h_is_two_windows():
    w = windows(dt("2025-03-01 00:00:00"), dt("2025-03-03 00:00:00"), H24)
    assert w == [(dt("2025-03-01 00:00:00"), dt("2025-03-01 23:59:59")),
                 (dt("2025-03-02 00:00:00"), dt("2025-03-03 00:00:00"))]
    assert len(windows("2025-03-01 00:00:00", "2025-03-02 23:59:59", H24)) == 2


def test_windows_cover_range_without_gaps_or_overlaps():
    w = windows(dt("2025-01-01 07:13:00"), dt("2025-01-04 02:00:00"), timedelta(hours=2))
    assert w[0][0] == dt("2025-01-01 07:13:00") and w[-1][1] == dt("2025-01-04 02:00:00")
    for (s, e), (s2, _) in zip(w, w[1:]):
        assert s2 - e == timedelta(seconds=1)
    assert all(e - s <= timedelta(hours=2) for s, e in w)
    assert len(w) == 34


def test_windows_reject_reversed_range():
    with pytest.raises(ValueError):
        windows("2025-01-02 00:00:00", "2025-01-01 00:00:00", H24)


def test_time_format():
    assert fmt_time(datetime(2025, 9, 2, 10, 0)) == "2025-09-02 10:00:00"
    assert fmt_time(date(2025, 9, 2)) == "2025-09-02 00:00:00"
    assert fmt_time("2025-09-02T10:00:00") == "2025-09-02 10:00:00"
    assert parse_time("2025-09-02") == datetime(2025, 9, 2)
    with pytest.raises(ValueError):
        fmt_time(datetime(2025, 9, 2, tzinfo=timezone.utc))  # times are plant-local and naive


# --- redaction and errors -----------------------------------------------------------------------

SECRET = "unit-test-app-secret-0123456789"
TOKEN = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKWpFE9unit"


def test_redact_params():
    register_secret(TOKEN)
    out = redact_params({"appId": "a", "appSecret": SECRET, "accessToken": "t", "clientSign": "abc",
                         "deviceSn": "SN1", "note": f"has {TOKEN} inside", "pageNum": 1})
    assert out == {"appId": "a", "appSecret": "***", "accessToken": "***", "clientSign": "***",
                   "deviceSn": "SN1", "note": "has *** inside", "pageNum": 1}


def test_errors_never_show_secrets():
    register_secret(SECRET)
    register_secret(TOKEN)
    errs = [
        SajApiError("device/uploadData", {"deviceSn": "SN", "appSecret": SECRET}, 10021, f"oops {TOKEN}"),
        SajCredentialsError("access_token", {"appId": "a", "appSecret": SECRET}, 100009, "appId or appSecret does not exist"),
        SajTransientError("device/uploadData", {"accessToken": TOKEN}, 6, f"ConnectionError to ...token={TOKEN}"),
        SajCredentialsError.missing(["SAJ_APP_SECRET"]),
    ]
    for e in errs:
        for text in (str(e), repr(e), str(e.params), e.hint):
            assert SECRET not in text and TOKEN not in text


def test_error_messages_say_what_to_do():
    e = SajCredentialsError("access_token", {"appId": "a"}, 100009, "appId or appSecret does not exist")
    assert "100009" in str(e) and "SAJ_APP_ID" in str(e) and "SAJ_APP_SECRET" in str(e)
    m = SajCredentialsError.missing(["SAJ_APP_ID", "SAJ_APP_SECRET"])
    assert "SAJ_APP_ID" in str(m) and "SAJ_APP_SECRET" in str(m) and "set" in str(m)
    p = SajPermissionError("plant/details", {"plantId": "1"}, 10005, "No permission")
    assert "authorise" in p.hint and isinstance(p, SajApiError)
    t = SajTransientError("device/uploadData", {"deviceSn": "SN"}, 6, "HTTP 502")
    assert "6 attempts" in str(t) and "HTTP 502" in str(t) and "device/uploadData" in str(t)
    assert isinstance(SajParameterError("x", {}, 10003, "bad"), SajApiError)


def test_errors_pickle():
    for e in (SajPermissionError("plant/details", {"plantId": "1"}, 10005, "No permission"),
              SajTransientError("device/uploadData", {"deviceSn": "SN"}, 6, "HTTP 502", code=None)):
        e2 = pickle.loads(pickle.dumps(e))
        assert type(e2) is type(e) and str(e2) == str(e)


def test_missing_credentials_named(tmp_path):
    with pytest.raises(SajCredentialsError) as ei:
        SajClient(None, "", "http://127.0.0.1:9", tmp_path)
    assert "SAJ_APP_ID" in str(ei.value) and "SAJ_APP_SECRET" in str(ei.value)
    with pytest.raises(SajCredentialsError, match="SAJ_APP_SECRET"):
        SajClient("app", None, "http://127.0.0.1:9", tmp_path)


def test_client_repr_hides_secret(tmp_path):
    c = SajClient("app", SECRET, "http://127.0.0.1:9", tmp_path)
    assert SECRET not in repr(c) and SECRET not in repr(c.tokens) and SECRET not in str(vars(c.tokens).get("cache_path"))


# --- ApiResponse ---------------------------------------------------------------------------------

def test_api_response_properties_and_repr():
    body = '{"total": 3, "rows": [{"a": 1}], "code": 200, "msg": "ok", "totalPage": 2}'
    import json
    r = ApiResponse("developer/device/page", {"appId": "a", "pageNum": 1}, 200, 200, "ok", body, json.loads(body),
                    datetime.now(timezone.utc), 2, 0.01)
    assert r.ok and r.rows == [{"a": 1}] and r.total_page == 2 and r.total == 3 and r.attempts == 2
    assert "body=" in repr(r) and body not in repr(r)
    bad = ApiResponse("plant/details", {}, 200, 10005, "No permission", "{}", {}, datetime.now(timezone.utc))
    assert not bad.ok
    trunc = ApiResponse("plant/details", {}, 200, None, None, '{"code": 200, "da', None, datetime.now(timezone.utc))
    assert not trunc.ok


# --- rate limiter --------------------------------------------------------------------------------

def test_documented_limits():
    assert documented_qps("device/uploadData") == 50
    assert documented_qps("device/realtimeDataCommon") == 150
    assert documented_qps("plant/details") == 5 and documented_qps("anything/else") == 5
    assert documented_qps("access_token") is None
    rl = RateLimiter(qps={"plant/details": 20}, qps_scale=2)
    assert rl.limit("plant/details") == 40 and rl.limit("device/uploadData") == 100
    assert rl.rate("plant/details") == pytest.approx(38)
    assert RateLimiter(qps=7).limit("device/uploadData") == 7 and RateLimiter(qps=7).limit("access_token") is None


def _measure(limiter: RateLimiter, endpoint: str, threads: int, seconds: float) -> list[float]:
    stamps: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker():
        while time.monotonic() < stop:
            limiter.acquire(endpoint)
            with lock:
                stamps.append(time.monotonic())

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sorted(stamps)


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize("shared", [False, True])
def test_limiter_paces_threads_under_sliding_window(tmp_path, shared):
    rl = RateLimiter(shared_dir=tmp_path / "rl" if shared else None)
    stamps = _measure(rl, "device/uploadData", threads=16, seconds=1.5)
    assert max_in_window(stamps) <= 50
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert 0.9 * 50 <= rate <= 50


def test_shared_limiter_spans_instances(tmp_path):
    # two limiters on one directory (as two processes would be) share one schedule
    a, b = RateLimiter(shared_dir=tmp_path / "rl"), RateLimiter(shared_dir=tmp_path / "rl")
    stamps: list[float] = []
    lock = threading.Lock()

    def run(rl):
        for _ in range(3):
            rl.acquire("plant/details")
            with lock:
                stamps.append(time.monotonic())

    ts = [threading.Thread(target=run, args=(x,)) for x in (a, b, a, b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stamps.sort()
    assert max_in_window(stamps) <= 5
    assert (stamps[-1] - stamps[0]) >= 11 / 5 * 0.99


def test_limiter_pause_and_disable():
    rl = RateLimiter()
    rl.acquire("plant/details")
    rl.pause("plant/details", 0.3)
    t0 = time.monotonic()
    rl.acquire("plant/details")
    assert time.monotonic() - t0 >= 0.28
    off = RateLimiter(enabled=False)
    t0 = time.monotonic()
    for _ in range(100):
        off.acquire("plant/details")
    assert time.monotonic() - t0 < 0.1


# --- fan-out -------------------------------------------------------------------------------------

def test_fan_out_keeps_order_and_failures(tmp_path):
    c = SajClient("app", SECRET, "http://127.0.0.1:9", tmp_path, max_workers=8)

    def fn(i):
        time.sleep(0.001 * (20 - i))
        if i % 7 == 3:
            raise SajApiError("x", {"i": i}, 10001, "boom")
        return i * i

    out = c.fan_out(fn, range(20))
    assert [i for i, _ in out] == list(range(20))
    for i, r in out:
        if i % 7 == 3:
            assert isinstance(r, SajApiError)
        else:
            assert r == i * i
    assert c.fan_out(fn, []) == []


def test_limiter_slows_down_after_rejection_and_recovers():
    rl = RateLimiter()
    assert rl.rate("device/uploadData") == pytest.approx(47.5)
    rl.on_rejected("device/uploadData")
    rl.on_rejected("device/uploadData")  # same burst: counted once
    assert rl.rate("device/uploadData") == pytest.approx(47.5 * 0.7, rel=0.02)
    assert rl.rate("plant/details") == pytest.approx(4.75)
    now = time.monotonic()
    assert rl.factor("device/uploadData", now + 1.0) == pytest.approx(0.9, abs=0.02)
    assert rl.factor("device/uploadData", now + 2.0) == 1.0
