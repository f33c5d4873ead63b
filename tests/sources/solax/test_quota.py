"""The quota planner's arithmetic, the schedule's cron as the Dagster daemon reads it, and the call ledger every
process shares."""

from __future__ import annotations

import json
import stat
from datetime import datetime, timedelta, timezone

import pytest

# the iterator the schedule daemon itself uses to turn cron strings into ticks
from dagster._utils.schedules import schedule_execution_time_iterator

from pipelines.sources.solax.quota import CallLedger, cron_schedules, plan, rounds_per_day
from pipelines.sources.solax.settings import SolaxSettings


def _settings(**kw) -> SolaxSettings:
    base = dict(token_id="t", base_url="u", sites_file=None, calls_per_minute=10, calls_per_day=10_000, poll_minutes=5)
    return SolaxSettings(**{**base, **kw})


@pytest.mark.parametrize(
    "dongles, interval, calls",
    [
        (1, 5, 288),
        (33, 5, 9_504),  # the most that fit 5-minute rounds in 10,000 calls, less the 3 % reserve
        (34, 6, 8_160),
        (35, 6, 8_400),
        (100, 15, 9_600),
        (200, 30, 9_600),
        (1_000, 160, 9_000),
    ],
)
def test_the_interval_is_what_the_days_calls_allow(dongles, interval, calls):
    p = plan(dongles, _settings())
    assert (p.interval_min, p.calls_per_day, p.rounds_per_day * dongles) == (interval, calls, calls)
    assert p.calls_per_day <= p.budget == 9_700 and dongles * rounds_per_day(interval - 1) > 9_700 or interval == 5
    assert p.bound_by == ("SOLAX_POLL_MINUTES" if interval == 5 else "SOLAX_CALLS_PER_DAY")


def test_the_minute_limit_and_the_users_interval_can_set_it():
    slow = plan(9, _settings(calls_per_minute=1))  # 9 calls at 0.95 a minute: a round takes 9.5 minutes
    assert (
        slow.interval_min == 10
        and "SOLAX_CALLS_PER_MINUTE" in slow.bound_by
        and slow.round_s == pytest.approx(568.4, 0.01)
    )
    assert plan(9, _settings(poll_minutes=20)).interval_min == 20
    with pytest.raises(ValueError, match="split the dongles over several tokens"):
        plan(10_000, _settings())


@pytest.mark.parametrize("interval", [1, 5, 6, 7, 8, 11, 15, 16, 23, 45, 60, 90, 160, 240, 1440])
def test_the_cron_starts_a_round_every_interval_and_restarts_each_utc_day(interval):
    crons = cron_schedules(interval)
    start = datetime(2025, 3, 30, 0, 0, tzinfo=timezone.utc)  # whatever the daylight-saving changes: UTC
    ticks = schedule_execution_time_iterator(start.timestamp() - 1, crons if len(crons) > 1 else crons[0], "UTC")
    first_two_days = []
    for tick in ticks:
        if tick >= start + timedelta(days=2):
            break
        first_two_days.append(tick)
    expected = [
        start + timedelta(days=d, minutes=m) for d in (0, 1) for m in range(0, 1440, interval)
    ]  # minute 0 of each day, then every interval
    assert first_two_days == expected
    assert len(expected) == 2 * rounds_per_day(interval)


def test_the_ledger_is_shared_and_keeps_a_day(tmp_path):
    one, other = CallLedger(tmp_path / "c", "ns"), CallLedger(tmp_path / "c", "ns")  # two processes
    t0 = datetime(2025, 11, 2, 10, tzinfo=timezone.utc).timestamp()
    one.record_round(t0, t0 + 50, 9, {"SW1": "2025-11-02T09:58:26Z"})
    other.record_round(t0 + 300, t0 + 340, 9, {"SW1": "2025-11-02T10:03:26Z"})
    state = one.state(t0 + 400)
    assert (
        state.calls_24h == 18 and state.last_round == t0 + 300 and state.last_uploads == {"SW1": "2025-11-02T10:03:26Z"}
    )
    assert other.calls_last_24h(t0 + 86_400 + 100) == 9 and one.calls_last_24h(t0 + 86_400 + 400) == 0
    assert CallLedger(tmp_path / "c", "another token").calls_last_24h(t0 + 400) == 0
    other.block(t0 + 3_660, "SolaX answered code 1")
    assert one.blocked(t0 + 3_000) == (t0 + 3_660, "SolaX answered code 1") and one.blocked(t0 + 3_660) is None
    path = one.store.path(one.key)  # the embedded profile: a private file under the cache
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert "token" not in json.loads(path.read_text())  # counts, instants and uploads only


def test_a_torn_ledger_starts_afresh(tmp_path):
    ledger = CallLedger(tmp_path, "ns")
    ledger.store.path(ledger.key).write_text('{"minutes": {"29')  # a writer killed mid-write
    assert ledger.calls_last_24h(1e9) == 0
    ledger.record_round(1e9, 1e9, 3, {})
    assert ledger.calls_last_24h(1e9) == 3
