"""alarm_history against the simulator's truth: every occurrence the alarm listing shows, for every device.

The rule (sql/marts/alarm_history.sql): an occurrence is in alarm_history once a landed day's alarmList
showed it (its 90 days of starts up to the day, and the alarms pending now), whether or not the device was
asked for its alarm details; an occurrence that began after the day belongs to a later one.
"""

from datetime import date, datetime, timedelta, timezone

import pandas as pd

from simulator import Fleet
from tests.support import materialize, query, run, select
from tests.support import resources as resources_for

NOW = datetime(2025, 6, 20, 12, tzinfo=timezone.utc)
ALARMS = select(
    {
        "saj/raw_plants",
        "saj/raw_devices",
        "saj/raw_alarms",
        "saj/stg_plants",
        "saj/stg_devices",
        "saj/stg_alarms",
        "conformed/alarms",
        "alarm_history",
    }
)


def shown(fleet, day: date) -> dict:
    """The truth's occurrences a landing of `day` shows: begun in the 90 local days up to it, or pending now
    and begun by its end."""
    out = {}
    for a in fleet.alarms():
        local_start = a.started_at.astimezone(fleet.zone(fleet.plant(a.plant_id))).date()
        in_window = day - timedelta(days=89) <= local_start <= day
        if in_window or (a.ended_at is None and local_start <= day):
            out[(a.device_sn, pd.Timestamp(a.started_at))] = a
    return out


def history(data_dir) -> pd.DataFrame:
    return query(data_dir, "SELECT * FROM alarm_history")


def test_a_landed_day_holds_every_occurrence_of_every_device(make_simulator, tmp_path):
    day = date(2025, 6, 19)
    server = make_simulator(limits=False, now=NOW)
    assert materialize(server, tmp_path, day, assets=ALARMS).success
    truth, rows = shown(server.fleet, day), history(tmp_path)
    assert len(rows) == len(truth) and rows.alarm_id.is_unique
    assert set(zip(rows.device_sn, rows.started_at)) == set(truth)
    for r in rows.itertuples():
        t = truth[(r.device_sn, r.started_at)]
        assert (r.alarm_code, r.alarm_name, r.plant_id) == (t.alarm_code, t.alarm_name, t.plant_id)
        assert r.status == ("open" if t.ended_at is None else "closed")
        if t.ended_at is not None:  # recovered in the last 90 days: the details give the end
            assert r.ended_at == pd.Timestamp(t.ended_at) and r.vendor_alarm_id == t.alarm_id
        assert r.first_seen_day == pd.Timestamp(day)
    # devices quiet on the day still bring their earlier occurrences
    active = {a.device_sn for a in truth.values() if a.ended_at is None or a.ended_at.date() >= day}
    assert set(rows.device_sn) - active


def test_an_old_day_holds_its_occurrences_even_where_the_details_no_longer_reach(make_simulator, tmp_path):
    # getDeviceAlarmList lists what recovered in the last 90 days; alarmList still shows February's starts
    day = date(2025, 2, 10)
    server = make_simulator(limits=False, now=NOW)
    assert materialize(server, tmp_path, day, assets=ALARMS).success
    truth, rows = shown(server.fleet, day), history(tmp_path)
    assert len(truth) > 20 and set(zip(rows.device_sn, rows.started_at)) == set(truth)
    old = rows[rows.vendor_alarm_id.isna()]
    assert len(old) > 0 and set(old.status) == {"closed"}
    assert old.ended_at.isna().all() and old.alarm_code.notna().all()  # the end is not invented


def test_first_seen_is_never_before_the_start_and_rerunning_keeps_one_row(make_simulator, tmp_path):
    days = [date(2025, 6, 17), date(2025, 6, 19)]
    server = make_simulator(limits=False, now=NOW)
    for day in [*days, days[0]]:  # the older day re-run last
        assert materialize(server, tmp_path, day, assets=ALARMS).success
    rows = history(tmp_path)
    assert rows.alarm_id.is_unique and len(rows) == len(shown(server.fleet, days[0]) | shown(server.fleet, days[1]))
    fleet = server.fleet
    starts = pd.Series(
        [t.tz_convert(fleet.zone(fleet.plant(p))).date() for t, p in zip(rows.started_at, rows.plant_id)]
    )
    assert (rows.first_seen_day.dt.date >= starts).all()
    late = rows[starts > days[0]]  # begun after 17 June (local): first shown by the 19th's landing
    assert len(late) > 0 and (late.first_seen_day == pd.Timestamp(days[1])).all()


def test_an_alarm_spanning_days_is_one_row(make_simulator, tmp_path):
    """Open when one day is landed, recovered when the next is: one row, closed, with its code and times."""
    seen = Fleet(seed=7, plants=6, now=datetime(2025, 11, 20, tzinfo=timezone.utc))
    alarm = next(a for a in seen.alarms() if a.alarm_id == "089D4712918F0526F3F7")  # Kuala Lumpur, 8-9 June
    day1, day2 = date(2025, 6, 8), date(2025, 6, 9)
    for day, now in [
        (day1, datetime(2025, 6, 8, 15, 0, tzinfo=timezone.utc)),
        (day2, datetime(2025, 6, 10, 0, 0, tzinfo=timezone.utc)),
    ]:
        server = make_simulator(plants=6, seed=7, now=now)
        resources = resources_for(server, tmp_path)
        resources["saj"] = resources_for(server, tmp_path / f"api-{day}")["saj"]  # a token cache per server
        assert run(ALARMS, partition_key=day.isoformat(), resources=resources).success
        server.stop()
        rows = query(tmp_path, "SELECT * FROM alarm_history WHERE vendor_alarm_id = $a", {"a": alarm.alarm_id})
        assert len(rows) == 1
        assert rows.status[0] == ("open" if day == day1 else "closed")
    (row,) = rows.itertuples()
    assert row.alarm_code == alarm.alarm_code and row.device_sn == alarm.device_sn and row.plant_id == alarm.plant_id
    assert row.started_at == pd.Timestamp(alarm.started_at) and row.ended_at == pd.Timestamp(alarm.ended_at)
    assert row.duration_minutes == round((alarm.ended_at - alarm.started_at).total_seconds() / 60)
    assert row.first_seen_day == pd.Timestamp(day1) and row.last_seen_day == pd.Timestamp(day2)
    assert query(tmp_path, "SELECT count(*) - count(DISTINCT alarm_id) AS d FROM alarm_history").d[0] == 0
    # Every occurrence landed, also the recovered ones from days never landed, carries the truth's code and times.
    truth = {
        (a.device_sn, pd.Timestamp(a.started_at)): a
        for a in Fleet(seed=7, plants=6, now=datetime(2025, 6, 10, tzinfo=timezone.utc)).alarms()
    }
    history = query(tmp_path, "SELECT * FROM alarm_history")
    assert len(history) > 5
    for r in history.itertuples():
        t = truth[(r.device_sn, r.started_at)]
        assert r.vendor_alarm_id in (None, t.alarm_id)
        assert (r.alarm_code, r.alarm_name, r.device_sn) == (t.alarm_code, t.alarm_name, t.device_sn)
        assert r.started_at == pd.Timestamp(t.started_at)
        if r.status == "closed":
            assert r.ended_at == pd.Timestamp(t.ended_at)
