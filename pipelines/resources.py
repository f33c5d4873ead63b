"""Dagster resources: the SAJ API, the lake and the warehouse, configured from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from pipelines.client import SajClient
from pipelines.settings import DEFAULT_BASE_URL


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet lake and the warehouse live (`SAJ_DATA_DIR`)."""

    data_dir: str

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def warehouse_path(self) -> Path:
        return self.root / "warehouse.duckdb"


class SajApiResource(dg.ConfigurableResource):
    """The SAJ Elekeeper Open Platform. Credentials come from `SAJ_APP_ID` and `SAJ_APP_SECRET`."""

    app_id: str
    app_secret: str
    base_url: str = DEFAULT_BASE_URL
    data_dir: str
    qps_scale: float = 1.0
    max_workers: int = 16
    timeout_s: float = 30  # seconds to wait for one answer before retrying it

    _client: SajClient | None = PrivateAttr(default=None)

    def client(self) -> SajClient:
        if self._client is None:
            # The token cache sits beside the lake so every run process of this deployment shares one token.
            self._client = SajClient(
                app_id=self.app_id,
                app_secret=self.app_secret,
                base_url=self.base_url,
                cache_dir=Path(self.data_dir).resolve() / ".saj",
                qps_scale=self.qps_scale,
                max_workers=self.max_workers,
                timeout_s=self.timeout_s,
            )
        return self._client


def build_resources(
    data_dir: str | Path | None = None,
    app_id: str | None = None,
    app_secret: str | None = None,
    base_url: str | None = None,
    **saj: object,
) -> dict[str, object]:
    """The code location's resources, configured from the environment (`SAJ_*`) unless given otherwise."""
    data_dir = str(data_dir or os.environ.get("SAJ_DATA_DIR", "./data"))
    return {
        "saj": SajApiResource(
            app_id=dg.EnvVar("SAJ_APP_ID") if app_id is None else app_id,
            app_secret=dg.EnvVar("SAJ_APP_SECRET") if app_secret is None else app_secret,
            base_url=base_url or os.environ.get("SAJ_BASE_URL", DEFAULT_BASE_URL),
            data_dir=data_dir,
            **saj,
        ),
        "lake": LakeResource(data_dir=data_dir),
        # A bounded memory_limit makes DuckDB spill to disk instead of taking most of the machine on a rebuild.
        "warehouse": DuckDBResource(
            database=str(Path(data_dir).resolve() / "warehouse.duckdb"),
            connection_config={"memory_limit": os.environ.get("SAJ_DUCKDB_MEMORY_LIMIT", "1GB")},
        ),
    }
