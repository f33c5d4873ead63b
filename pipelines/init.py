"""A deployment's one-off set-up, run once before its workers start: `python -m pipelines.init`.

- The DuckLake catalog, when FLEET_WAREHOUSE names one: workers attaching a new catalog at the same moment fail on
  each other's CREATE TABLE in PostgreSQL (pipelines/core/ducklake.py).
- The warehouse pools on the Dagster instance (DAGSTER_HOME), each at the instance's default limit. Dagster creates
  a pool when a step first asks for a slot, and on PostgreSQL storage two runs asking first at the same moment
  fail (dagster-postgres 0.29 catches the second INSERT's IntegrityError inside the transaction that error has
  aborted: "current transaction is aborted", seen by tests/distributed/test_pipeline.py), so the pools exist
  before any run does.

Idempotent: run it again after a release that adds a table.
"""

from __future__ import annotations

import sys

import dagster as dg

from pipelines.core import ducklake
from pipelines.core.settings import FleetSettings


def pools() -> list[str]:
    """Every pool a step of the code location asks for."""
    from assets.marts import mart_assets

    return sorted({a.op.pool for a in mart_assets if a.op.pool})


def init(instance: dg.DagsterInstance) -> list[str]:
    """Set the deployment up (see the module docstring); returns the pools."""
    if FleetSettings.from_env().warehouse == "ducklake":
        ducklake.init()
    names = pools()
    for pool in names:
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
    return names


if __name__ == "__main__":
    try:
        with dg.DagsterInstance.get() as dagster_instance:
            ready = init(dagster_instance)
    except (ducklake.WarehouseConfigError, ValueError) as error:
        sys.exit(str(error))
    print(f"ready: {len(ready)} pools ({', '.join(ready)})")
