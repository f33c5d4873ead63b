"""Schedules: the daily catch-up of late data and the intraday refresh of today, for a fleet anywhere on Earth.

A partition key is a calendar day and each plant reads it as its **local** day. Local days do not end at
the same instant: UTC+14 (Kiribati) ends day D at D 10:00 UTC, UTC-12 (Baker Island) at D+1 12:00 UTC.
So neither schedule computes "yesterday" or "today" from the clock of the cron: both ask the plants' time
zones (from the latest `raw_plants` in the lake; before the first landing, every offset from UTC-12 to
UTC+14 is assumed), which keeps them right whatever cron or time zone an operator configures.

- ``saj_daily`` (``SAJ_DAILY_CRON``, default ``30 12 * * *`` UTC): re-materialises the last day that has
  ended in *every* plant's zone, ``SAJ_SETTLE_MINUTES`` (30) ago, and the ``SAJ_DAILY_DAYS - 1`` days
  before it (default 2 days in all), because SAJ data arrives late. 12:30 UTC is the first half hour at
  which the day before has ended everywhere: UTC-12 finishes it at 12:00 UTC.
- ``saj_intraday`` (every ``SAJ_INTRADAY_MINUTES``, default 15): one run over the local today of every
  plant, plus the day that ended less than ``SAJ_SETTLE_MINUTES`` ago somewhere (so its last samples land
  without waiting for the daily run). With plants on both sides of the date line this is a range of two or
  three keys, which is why the partitions end one day after today's UTC date (``end_offset=2``).
  A tick is skipped while the previous intraday run is still queued or running.

Both target the whole graph (raw -> staging -> marts and their checks) as one partition-range run, which
the single-run backfill policy of every asset executes in one process.
``SAJ_AUTOMATION=stopped`` leaves schedules and sensors off when the code location loads (default running).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

import dagster as dg
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from pipelines.partitions import daily_partitions
from pipelines.resources import LakeResource

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
TRIGGER_TAG = "saj/trigger"
# The extreme offsets in use: Baker Island (UTC-12) and Kiribati's Line Islands (UTC+14).
WESTMOST, EASTMOST = timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))


@dataclass(frozen=True)
class ScheduleSettings:
    daily_cron: str = "30 12 * * *"
    daily_days: int = 2
    intraday_minutes: int = 15
    settle_minutes: int = 30
    running: bool = True

    @classmethod
    def from_env(cls) -> "ScheduleSettings":
        env = os.environ
        minutes = int(env.get("SAJ_INTRADAY_MINUTES", "15"))
        if not (1 <= minutes <= 60 and 60 % minutes == 0):
            raise ValueError(f"SAJ_INTRADAY_MINUTES={minutes}: use a divisor of 60 (5, 10, 15, 20, 30, 60)")
        days = int(env.get("SAJ_DAILY_DAYS", "2"))
        if days < 1:
            raise ValueError(f"SAJ_DAILY_DAYS={days}: at least 1")
        automation = env.get("SAJ_AUTOMATION", "running").strip().lower()
        if automation not in ("running", "stopped"):
            raise ValueError(f"SAJ_AUTOMATION={automation!r}: 'running' or 'stopped'")
        return cls(
            daily_cron=env.get("SAJ_DAILY_CRON", cls.daily_cron),
            daily_days=days,
            intraday_minutes=minutes,
            settle_minutes=int(env.get("SAJ_SETTLE_MINUTES", "30")),
            running=automation == "running",
        )

    @property
    def intraday_cron(self) -> str:
        return "0 * * * *" if self.intraday_minutes == 60 else f"*/{self.intraday_minutes} * * * *"

    @property
    def default_status(self) -> dg.DefaultScheduleStatus:
        return dg.DefaultScheduleStatus.RUNNING if self.running else dg.DefaultScheduleStatus.STOPPED


def fleet_zones(lake_root, now: datetime) -> list[tzinfo]:
    """The time zones of the plants in the latest raw_plants landing; [] when none is landed yet."""
    from pipelines import warehouse as wh
    from pipelines.fleet import load_fleet

    # The newest key that can exist is tomorrow in UTC (end_offset=2).
    path = wh.latest_path_at_or_before(lake_root, "raw", "raw_plants", now.astimezone(timezone.utc).date() + timedelta(days=1))
    if path is None:
        return []
    day = date.fromisoformat(path.parent.name.removeprefix("date="))
    zones = []
    for plant in load_fleet(lake_root, day, with_devices=False).plants:
        try:
            zones.append(plant.zone)
        except ValueError:  # no usable zone: that plant's raw landing reports it
            continue
    return zones


def _local_dates(instant: datetime, zones: Iterable[tzinfo]) -> set[date]:
    zones = list(zones)
    if zones:
        return {instant.astimezone(zone).date() for zone in zones}
    first, last = instant.astimezone(WESTMOST).date(), instant.astimezone(EASTMOST).date()
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def intraday_days(now: datetime, zones: Iterable[tzinfo], settle: timedelta) -> list[date]:
    """Every plant's local today, and the local day that ended less than `settle` ago."""
    zones = list(zones)
    return sorted(_local_dates(now, zones) | _local_dates(now - settle, zones))


