"""How far back a day's log landing reaches: to the start of every fault that ends on the day, and no further."""

from datetime import date, timedelta

from pipelines.core.transport import ApiResponse
from pipelines.sources.sma.logs import LOOKBACK_DAYS, ended_without_start, open_at_end, with_lookback

DAY = date(2025, 9, 10)


def _entry(device, tag, status):
    return {"deviceId": device, "messageTagId": tag, "status": status}


def _fake(logs_by_day):
    asked = []

    def fetch(day):
        asked.append(day)
        body = {"logs": logs_by_day.get(day, [])}
        return ApiResponse("logs", {}, 200, None, None, "", body, None)

    return fetch, asked


def test_a_fault_ending_today_is_followed_back_to_its_start():
    fetch, asked = _fake(
        {
            DAY: [_entry("1", "9001", "Ended"), _entry("2", "9002", "Began"), _entry("2", "9002", "Ended")],
            DAY - timedelta(days=2): [
                _entry("1", "9001", "Began"),
                _entry("1", "9001", "Ended"),
                _entry("1", "9001", "Began"),
            ],
        }
    )
    assert len(with_lookback(fetch, DAY)) == 3
    assert asked == [DAY, DAY - timedelta(days=1), DAY - timedelta(days=2)]


def test_no_look_back_without_a_need_and_never_too_far():
    fetch, asked = _fake({DAY: [_entry("1", "9001", "Began")]})
    with_lookback(fetch, DAY)
    assert asked == [DAY]
    fetch, asked = _fake({DAY: [_entry("1", "9001", "Ended")]})  # began before the plant's logs reach back
    with_lookback(fetch, DAY)
    assert asked == [DAY - timedelta(days=n) for n in range(1 + LOOKBACK_DAYS)]


def test_pairing_within_one_answer():
    logs = {
        "logs": [
            _entry("1", "a", "Ended"),
            _entry("1", "b", "Began"),
            _entry("1", "b", "Ended"),
            _entry("2", "a", "Began"),
        ]
    }
    assert ended_without_start(logs) == {("1", "a")}
    assert open_at_end(logs) == {("2", "a")}
    assert ended_without_start(None) == set() == open_at_end({"logs": "x"})
