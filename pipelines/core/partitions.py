"""The daily partitions every asset shares, and what a day means for a plant.

A partition key is a calendar day. For each plant it is that plant's local day, in the plant's own time
zone (each vendor says where it comes from: SAJ's plant/details, SMA's plant time zone, the SolaX sites
file); the vendors read their day windows in plant-local time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

from pipelines.core.settings import FleetSettings

# Keys are UTC-calendar days, but each plant reads a key as its own local day. end_offset=2: the last
# partition is *tomorrow* in UTC, because from 10:00 UTC on a plant in UTC+14 (Kiribati) is already living
# tomorrow's UTC date; with end_offset=1 its local today would not be a partition before UTC midnight and
# the intraday schedule could not refresh it. (A plant in UTC-12 lives at most one day behind UTC: yesterday's
# key always exists.)
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=FleetSettings.from_env().start_date.isoformat(), end_offset=2
)


def backfill_policy() -> dg.BackfillPolicy:
    """How a backfill of a range of days is split into runs, for every partitioned asset: one run for the whole
    range (the default: one machine, one writer), or runs of at most FLEET_BACKFILL_DAYS_PER_RUN days, which a
    deployment with several workers runs side by side (docs/deploy.md; the run queue bounds how many at once)."""
    days = FleetSettings.from_env().backfill_days_per_run
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=days) if days else dg.BackfillPolicy.single_run()


def days_of(context: dg.AssetExecutionContext) -> list[date]:
    """The days of the partition time window: one for a single partition, several for a range."""
    window = context.partition_time_window
    first, last = window.start.date(), window.end.date()
    return [first + timedelta(days=n) for n in range((last - first).days)]


def plant_zone(time_zone: object, plant_id: str, where: str = "its vendor's portal") -> ZoneInfo:
    """The plant's time zone; a missing or unknown one is an error, never a silent UTC."""
    try:
        if not time_zone or not isinstance(time_zone, str):
            raise ZoneInfoNotFoundError
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"plant {plant_id} has no usable time zone ({time_zone!r}); its local day cannot be known. "
            f"Set the plant's time zone in {where}."
        ) from None


def local_day_window(day: date) -> tuple[datetime, datetime]:
    """startTime and endTime of a whole local day, as the API wants them (naive, plant-local)."""
    return datetime.combine(day, time(0, 0, 0)), datetime.combine(day, time(23, 59, 59))