def daily_days(now: datetime, zones: Iterable[tzinfo], settle: timedelta, days: int) -> list[date]:
    """The last day that ended everywhere at least `settle` ago, and the `days - 1` days before it."""
    last = min(_local_dates(now - settle, zones)) - timedelta(days=1)
    return [last - timedelta(days=n) for n in reversed(range(days))]


def _clamp(days: list[date], now: datetime) -> list[date]:
    keys = set(daily_partitions.get_partition_keys(current_time=now))
    return [d for d in days if d.isoformat() in keys]


def range_request(days: list[date], trigger: str, run_key: str | None = None, tags: dict | None = None,
                  **kwargs) -> dg.RunRequest:
    """One run over the contiguous range of `days` (every asset has a single-run backfill policy)."""
    first, last = days[0].isoformat(), days[-1].isoformat()
    return dg.RunRequest(
        run_key=run_key,
        tags={RANGE_START: first, RANGE_END: last, TRIGGER_TAG: trigger, "saj/days": f"{first}...{last}", **(tags or {})},
        **kwargs,
    )


def _in_flight(context, trigger: str) -> int:
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a test context without an instance
        return 0
    return instance.get_runs_count(dg.RunsFilter(tags={TRIGGER_TAG: trigger}, statuses=list(IN_PROGRESS_RUN_STATUSES)))


SETTINGS = ScheduleSettings.from_env()

refresh_job = dg.define_asset_job(
    "saj_refresh",
    selection=dg.AssetSelection.all(),
    # one process per run: a subprocess per step (~45 steps) made a one-day refresh take 150 s instead of ~20 s
    executor_def=dg.in_process_executor,
    description="The whole graph (raw -> staging -> marts, with checks) over a range of days, in one run.",
)


@dg.schedule(
    name="saj_daily",
    job=refresh_job,
    cron_schedule=SETTINGS.daily_cron,
    execution_timezone="UTC",
    default_status=SETTINGS.default_status,
    description=(
        f"Cron {SETTINGS.daily_cron} UTC (SAJ_DAILY_CRON): re-materialises the last {SETTINGS.daily_days} "
        "day(s) that have ended in every plant's time zone (SAJ data arrives late), in one run."
    ),
)
def saj_daily(context: dg.ScheduleEvaluationContext, lake: LakeResource):
    now = context.scheduled_execution_time.astimezone(timezone.utc)
    zones = fleet_zones(lake.root, now)
    days = _clamp(daily_days(now, zones, timedelta(minutes=SETTINGS.settle_minutes), SETTINGS.daily_days), now)
    if not days:
        return dg.SkipReason(f"no partition to refresh at {now:%Y-%m-%d %H:%M} UTC (before SAJ_START_DATE?)")
    context.log.info(f"daily: {days[0]} .. {days[-1]} for {len(zones) or 'all'} zone(s)")
    return range_request(days, "daily", run_key=f"daily-{days[0]}-{days[-1]}")


@dg.schedule(
    name="saj_intraday",
    job=refresh_job,
    cron_schedule=SETTINGS.intraday_cron,
    execution_timezone="UTC",
    default_status=SETTINGS.default_status,
    description=(
        f"Every {SETTINGS.intraday_minutes} min (SAJ_INTRADAY_MINUTES): refreshes every plant's local today "
        f"(and a day that ended less than {SETTINGS.settle_minutes} min ago) in one run, so today's hourly "
        "energy is never older than one interval plus a run."
    ),
)
def saj_intraday(context: dg.ScheduleEvaluationContext, lake: LakeResource):
    now = context.scheduled_execution_time.astimezone(timezone.utc)
    if _in_flight(context, "intraday"):
        return dg.SkipReason("the previous intraday run is still queued or running")
    zones = fleet_zones(lake.root, now)
    days = _clamp(intraday_days(now, zones, timedelta(minutes=SETTINGS.settle_minutes)), now)
    if not days:
        return dg.SkipReason(f"no partition to refresh at {now:%Y-%m-%d %H:%M} UTC (before SAJ_START_DATE?)")
    return range_request(days, "intraday")


schedules = [saj_daily, saj_intraday]
