"""Freshness: today's hourly energy and alarms must not be older than the intraday schedule allows.

Dagster 1.13's ``FreshnessPolicy.time_window`` on the assets below: an asset whose newest materialisation
is older than one intraday interval plus a grace of half an interval is WARN, older than two intervals
FAIL (15 min schedule: warn after 22 min, fail after 30 min: one interval between ticks plus up to one
interval for the run itself). The freshness daemon (``freshness: enabled: true`` in ``dagster.yaml``; the
demo's instance sets it) evaluates them continuously and the UI shows the state on each asset, in the
asset catalog's freshness column, and as events an alert policy can follow. A stalled daemon, a failing
API or a stuck run shows within minutes. The schedules keep only recent days moving, so the newest
materialisation is today's unless someone is backfilling.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from pipelines.schedules import SETTINGS

FRESH_ASSETS = ("plant_energy_hourly", "self_consumption_daily", "alarm_history")
FAIL_WINDOW = timedelta(minutes=2 * SETTINGS.intraday_minutes)
WARN_WINDOW = timedelta(minutes=1.5 * SETTINGS.intraday_minutes)
POLICY = dg.FreshnessPolicy.time_window(fail_window=FAIL_WINDOW, warn_window=WARN_WINDOW)


def with_freshness(assets: list) -> list:
    """The assets, with the freshness policy on those of FRESH_ASSETS."""
    return list(
        dg.map_asset_specs(
            lambda spec: (
                spec.replace_attributes(freshness_policy=POLICY) if spec.key.path[-1] in FRESH_ASSETS else spec
            ),
            assets,
        )
    )
