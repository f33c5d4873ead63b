"""The Dagster resources every vendor shares: the lake, the warehouse, and which vendors are configured."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.core.lake import Lake


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet lake and the shared caches (tokens, rate-limit slots) live (`FLEET_DATA_DIR`)."""

    data_dir: str

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def lake(self) -> Lake:
        return Lake(self.root / "lake")

    def cache_dir(self, vendor: str) -> Path:
        """Where a vendor's client keeps its token and rate-limit slots, shared by every process of the
        deployment on this machine."""
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


def warehouse_resource(data_dir: str | Path, memory_limit: str) -> DuckDBResource:
    # A bounded memory_limit makes DuckDB spill to disk instead of taking most of the machine on a rebuild.
    return DuckDBResource(
        database=str(Path(data_dir).resolve() / "warehouse.duckdb"), connection_config={"memory_limit": memory_limit}
    )
