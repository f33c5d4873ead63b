"""Polling rounds against the stand-in's quota, on its movable clock: the limits kept, a minute's refusal waited
out, a lock-out waited out without a call, the day's calls never overspent, and every round landed as received,
append-only, in each dongle's plant-local day."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from pipelines.core.lake import Lake
from pipelines.sources.solax.poller import RAW_ASSET, SITES_ENDPOINT, VENDOR
from pipelines.sources.solax.quota import cron_schedules
from pipelines.sources.solax.settings import REALTIME
from tests.sources.solax.walk import Walker

from dagster._utils.schedules import schedule_execution_time_iterator  # isort: skip - the daemon's own iterator

T0 = datetime(2025, 11, 2, 0, 0, tzinfo=timezone.utc)


def _quota(server) -> dict:
    return server.quota.state(server.token, server.fleet.now.timestamp())


def _calls(server) -> int:
    return server.stats()["requests"].get(REALTIME, 0)


def test_a_day_of_rounds_at_the_planned_interval_never_exceeds_the_quota(make_solax, tmp_path):
    """A token allowed 5 calls a minute and 600 a day, 9 dongles: the planner spaces the rounds 23 minutes apart
    (63 rounds, 567 calls a day) and the client paces each round at 95 % of 5 a minute, on the stand-in's clock.
    Over 26 hours of the schedule's ticks the stand-in refuses nothing. (Every 5 minutes, 2,592 calls a day, or
    all 9 calls of a round at once, it would.)"""
    server = make_solax(per_minute=5, per_day=600)
    walker = Walker(server, tmp_path, paced=True, calls_per_minute=5, calls_per_day=600)
    assert (walker.plan.interval_min, walker.plan.calls_per_day) == (23, 567)
    crons = cron_schedules(23)
    ticks = schedule_execution_time_iterator(T0.timestamp(), crons if len(crons) > 1 else crons[0], "UTC")
    busiest_day = 0
    for tick in ticks:
        if tick > T0 + timedelta(hours=26):
            break
        rnd = walker.round(tick)
        assert rnd.stopped is None and len(rnd.answers) == 9 and rnd.calls == 9
        assert walker.clock.time() - tick.timestamp() > 8 * 60 / (5 * 0.95) - 1  # the round was spread out
        busiest_day = max(busiest_day, _quota(server)["calls_last_24h"])
    assert server.stats()["rejected_rate"] == {} and _quota(server)["violations_in_a_row"] == 0
    assert 567 <= busiest_day <= 600
    assert walker.ledger.calls_last_24h(walker.clock.time()) == _quota(server)["calls_last_24h"]


def test_a_minute_refusal_is_waited_out_and_never_locks_the_token(make_solax, tmp_path):
    """The client believes 10 calls a minute and does not pace; the stand-in allows 5: the 6th call of a round is
    refused, the round waits a minute on the clock and asks once more, and goes on. No two refusals in a row:
    the token is never locked out."""
    server = make_solax(per_minute=5)
    walker = Walker(server, tmp_path)
    for k in range(3):
        rnd = walker.round(T0 + timedelta(minutes=5 * k))
        assert rnd.stopped is None and len(rnd.answers) == 9 and rnd.calls == 10
        assert walker.clock.time() - (T0 + timedelta(minutes=5 * k)).timestamp() == pytest.approx(61)
    assert server.stats()["rejected_rate"] == {REALTIME: 3}
    assert _quota(server)["locked"] is False


def test_a_lockout_is_waited_out_without_calling(make_solax, tmp_path):
    """SolaX locks the token out (here at its first violation): the round stops at once, every process is told
    not to call before the hour is over, the rounds of that hour make no call at all, and polling resumes."""
    server = make_solax(per_minute=3, violations=1)
    walker = Walker(server, tmp_path)
    first = walker.round(T0)
    assert [s.wifi_sn for s, _ in first.failures] == [walker.sites.sites[3].wifi_sn] and len(first.not_asked) == 5
    assert "locked the token out" in first.stopped and "No call until 2025-11-02 01:01 UTC" in first.stopped
    assert _quota(server)["locked"] is True and _calls(server) == 4
    server.configure(per_minute=10, violations=3)  # whatever caused it is fixed
    for minutes in range(5, 61, 5):
        rnd = walker.round(T0 + timedelta(minutes=minutes))
        assert rnd.calls == 0 and rnd.stopped.startswith("no call until 2025-11-02 01:01 UTC")
    assert _calls(server) == 4, "nothing was asked during the lock-out"
    resumed = walker.round(T0 + timedelta(minutes=65))
    assert resumed.stopped is None and len(resumed.answers) == 9


def test_the_days_calls_are_never_overspent(make_solax, tmp_path):
    """With 12 calls a day, the second round asks 3 dongles and stops before SolaX has to refuse anything; a token
    whose day another program used up (SolaX answers code 3) pauses polling for an hour."""
    server = make_solax(per_day=12)
    walker = Walker(server, tmp_path, calls_per_day=12)
    assert len(walker.round(T0).answers) == 9
    second = walker.round(T0 + timedelta(minutes=5))
    assert len(second.answers) == 3 and len(second.not_asked) == 6 and "the day's 12 calls are used" in second.stopped
    assert server.stats()["rejected_rate"] == {}

    other = make_solax(per_day=12)
    unaware = Walker(other, tmp_path / "unaware")  # believes 10,000 a day
    unaware.round(T0)
    stopped = unaware.round(T0 + timedelta(minutes=5))
    assert len(stopped.answers) == 3 and stopped.failures[0][1].code == 3 and "pauses for an hour" in stopped.stopped
    assert unaware.round(T0 + timedelta(minutes=30)).calls == 0


def test_a_refused_token_stops_the_round_at_its_first_call(make_solax, tmp_path):
    server = make_solax(token_invalid=True)
    rnd = Walker(server, tmp_path).round(T0)
    assert rnd.credentials is not None and rnd.calls == 1 and len(rnd.not_asked) == 8
    assert "SOLAX_TOKEN_ID" in rnd.stopped


def test_rounds_are_landed_append_only_in_each_plants_local_day(make_solax, tmp_path):
    """At 20:00 UTC Berlin is on the 2nd, the plants in Asia and Australia on the 3rd: one round lands two files,
    each dongle in its plant's day, with the sites file it was polled under; a later round adds files and changes
    none."""
    server = make_solax()
    walker = Walker(server, tmp_path)
    at = datetime(2025, 11, 2, 20, 0, tzinfo=timezone.utc)
    walker.round(at)
    lake = Lake(tmp_path / "lake")
    days = {
        d: lake.parts(lake.day_dir("raw", VENDOR, RAW_ASSET, day=d)) for d in (date(2025, 11, 2), date(2025, 11, 3))
    }
    assert all(len(parts) == 1 for parts in days.values())
    by_day = {}
    for day, (part,) in days.items():
        rows = pq.read_table(part).to_pylist()
        assert rows[0]["endpoint"] == SITES_ENDPOINT and json.loads(rows[0]["body"])["csv"] == server.sites_csv()
        by_day[day] = {r["device_sn"] for r in rows[1:]}
        assert all(r["partition_date"] == day for r in rows)
    local_day = {d.wifi_sn: at.astimezone(server.fleet.zone(d.plant)).date() for d in server.dongles}
    assert {sn: day for day, sns in by_day.items() for sn in sns} == local_day
    assert set(local_day.values()) == set(days)  # Berlin still on the 2nd, Sydney, Kuala Lumpur, Guangzhou on the 3rd
    before = {p: p.read_bytes() for parts in days.values() for p in parts}
    walker.round(at + timedelta(minutes=5))
    after = {d: lake.parts(lake.day_dir("raw", VENDOR, RAW_ASSET, day=d)) for d in days}
    assert all(len(parts) == 2 for parts in after.values())
    assert all(p.read_bytes() == content for p, content in before.items()), "an earlier round was rewritten"
