"""Alarms from what the polls see: the User API has no alarm list, so a fault state (inverterStatus 103/104,
batStatus 1/2) opens an occurrence at the first upload showing it and closes it at the first upload showing
another state. Compared with the fleet's own alarms; an occurrence seen over several days is one row of
alarm_history, whatever day is built when."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import duckdb
import pandas as pd

from tests.sources.solax.walk import Walker
from tests.support import build_models, query


def _truth(server, wifi_sn: str, code_filter) -> list:
    sn = server.dongle(wifi_sn).device.sn
    return [a for a in server.fleet.alarms() if a.device_sn == sn and code_filter(a)]


def test_a_fault_over_three_days_is_one_occurrence(make_solax, tmp_path):
    """Kuala Lumpur's PV inverter has a hardware fault from 25 October 04:41 to 27 October 06:46 UTC (three local
    days). Polled every 15 minutes and built one day at a time, as the daily schedule does, it is one closed
    row whose start and end are the first polls that saw them."""
    server = make_solax(now=datetime(2025, 11, 20, tzinfo=timezone.utc))
    wifi = "SR8J8F72GZ"
    (fault,) = [
        a for a in _truth(server, wifi, lambda a: a.alarm_level >= 2) if a.started_at.date() == date(2025, 10, 25)
    ]
    walker = Walker(server, tmp_path, wifi_sns={wifi})
    walker.walk(
        datetime(2025, 10, 24, 15, 0, tzinfo=timezone.utc), datetime(2025, 10, 27, 17, 0, tzinfo=timezone.utc), 900
    )
    walker.close()
    days = [date(2025, 10, 25), date(2025, 10, 26), date(2025, 10, 27)]
    states = []
    for day in days:
        with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
            build_models(tmp_path, [day], conn, marts={"alarm_history"})
        seen = query(tmp_path, "SELECT * FROM alarm_history")
        assert len(seen) == 1, (day, seen)
        states.append((seen.alarm_id[0], seen.started_at[0], seen.status[0]))
    # one id and one start on every day; the 25th's uploads (and the 26th's) still show it, the 26th sees the
    # first upload of the 27th end it
    assert len({(i, s) for i, s, _ in states}) == 1 and [s for _, _, s in states] == ["open", "closed", "closed"]
    row = query(tmp_path, "SELECT * FROM alarm_history").iloc[0]
    assert (row.alarm_code, row.alarm_name, row.alarm_level) == (103, "Inverter: Recoverable fault", 2)
    assert row.device_sn == server.dongle(wifi).inverter_sn and row.plant_id == server.dongle(wifi).plant.plant_id
    # seen at the first upload in the fault, ended at the first upload after it: within a poll plus an upload
    assert timedelta(0) <= row.started_at - pd.Timestamp(fault.started_at) <= timedelta(minutes=35)
    assert timedelta(0) <= row.ended_at - pd.Timestamp(fault.ended_at) <= timedelta(minutes=35)
    assert abs(row.duration_minutes - (fault.ended_at - fault.started_at).total_seconds() / 60) <= 35
    assert (row.first_seen_day.date(), row.last_seen_day.date()) == (days[0], days[-1])


def test_a_battery_fault_and_no_alarm_without_one(make_solax, tmp_path):
    """Sydney's hybrid reports a battery under-voltage (batStatus 1) on 9 November, 20:22 to 21:47 UTC: one
    closed occurrence; its inverter stays normal (the fault is the battery's), and no other alarm appears."""
    server = make_solax(now=datetime(2025, 11, 20, tzinfo=timezone.utc))
    wifi = "SRNQS87LKB"
    (fault,) = [a for a in _truth(server, wifi, lambda a: a.alarm_code == 6010) if a.started_at.day == 9]
    walker = Walker(server, tmp_path, wifi_sns={wifi})
    walker.walk(datetime(2025, 11, 9, 19, 0, tzinfo=timezone.utc), datetime(2025, 11, 9, 23, 0, tzinfo=timezone.utc))
    walker.close()
    day = date(2025, 11, 10)  # Sydney's local day (UTC+11)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        build_models(tmp_path, [day], conn, marts={"alarm_history"})
    (row,) = query(tmp_path, "SELECT * FROM alarm_history").itertuples()
    assert (row.alarm_name, row.alarm_code, row.status) == ("Battery: Fault", 1, "closed")
    assert timedelta(0) <= row.started_at - pd.Timestamp(fault.started_at) <= timedelta(minutes=5)
    assert timedelta(0) <= row.ended_at - pd.Timestamp(fault.ended_at) <= timedelta(minutes=5)
