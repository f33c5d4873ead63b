"""The alarm cases an alarm history must get right, in the tests' fleet (seed 7, six plants, clock at
2025-11-03 12:00 UTC), served over HTTP as the truth (`fleet.alarms()`) has them: quiet devices whose only
alarms lie in the 90-day history, closed alarms that started on one local day and ended on another, an
alarm open for more than a day, and ids and times that do not move."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

TF = "%Y-%m-%d %H:%M:%S"
ISO = "%Y-%m-%dT%H:%M:%SZ"
LANDED = (date(2025, 9, 1), date(2025, 11, 3))  # the days the pipeline's tests land


def local(fleet, alarm, t: datetime) -> datetime:
    return t.astimezone(fleet.zone(fleet.plant(alarm.plant_id)))


def recovered(api, sn: str) -> list[dict]:
    return api.get("device/getDeviceAlarmList", deviceSn=sn, alarmCommonState=3, alarmDeviceType=1)["data"]


def started_on(api, sn: str, day: date) -> list[dict]:
    return api.get("device/alarmList", deviceSn=sn, startTime=f"{day} 00:00:00", endTime=f"{day} 23:59:59")["data"]


def test_quiet_devices_have_alarms_only_in_the_90_day_history(free):
    fl = free.s.fleet
    quiet = []
    for dev in fl.devices:
        mine = [a for a in fl.alarms() if a.device_sn == dev.sn]
        history = [a for a in mine if a.ended_at is not None and a.ended_at >= fl.now - timedelta(days=90)]
        on_landed = [a for a in mine if local(fl, a, a.started_at).date() in LANDED]
        if history and not on_landed and all(a.ended_at is not None for a in mine):
            quiet.append((dev, history))
    assert len(quiet) >= 3 and {d.device_type for d, _ in quiet} >= {0, 1, 2}
    for dev, history in quiet:
        rows = recovered(free, dev.sn)
        assert {r["alarmID"] for r in rows} == {a.alarm_id for a in history}
        for day in LANDED:  # nothing started on the landed days: only the history knows these alarms
            assert started_on(free, dev.sn, day) == []


def test_closed_alarms_that_span_local_days(free):
    fl = free.s.fleet
    spanning = [
        a
        for a in fl.alarms()
        if a.ended_at is not None
        and a.ended_at >= fl.now - timedelta(days=90)
        and local(fl, a, a.started_at).date() != local(fl, a, a.ended_at).date()
    ]
    assert len({a.device_sn for a in spanning}) >= 3
    for a in spanning[:10]:
        row = next(r for r in recovered(free, a.device_sn) if r["alarmID"] == a.alarm_id)
        assert row["alarmName"] == a.alarm_name and row["alarmState"] == 4
        assert row["alarmStartTime"] == a.started_at.strftime(ISO) and row["alarmUpdateTime"] == a.ended_at.strftime(
            ISO
        )
        start = local(fl, a, a.started_at).replace(tzinfo=None).strftime(TF)
        listed = started_on(free, a.device_sn, local(fl, a, a.started_at).date())
        assert {"alarmCode": a.alarm_code, "alarmTime": start, "status": 4} in [
            {k: r[k] for k in ("alarmCode", "alarmTime", "status")} for r in listed
        ]


def test_an_alarm_open_for_more_than_a_day(free):
    fl = free.s.fleet
    old = [a for a in fl.alarms() if a.ended_at is None and a.started_at < fl.now - timedelta(days=1)]
    assert old
    pending = free.get("device/alarmList", appId=fl.app_id)["data"]
    for a in old:
        row = next(
            r
            for r in free.get("device/getDeviceAlarmList", deviceSn=a.device_sn, alarmCommonState=1, alarmDeviceType=1)[
                "data"
            ]
            if r["alarmID"] == a.alarm_id
        )
        assert row["alarmState"] == 1 and row["alarmStartTime"] == a.started_at.strftime(ISO)
        assert " days " in row["alarmDuration"]
        start = local(fl, a, a.started_at).replace(tzinfo=None).strftime(TF)
        assert any(r["deviceSn"] == a.device_sn and r["alarmTime"] == start and r["status"] == 1 for r in pending)


def test_alarm_ids_and_times_stay_put(free):
    """The occurrence the pipeline's tests follow across two landed days (Kuala Lumpur, 8-9 June)."""
    a = next(a for a in free.s.fleet.alarms() if a.alarm_id == "089D4712918F0526F3F7")
    assert (a.device_sn, a.alarm_code, a.alarm_name) == ("AS19863J2342E50963", 4010, "Fan Fault")
    assert a.started_at == datetime(2025, 6, 8, 13, 15, tzinfo=timezone.utc)
    assert a.ended_at == datetime(2025, 6, 9, 7, 7, tzinfo=timezone.utc)
