"""The Dagster resources every vendor shares: the lake, the warehouse, and which vendors are configured."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.core import ducklake
from pipelines.core.lake import Lake


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet lake lives (`FLEET_LAKE_URL`: s3://bucket/prefix; unset: `$FLEET_DATA_DIR/lake`) and the
    local caches (tokens, rate-limit slots) of the embedded profile (`FLEET_DATA_DIR`)."""

    data_dir: str
    lake_url: str | None = None

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def lake(self) -> Lake:
        return Lake.from_url(self.lake_url) if self.lake_url else Lake(self.root / "lake")

    def cache_dir(self, vendor: str) -> Path:
        """Where a vendor's client keeps its token and rate-limit slots, shared by every process of the
        deployment on this machine (unless FLEET_COORDINATION_URL puts them in PostgreSQL: pipelines/core/stores.py)."""
        return self.root / ".cache" / vendor


class VendorsResource(dg.ConfigurableResource):
    """Which vendors are configured (`configured`) and the variables that enable each (`variables`)."""

    configured: list[str]
    variables: dict[str, list[str]]

    def missing_all_message(self) -> str:
        wanted = "; ".join(f"{name}: {' and '.join(names)}" for name, names in sorted(self.variables.items()))
        return (
            "No vendor is configured, so there is nothing to land. Set the credentials of at least one "
            f"vendor in the environment ({wanted}); see README, 'Configuration'."
        )


class WarehouseResource(DuckDBResource):
    """The warehouse: the DuckDB file `database` (the embedded profile), or with `ducklake` the DuckLake catalog
    FLEET_WAREHOUSE names (pipelines/core/ducklake.py). The catalog's DSN is read from the environment when a
    connection is made, never kept in this configuration (which the Dagster UI shows): it can hold a password."""

    ducklake: bool = False

    @contextlib.contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if not self.ducklake:
            with super().get_connection() as conn:
                yield conn
            return
        conn = ducklake.connect()
        try:
            if "memory_limit" in self.connection_config:
                conn.execute(f"SET memory_limit = {ducklake.quote(str(self.connection_config['memory_limit']))}")
            yield conn
        finally:
            conn.close()


def warehouse_resource(data_dir: str | Path, memory_limit: str, profile: str = "duckdb") -> WarehouseResource:
    # A bounded memory_limit makes DuckDB spill to disk instead of taking most of the machine on a rebuild.
    return WarehouseResource(
        database=str(Path(data_dir).resolve() / "warehouse.duckdb"),
        connection_config={"memory_limit": memory_limit},
        ducklake=profile == "ducklake",
    )


def warehouse_pool(table: str) -> str:
    """The Dagster pool of the steps that write warehouse table `table` (limit 1 in deploy/dagster.*.yaml).

    The DuckDB file takes one writer process at a time, so with it every table shares the pool `warehouse`.
    DuckLake takes many writers, but aborts a commit that inserts into a table another transaction deleted from
    meanwhile, and two rewrites of a day the table does not hold yet would both commit (the day twice:
    tests/distributed/test_ducklake.py): so one writer per table, `warehouse_<table>`, different tables at once."""
    from pipelines.core.settings import warehouse_profile

    return "warehouse" if warehouse_profile() == "duckdb" else f"warehouse_{table}"
