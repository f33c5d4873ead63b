"""SMA's assets against the SMA stand-in: the code location's resources pointed at it, and runs over a day or
a range of days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from assets.checks import model_checks
from pipelines.resources import build_resources
from tests.simulator.sma.conftest import Sma, make_sma  # noqa: F401 - the fixture, shared
from tests.support import ALL_ASSETS

# SMA's raw and staging assets, the conformed layer and the marts (not SAJ's, which would only skip)
SMA_ASSETS = [a for a in ALL_ASSETS if a.key.path[0] != "saj"]


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
    assets=None,
    checks: bool = True,
    resources: dict | None = None,
    raise_on_error: bool = True,
    instance=None,
    **resource_kw,
):
    """Materialise `assets` (default: SMA's, the conformed layer and the marts) over first..last in one run, with
    the SMA resource's fields `resource_kw` (qps_scale, ...)."""
    last = last or first
    return dg.materialize(
        [*(SMA_ASSETS if assets is None else assets), *(model_checks if checks else [])],
        resources=resources or sma_resources(sma, data_dir, **resource_kw),
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=raise_on_error,
        instance=instance,
    )
