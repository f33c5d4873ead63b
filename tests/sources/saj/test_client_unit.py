"""SAJ client pieces that need no HTTP: windows, time formats, its errors' hints, its limits, its responses."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from pipelines.core.errors import ApiCredentialsError, ApiError, ApiPermissionError, ConfigurationError
from pipelines.sources.saj.client import SajClient, SajResponse, fmt_time, parse_time, windows

H24 = timedelta(hours=24)


def dt(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M:%S")


# --- windows -------------------------------------------------------------------------------------


def test_local_day_is_one_window():
    assert windows("2025-03-30 00:00:00", "2025-03-30 23:59:59", H24) == [
        (dt("2025-03-30 00:00:00"), dt("2025-03-30 23:59:59"))
    ]


def test_exactly_24h_is_one_window():
    assert len(windows(dt("2025-03-30 00:00:00"), dt("2025-03-31 00:00:00"), H24)) == 1


def test_48h_is_two_windows():
    w = windows(dt("2025-03-01 00:00:00"), dt("2025-03-03 00:00:00"), H24)
    assert w == [
        (dt("2025-03-01 00:00:00"), dt("2025-03-01 23:59:59")),
        (dt("2025-03-02 00:00:00"), dt("2025-03-03 00:00:00")),
    ]
    assert len(windows("2025-03-01 00:00:00", "2025-03-02 23:59:59", H24)) == 2


def test_windows_cover_range_without_gaps_or_overlaps():
    w = windows(dt("2025-01-01 07:13:00"), dt("2025-01-04 02:00:00"), timedelta(hours=2))
    assert w[0][0] == dt("2025-01-01 07:13:00") and w[-1][1] == dt("2025-01-04 02:00:00")
    for (_, e), (s2, _) in zip(w, w[1:]):
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


# --- errors -------------------------------------------------------------------------------------

SECRET = "unit-test-app-secret-0123456789"


def _response(code, msg, endpoint="plant/details"):
    body = json.dumps({"code": code, "msg": msg, "data": None})
    return SajResponse(endpoint, {}, 200, code, msg, body, json.loads(body), datetime.now(timezone.utc))


def test_error_messages_say_what_to_do(tmp_path):
    c = SajClient("app", SECRET, "http://127.0.0.1:9", tmp_path)
    e = c.error("credentials", "access_token", {"appId": "app"}, _response(100009, "appId or appSecret does not exist"))
    assert isinstance(e, ApiCredentialsError)
    assert "100009" in str(e) and "SAJ_APP_ID" in str(e) and "SAJ_APP_SECRET" in str(e) and SECRET not in str(e)
    p = c.error("permission", "plant/details", {"plantId": "1"}, _response(10005, "No permission"))
    assert isinstance(p, ApiPermissionError) and "authorise" in p.hint
    assert "SAJ API plant/details" in str(p)


def test_missing_credentials_named(tmp_path):
    with pytest.raises(ConfigurationError) as ei:
        SajClient(None, "", "http://127.0.0.1:9", tmp_path)
    assert "SAJ_APP_ID" in str(ei.value) and "SAJ_APP_SECRET" in str(ei.value)
    with pytest.raises(ConfigurationError, match="SAJ_APP_SECRET"):
        SajClient("app", None, "http://127.0.0.1:9", tmp_path)


def test_client_repr_hides_secret(tmp_path):
    c = SajClient("app", SECRET, "http://127.0.0.1:9", tmp_path)
    assert SECRET not in repr(c) and SECRET not in repr(c.tokens)


# --- responses -----------------------------------------------------------------------------------


def test_response_envelope_properties_and_repr():
    body = '{"total": 3, "rows": [{"a": 1}], "code": 200, "msg": "ok", "totalPage": 2}'
    r = SajResponse(
        "developer/device/page",
        {"appId": "a", "pageNum": 1},
        200,
        200,
        "ok",
        body,
        json.loads(body),
        datetime.now(timezone.utc),
        2,
        0.01,
        ok=True,
    )
    assert r.rows == [{"a": 1}] and r.total_page == 2 and r.total == 3 and r.attempts == 2
    assert "body=" in repr(r) and body not in repr(r)


# --- limits --------------------------------------------------------------------------------------


def test_documented_limits(tmp_path):
    rl = SajClient("app", SECRET, "http://127.0.0.1:9", tmp_path).limiter
    assert rl.limit("device/uploadData") == 50 and rl.limit("device/realtimeDataCommon") == 150
    assert rl.limit("plant/details") == 5 and rl.limit("anything/else") == 5
    assert rl.limit("access_token") is None


# --- fan-out -------------------------------------------------------------------------------------


def test_fan_out_keeps_order_and_failures(tmp_path):
    c = SajClient("app", SECRET, "http://127.0.0.1:9", tmp_path, max_workers=8)

    def fn(i):
        time.sleep(0.001 * (20 - i))
        if i % 7 == 3:
            raise ApiError("SAJ", "x", {"i": i}, 10001, "boom")
        return i * i

    out = c.fan_out(fn, range(20))
    assert [i for i, _ in out] == list(range(20))
    for i, r in out:
        if i % 7 == 3:
            assert isinstance(r, ApiError)
        else:
            assert r == i * i
    assert c.fan_out(fn, []) == []
