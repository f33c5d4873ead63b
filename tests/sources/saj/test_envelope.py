"""Envelope normalisation on the real responses in tests/fixtures/saj-open-api (see its SOURCES.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipelines.core.transport import parse_body
from pipelines.sources.saj.client import SajResponse
from pipelines.sources.saj.envelope import classify, is_success, is_too_frequent, normalise, to_int, total_pages

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "saj-open-api"

ALL = sorted(FIXTURES.glob("*.json"))


def load(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8")


def response(name: str, endpoint: str) -> SajResponse:
    body = load(name)
    payload = parse_body(body)
    env = normalise(payload)
    return SajResponse(endpoint, {}, 200, env.code, env.msg, body, payload, datetime.now(timezone.utc))


def test_fixtures_present():
    assert len(ALL) >= 5, FIXTURES


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_every_fixture_parses_as_success_without_loss(path: Path):
    body = path.read_bytes().decode("utf-8")
    payload = parse_body(body)
    assert payload is not None
    env = normalise(payload)
    assert is_success(env.code) and classify(env.code, env.msg) == "ok"
    r = SajResponse("x", {}, 200, env.code, env.msg, body, payload, datetime.now(timezone.utc))
    assert r.body_text == body  # verbatim
    # nothing the parser reads is lost: re-serialising the payload gives the same object
    assert json.loads(json.dumps(r.payload)) == json.loads(body)


def test_device_page_without_data_wrapper():
    r = response("open_developer_device_page.json", "developer/device/page")
    assert r.code == 200 and r.msg == "查询成功"
    assert r.total == 47 and r.total_page == 5
    assert r.rows == [
        {
            "deviceSn": "M2S4182G2349E02268",
            "deviceType": "S12",
            "plantId": "23225181132",
            "plantName": "<REDACTED_PERSON_NAME>",
            "isOnline": 0,
            "isAlarm": 0,
            "country": "Malaysia",
        }
    ]
    assert r.data["rows"] == r.rows  # no wrapper: data is the whole payload
    assert total_pages(r.envelope, 100) == 5


def test_upload_day_data_keeps_pVEnergy():
    r = response("open_device_uploadData_timeUnit1_day.json", "device/uploadData")
    points = r.data["data"]
    assert [(p["dataTime"], p["pVEnergy"]) for p in points] == [
        ("2025-08-26 00:00:00", 23.65),
        ("2025-08-27 00:00:00", 22.56),
        ("2025-08-28 00:00:00", 14.45),
    ]
    assert r.data["deviceType"] == 0 and r.data["timeUnit"] == 1
    assert r.rows == [] and r.total_page is None


def test_upload_minute_data():
    r = response("open_device_uploadData_timeUnit0_minute.json", "device/uploadData")
    (p,) = r.data["data"]
    assert p["pv1Volt"] == 368.5 and p["power"] == 1774 and p["todayEnergy"] == 0


def test_realtime_strings_kept():
    r = response("open_device_realtimeDataCommon.json", "device/realtimeDataCommon")
    assert r.data["isOnline"] == "0" and r.data["pv1volt"] == "34.70" and r.data["totalPvEnergy"] == "2374.91"


def test_history_duplicate_key_kept_in_body_text():
    body = load("open_device_historyDataCommon.json")
    r = response("open_device_historyDataCommon.json", "device/historyDataCommon")
    assert body.count('"tOutPowerWatt"') == 2
    assert r.body_text.count('"tOutPowerWatt"') == 2  # the raw layer lands both
    (row,) = r.data
    assert row["invTime"] == "2025-08-27T03:40Z" and row["dataTime"] == "2025-08-27 11:40:00"
    assert row["gridDirection"] == "-1" and row["faultMsgList"] == []
    # every key of the body survives parsing (the duplicate collapses to one in payload only)
    pairs = []
    json.loads(body, object_pairs_hook=lambda kv: pairs.append([k for k, _ in kv]) or dict(kv))
    row_keys = max(pairs, key=len)
    assert len(row_keys) == len(set(row_keys)) + 1  # one duplicate: tOutPowerWatt
    assert set(row) == set(row_keys) and len(row) > 180


@pytest.mark.parametrize(
    "payload,code,msg",
    [
        ({"code": 200, "msg": "request success", "data": {}}, 200, "request success"),
        ({"code": 0, "msg": "", "data": []}, 0, ""),
        ({"errCode": 0, "errMsg": "", "data": {"todayPvEnergy": "1.2"}}, 0, ""),
        ({"errCode": "0", "errMsg": "ok", "data": {}}, 0, "ok"),
        (
            {"errCode": "200010", "errMsg": "accessToken does not exist", "data": None},
            200010,
            "accessToken does not exist",
        ),
        ({"code": "10006", "msg": "Too frequent access", "data": None}, 10006, "Too frequent access"),
    ],
)
def test_code_and_msg_normalised(payload, code, msg):
    env = normalise(payload)
    assert env.code == code and env.msg == msg


def test_statistics_errcode_string_zero_is_success():
    env = normalise({"errCode": "0", "errMsg": "", "data": {"todayPvEnergy": "3.1"}})
    assert is_success(env.code) and env.data == {"todayPvEnergy": "3.1"}


def test_page_shape_inside_data_wrapper_also_read():
    env = normalise({"code": 200, "msg": "", "data": {"total": 3, "totalPage": 1, "rows": [1, 2, 3]}})
    assert env.rows == [1, 2, 3] and env.total == 3 and env.total_page == 1 and not env.paged


def test_total_pages_from_total_when_totalPage_missing():
    env = normalise({"code": 200, "msg": "", "total": 250, "rows": []})
    assert total_pages(env, 100) == 3
    assert total_pages(normalise({"code": 200, "total": 0, "rows": []}), 100) == 1


@pytest.mark.parametrize(
    "msg,rate",
    [
        ("Too frequent access", True),
        ("Access too frequently, please try again later", True),
        ("request frequency exceeded", True),
        ("Too many requests", True),
        ("访问过于频繁", True),
        ("parameter error", False),
        ("parameter error: time span exceeds 24 hours", False),
        ("Device sn and plant id can not be null at the same time", False),
        ("", False),
        (None, False),
    ],
)
def test_10006_split_by_message(msg, rate):
    assert is_too_frequent(10006, msg) is rate
    assert classify(10006, msg) == ("rate" if rate else "parameter")


@pytest.mark.parametrize(
    "code,kind",
    [
        (200, "ok"),
        (0, "ok"),
        (10001, "transient"),
        (200010, "token"),
        (10002, "token"),
        (10007, "token"),
        (100009, "credentials"),
        (200008, "credentials"),
        (200014, "credentials"),
        (10004, "permission"),
        (10005, "permission"),
        (200015, "permission"),
        (10003, "parameter"),
        (10016, "slow_device"),
        (10021, "other"),
        (None, "other"),
    ],
)
def test_classify(code, kind):
    assert classify(code, "x") == kind


def test_truncated_body_is_not_json():
    body = load("open_device_uploadData_timeUnit1_day.json")
    assert parse_body(body[: len(body) // 2]) is None
    assert parse_body("") is None and parse_body("<html>502</html>") is None


@pytest.mark.parametrize(
    "v,out",
    [
        (0, 0),
        ("0", 0),
        (" 200 ", 200),
        (200.0, 200),
        ("1e2", 100),
        ("x", None),
        (True, None),
        (None, None),
        (1.5, None),
    ],
)
def test_to_int(v, out):
    assert to_int(v) == out
