"""SMA's assets against the SMA stand-in: the code location's resources pointed at it, and runs over a day or
a range of days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.resources import build_resources
from tests.simulator.sma.conftest import Sma, make_sma  # noqa: F401 - the fixture, shared
from tests.support import run

# SMA's raw and staging assets, the conformed layer and the marts with their checks (not SAJ's, which would skip)
SMA_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.groups("saj_raw", "saj_staging")
SMA_RAW = dg.AssetSelection.groups("sma_raw")


def sma_resources(sma: Sma, data_dir: Path, **kw) -> dict:
    """The code location's resources with SMA pointed at the stand-in (its test credentials unless given), paced
    at 5 x the production pace unless told otherwise (the stand-in's bucket takes it; tests of the limit set
    their own bucket)."""
    kw.setdefault("qps_scale", 5)
    return build_resources(
        data_dir,
        sma={
            "client_id": sma.info["client_id"],
            "client_secret": sma.info["client_secret"],
            "auth_url": sma.s.auth_url,
            "consent_url": sma.s.consent_url,
            "api_url": sma.s.api_url,
            **kw,
        },
    )


def run_days(
    sma: Sma,
    data_dir: Path,
    first: date,
    last: date | None = None,
    *,
    assets: dg.AssetSelection = SMA_ASSETS,
    resources: dict | None = None,
    raise_on_error: bool = True,
    instance=None,
    **resource_kw,
):
    """Materialise `assets` (default: SMA's, the conformed layer and the marts) over first..last in one run, with
    the SMA resource's fields `resource_kw` (qps_scale, ...)."""
    last = last or first
    return run(
        assets,
        resources=resources or sma_resources(sma, data_dir, **resource_kw),
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=raise_on_error,
        instance=instance,
    )


def materialization(result, key: str):
    """The materialisation of asset `key` ("sma/raw_plants") in a run (the first, for a range)."""
    return next(
        e.materialization for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key
    )
