"""Schedules: the daily catch-up of late data and the intraday refresh of today, for a fleet anywhere on Earth.

A partition key is a calendar day and each plant reads it as its **local** day. Local days do not end at
the same instant: UTC+14 (Kiribati) ends day D at D 10:00 UTC, UTC-12 (Baker Island) at D+1 12:00 UTC.
So neither schedule computes "yesterday" or "today" from the clock of the cron: both ask the plants' time
zones (from the latest `raw_plants` in the lake; before the first landing, every offset from UTC-12 to
UTC+14 is assumed), which keeps them right whatever cron or time zone an operator configures.

- ``fleet_daily`` (``FLEET_DAILY_CRON``, default ``30 12 * * *`` UTC): re-materialises the last day that has
  ended in *every* plant's zone, ``FLEET_SETTLE_MINUTES`` (30) ago, and the ``FLEET_DAILY_DAYS - 1`` days
  before it (default 2 days in all), because vendors' data arrives late. 12:30 UTC is the first half hour at
  which the day before has ended everywhere: UTC-12 finishes it at 12:00 UTC.
- ``fleet_intraday`` (every ``FLEET_INTRADAY_MINUTES``, default 15): one run over the local today of every
  plant, plus the day that ended less than ``FLEET_SETTLE_MINUTES`` ago somewhere (so its last samples land
  without waiting for the daily run). With plants on both sides of the date line this is a range of two or
  three keys, which is why the partitions end one day after today's UTC date (``end_offset=2``).
  A tick is skipped while the previous intraday run is still queued or running.

Both target the whole graph (every vendor's raw -> staging -> conformed -> marts and their checks) as one
partition-range run, which the single-run backfill policy of every asset executes in one process. The plants'
time zones come from the conformed layer, whatever the vendor. ``FLEET_AUTOMATION=stopped`` leaves schedules
and sensors off when the code location loads (default running). The ``SAJ_*`` names of these settings still
work.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from pipelines.core.lake import Lake
from pipelines.core.partitions import daily_partitions
from pipelines.core.resources import LakeResource
from pipelines.core.settings import FleetSettings

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
TRIGGER_TAG = "fleet/trigger"
# The extreme offsets in use: Baker Island (UTC-12) and Kiribati's Line Islands (UTC+14).
WESTMOST, EASTMOST = timezone(timedelta(hours=-12)), timezone(timedelta(hours=14))
IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
SETTINGS = FleetSettings.from_env()


def fleet_zones(lake: Lake, now: datetime) -> list[tzinfo]:
    """The time zones of every vendor's plants, from each vendor's latest conformed plants (the newest key
    that can exist is tomorrow in UTC: end_offset=2); [] before anything is landed."""
    zones: list[tzinfo] = []
    for path in lake.latest_conformed_files("plants", now.astimezone(timezone.utc).date() + timedelta(days=1)):
        for name in lake.read([path], columns=["time_zone"]).column("time_zone").to_pylist():
            try:
                zones.append(ZoneInfo(name))
            except (ZoneInfoNotFoundError, ValueError, TypeError):  # that plant's raw landing reports it
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


def range_request(
    days: list[date], trigger: str, run_key: str | None = None, tags: dict | None = None, **kwargs
) -> dg.RunRequest:
    """One run over the contiguous range of `days` (every asset has a single-run backfill policy)."""
    first, last = days[0].isoformat(), days[-1].isoformat()
    return dg.RunRequest(
        run_key=run_key,
        tags={
            RANGE_START: first,
            RANGE_END: last,
            TRIGGER_TAG: trigger,
            "fleet/days": f"{first}...{last}",
            **(tags or {}),
        },
        **kwargs,
    )


def _in_flight(context, trigger: str) -> int:
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a test context without an instance
        return 0
    return instance.get_runs_count(dg.RunsFilter(tags={TRIGGER_TAG: trigger}, statuses=IN_PROGRESS))


def _status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if SETTINGS.running else dg.DefaultScheduleStatus.STOPPED


refresh_job = dg.define_asset_job(
    "fleet_refresh",
    selection=dg.AssetSelection.all(),
    description="The whole graph (every vendor's raw -> staging -> conformed -> marts, with checks) over a range "
    "of days, in one run.",
)


def _fleet_schedule(name: str, cron: str, description: str):
    """A schedule of the whole graph (`refresh_job`) on a UTC cron, running or stopped as FLEET_AUTOMATION says."""
    return dg.schedule(
        name=name,
        job=refresh_job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=_status(),
        description=description,
    )


def _nothing_to_refresh(now: datetime) -> dg.SkipReason:
    return dg.SkipReason(f"no partition to refresh at {now:%Y-%m-%d %H:%M} UTC (before FLEET_START_DATE?)")


@_fleet_schedule(
    "fleet_daily",
    SETTINGS.daily_cron,
    f"Cron {SETTINGS.daily_cron} UTC (FLEET_DAILY_CRON): re-materialises the last {SETTINGS.daily_days} "
    "day(s) that have ended in every plant's time zone (vendors' data arrives late), in one run.",
)
def fleet_daily(context: dg.ScheduleEvaluationContext, lake: LakeResource):
    now = context.scheduled_execution_time.astimezone(timezone.utc)
    zones = fleet_zones(lake.lake, now)
    days = _clamp(daily_days(now, zones, timedelta(minutes=SETTINGS.settle_minutes), SETTINGS.daily_days), now)
    if not days:
        return _nothing_to_refresh(now)
    context.log.info(f"daily: {days[0]} .. {days[-1]} for {len(zones) or 'all'} zone(s)")
    return range_request(days, "daily", run_key=f"daily-{days[0]}-{days[-1]}")


@_fleet_schedule(
    "fleet_intraday",
    SETTINGS.intraday_cron,
    f"Every {SETTINGS.intraday_minutes} min (FLEET_INTRADAY_MINUTES): refreshes every plant's local today "
    f"(and a day that ended less than {SETTINGS.settle_minutes} min ago) in one run, so today's hourly "
    "energy is never older than one interval plus a run.",
)
def fleet_intraday(context: dg.ScheduleEvaluationContext, lake: LakeResource):
    now = context.scheduled_execution_time.astimezone(timezone.utc)
    if _in_flight(context, "intraday"):
        return dg.SkipReason("the previous intraday run is still queued or running")
    zones = fleet_zones(lake.lake, now)
    days = _clamp(intraday_days(now, zones, timedelta(minutes=SETTINGS.settle_minutes)), now)
    if not days:
        return _nothing_to_refresh(now)
    return range_request(days, "intraday")


schedules = [fleet_daily, fleet_intraday]
