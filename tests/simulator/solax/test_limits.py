"""The quota of a token, on the fleet's clock: 10 calls in any 60 s, 10,000 in any 24 h, and after three
rejections in a row a lock-out (code 1, the token echoed) that a test waits out by moving the clock."""

from __future__ import annotations

from .conftest import Cloud

MINUTE = {
    "success": False,
    "exception": "Request calls within the current minute > threshold",
    "result": None,
    "code": 104,
}


def ok(body) -> bool:
    return body.get("success") is True


def test_defaults_are_the_documented_limits(make_solax):
    cloud = Cloud(make_solax())
    cfg = cloud.admin("/solax/config")
    assert (cfg["per_minute"], cfg["per_day"], cfg["violations"], cfg["lockout_s"]) == (10, 10_000, 3, 3600.0)


def test_ten_calls_a_minute_on_a_sliding_window(make_solax):
    s = make_solax()
    cloud = Cloud(s)
    sns = [d.wifi_sn for d in s.dongles]
    assert all(ok(cloud.poll(sns[i % len(sns)])) for i in range(10))  # the limit is the token's, not a dongle's
    assert cloud.poll(sns[0]) == MINUTE
    cloud.move(advance_s=59)
    assert cloud.poll(sns[0]) == MINUTE  # two violations in a row: one more would lock the token out
    cloud.move(advance_s=1)  # the first ten calls were 60 s ago: the window slid past them
    assert ok(cloud.poll(sns[0]))
    q = cloud.admin("/solax/quota")
    assert q["calls_last_minute"] == 1 and q["violations_in_a_row"] == 0 and q["locked"] is False
    assert s.stats()["rejected_rate"] == {"api/v2/dataAccess/realtimeInfo/get": 2}
    # v1 calls spend the same quota; so do answered errors, but not calls with a wrong token
    assert ok(cloud.poll_v1(sns[1]))
    assert cloud.poll("SXXXXXXXXX")["code"] == 1003
    for _ in range(5):
        assert cloud.poll(sns[0], token="wrong")["code"] == 103
    assert cloud.admin("/solax/quota")["calls_last_minute"] == 3


def test_repeated_violations_lock_the_token_out_for_an_hour(make_solax):
    s = make_solax()
    cloud = Cloud(s)
    sn = s.dongles[0].wifi_sn
    for _ in range(10):
        assert ok(cloud.poll(sn))
    assert cloud.poll(sn) == MINUTE
    assert cloud.poll(sn) == MINUTE
    third = cloud.poll(sn)
    assert third["code"] == 1 and third["tokenId"] == cloud.token and "next hour" in third["exception"]
    q = cloud.admin("/solax/quota")
    assert q["locked"] is True
    cloud.move(advance_s=120)  # the minute window is long past, the lock-out is not
    assert all(cloud.poll(d.wifi_sn) == third for d in s.dongles[:3])
    assert cloud.poll_v1(sn) == third
    cloud.move(advance_s=3600 - 120 - 1)
    assert cloud.poll(sn)["code"] == 1
    cloud.move(advance_s=1)
    assert ok(cloud.poll(sn))
    assert cloud.admin("/solax/quota")["locked"] is False


def test_a_shorter_lockout_and_more_tolerance_can_be_set(make_solax):
    s = make_solax(per_minute=2, violations=5, lockout_s=30)
    cloud = Cloud(s)
    sn = s.dongles[0].wifi_sn
    assert ok(cloud.poll(sn)) and ok(cloud.poll(sn))
    assert [cloud.poll(sn)["code"] for _ in range(5)] == [104, 104, 104, 104, 1]
    cloud.move(advance_s=30)
    assert cloud.poll(sn)["code"] == 104  # the lock-out is over; the minute of the first two calls is not
    cloud.move(advance_s=30)
    assert ok(cloud.poll(sn))
    cloud.admin("/solax/config", "POST", json={"lockout_s": 7200, "per_minute": 10})
    assert cloud.admin("/solax/config")["lockout_s"] == 7200.0


def test_calls_a_day_on_a_rolling_24_hours(make_solax):
    s = make_solax(per_day=25)
    cloud = Cloud(s)
    sn = s.dongles[0].wifi_sn
    start = cloud.move(now="2025-10-01T23:59:00Z")
    for burst in (10, 10, 5):
        assert all(ok(cloud.poll(sn)) for _ in range(burst))
        cloud.move(advance_s=61)
    over = cloud.poll(sn)
    assert over["success"] is False and over["code"] == 3 and "maximum call threshold" in over["exception"]
    cloud.move(now="2025-10-02T12:00:00Z")  # a new UTC day changes nothing: the window is 24 h
    assert cloud.poll(sn)["code"] == 3
    cloud.move(now=(start.replace(day=2)).isoformat())  # 24 h after the first burst
    assert all(ok(cloud.poll(sn)) for _ in range(10))
    assert cloud.poll(sn)["code"] == 3  # the other 15 are less than 24 h old: full again
    assert cloud.admin("/solax/quota")["calls_last_24h"] == 25


def test_no_limits(make_solax):
    cloud = Cloud(make_solax(limits=False))
    sn = cloud.s.dongles[0].wifi_sn
    assert all(ok(cloud.poll(sn)) for _ in range(40))
