"""The token's quota: how often each dongle can be polled, and a count of the calls every process shares.

SolaX allows a token about 10 calls a minute and 10,000 a day, and locks it out for an hour after repeated
violations. Every poll is one call, so:

- `plan(dongles, settings)` gives the interval between rounds (one call per dongle per round): the longest
  of `SOLAX_POLL_MINUTES`, what the day's calls allow for that many dongles (keeping 3 % of them for retries
  and rounds started by hand), and the time a round takes at the paced rate (95 % of the minute limit), in
  whole minutes. 33 dongles fit 5-minute rounds (9,504 calls a day), 35 get 6 minutes, 100 get 15 minutes
  (9,600 calls a day), 200 get 30 minutes, 1,000 get 2 h 40 min (9,000 calls a day).
- `cron_schedules(minutes)` spells that interval as cron, exactly: `*/k` where k divides an hour, otherwise
  the minutes of each hour (rounds restart at 00:00 UTC every day, which the plan counts).
- `CallLedger` keeps the calls of the last 24 hours (per minute) and a lock-out or pause in one small record
  per token, in the store every vendor's tokens live in (`pipelines.core.stores`: a file behind `flock` under
  the deployment's cache, or PostgreSQL with `FLEET_COORDINATION_URL`): the schedule, the CLI, the demo and
  every host see the same count, and a process that meets a lock-out stops every other one from calling until
  it is over.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass

from pipelines.core import stores
from pipelines.core.ratelimit import SAFETY
from pipelines.core.tokens import TokenStore
from pipelines.sources.solax.settings import SolaxSettings

DAY_MINUTES = 1440
DAY_RESERVE = 0.03  # of the day's calls kept back for retries and rounds started by hand


@dataclass(frozen=True)
class Plan:
    dongles: int
    interval_min: int  # between the starts of two rounds
    rounds_per_day: int
    calls_per_day: int  # what the plan spends
    budget: int  # what it may spend: the day's calls less the reserve
    per_day: int
    per_minute: int
    round_s: float  # how long a round takes, paced at 95 % of the minute limit
    bound_by: str  # what set the interval

    def describe(self) -> str:
        return (
            f"{self.dongles} dongle(s) every {self.interval_min} min ({self.bound_by}): {self.rounds_per_day} "
            f"rounds, {self.calls_per_day} of {self.per_day} calls a day; a round takes about "
            f"{math.ceil(self.round_s)} s at {self.per_minute} calls a minute"
        )


def rounds_per_day(interval_min: int) -> int:
    """Rounds started in a UTC day when they start at minute 0 and every `interval_min` after."""
    return math.ceil(DAY_MINUTES / interval_min)


def plan(dongles: int, settings: SolaxSettings) -> Plan:
    budget = math.floor(settings.calls_per_day * (1 - DAY_RESERVE))
    pace = settings.calls_per_minute * SAFETY  # calls a minute the client actually makes
    round_s = 60.0 * dongles / pace
    interval, bound_by = settings.poll_minutes, "SOLAX_POLL_MINUTES"
    by_minute = math.ceil(round_s / 60.0)
    if by_minute > interval:
        interval, bound_by = by_minute, "SOLAX_CALLS_PER_MINUTE: a round must end before the next"
    while dongles * rounds_per_day(interval) > budget and interval < DAY_MINUTES:
        interval, bound_by = interval + 1, "SOLAX_CALLS_PER_DAY"
    if dongles * rounds_per_day(interval) > budget:
        raise ValueError(
            f"{dongles} dongles need {dongles} calls a round, more than the {budget} a day SOLAX_CALLS_PER_DAY "
            f"({settings.calls_per_day}) leaves: split the dongles over several tokens."
        )
    return Plan(
        dongles=dongles,
        interval_min=interval,
        rounds_per_day=rounds_per_day(interval),
        calls_per_day=dongles * rounds_per_day(interval),
        budget=budget,
        per_day=settings.calls_per_day,
        per_minute=settings.calls_per_minute,
        round_s=round_s,
        bound_by=bound_by,
    )


def cron_schedules(interval_min: int) -> list[str]:
    """Cron strings (UTC) that start a round at minute 0 of each day and every `interval_min` after."""
    if interval_min <= 60 and 60 % interval_min == 0:
        return ["0 * * * *" if interval_min == 60 else f"*/{interval_min} * * * *"]
    if interval_min % 60 == 0 and DAY_MINUTES % interval_min == 0:
        return [f"0 */{interval_min // 60} * * *"]
    hours: dict[tuple[int, ...], list[int]] = {}
    for hour in range(24):
        minutes = tuple(m % 60 for m in range(0, DAY_MINUTES, interval_min) if m // 60 == hour)
        if minutes:
            hours.setdefault(minutes, []).append(hour)
    return [
        f"{','.join(map(str, minutes))} {','.join(map(str, hs))} * * *"
        for minutes, hs in sorted(hours.items(), key=lambda item: item[1][0])
    ]


@dataclass(frozen=True)
class LedgerState:
    calls_24h: int  # calls made in the last 24 hours
    blocked: tuple[float, str] | None  # (until, why) while no call may be made
    last_round: float | None  # when the last round started
    last_uploads: dict[str, str]  # the upload each dongle showed last (to tell new uploads from repeats)


class CallLedger:
    """The calls a token made in the last 24 hours and when it may call again, shared by every process.

    One record per token and server (key `solax-quota` + the namespace, a hash of both), read and written under
    the store's lock; times are the caller's clock (epoch seconds). A round reads it once and writes it once
    (its calls counted per minute, a day's worth kept)."""

    def __init__(self, directory: str | os.PathLike | None, namespace: str, store: TokenStore | None = None) -> None:
        self.store = store if store is not None else stores.token_store(directory)
        self.key = f"solax-quota\n{namespace}"

    @contextlib.contextmanager
    def _state(self, write: bool) -> Iterator[dict]:
        with self.store.locked(self.key):
            state = self.store.load(self.key) or {}  # a torn record (a killed writer) only forgets counts
            yield state
            if write:
                self.store.save(self.key, state)

    @staticmethod
    def _calls(state: dict, now: float) -> int:
        minute = int(now // 60)
        return sum(n for k, n in state.get("minutes", {}).items() if minute - DAY_MINUTES < int(k) <= minute)

    def state(self, now: float) -> LedgerState:
        with self._state(write=False) as state:
            until = state.get("blocked_until", 0)
            return LedgerState(
                calls_24h=self._calls(state, now),
                blocked=(until, state.get("blocked_why", "")) if now < until else None,
                last_round=state.get("last_round"),
                last_uploads=dict(state.get("last_uploads", {})),
            )

    def calls_last_24h(self, now: float) -> int:
        return self.state(now).calls_24h

    def blocked(self, now: float) -> tuple[float, str] | None:
        """(until, why) while calls must wait, else None."""
        return self.state(now).blocked

    def record_round(self, started: float, now: float, calls: int, uploads: dict[str, str]) -> None:
        """A round that started at `started` made `calls` calls (every attempt: a refused call may still count at
        SolaX) up to `now`, and saw these uploads."""
        with self._state(write=True) as state:
            minutes = state.setdefault("minutes", {})
            for key in [k for k in minutes if not int(now // 60) - DAY_MINUTES < int(k) <= int(now // 60)]:
                del minutes[key]  # older than a day (or ahead of the clock: a simulation's, moved back)
            if calls:
                key = str(int(now // 60))
                minutes[key] = minutes.get(key, 0) + calls
            state["last_round"] = started
            state.setdefault("last_uploads", {}).update(uploads)

    def block(self, until: float, why: str) -> None:
        """No call before `until` (a lock-out, an exhausted day), from any process."""
        with self._state(write=True) as state:
            if until > state.get("blocked_until", 0):
                state["blocked_until"], state["blocked_why"] = until, why
