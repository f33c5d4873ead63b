"""The code location's resources: the core's (lake, warehouse, which vendors run) and one per vendor.

build_resources()                                  # from the environment, as a deployment runs
build_resources(data_dir, saj={"app_id": ..., "app_secret": ..., "base_url": ...})   # tests, the demo
build_resources(data_dir, solax={"token_id": ..., "base_url": ..., "sites_file": ...})
build_resources(data_dir, sma={"client_id": ..., "client_secret": ..., "api_url": ..., ...})
"""

from __future__ import annotations

from pathlib import Path

from pipelines.core.resources import LakeResource, VendorsResource, warehouse_resource
from pipelines.core.settings import FleetSettings
from pipelines.sources.saj.resources import SajApiResource
from pipelines.sources.saj.settings import VARIABLES as SAJ_VARIABLES
from pipelines.sources.sma.resources import SmaApiResource
from pipelines.sources.sma.settings import VARIABLES as SMA_VARIABLES
from pipelines.sources.solax.resources import SolaxApiResource
from pipelines.sources.solax.settings import VARIABLES as SOLAX_VARIABLES


def build_resources(
    data_dir: str | Path | None = None, saj: dict | None = None, solax: dict | None = None, sma: dict | None = None
) -> dict[str, object]:
    """Every resource of the code location; `saj`, `solax` and `sma` override a vendor resource's fields
    (credentials, base URLs, qps_scale, timeout_s, ...), which otherwise come from the environment when its
    client is created."""
    settings = FleetSettings.from_env()
    lake = LakeResource(
        data_dir=str(Path(data_dir).resolve() if data_dir else settings.data_dir), lake_url=settings.lake_url
    )
    vendor_resources = {
        "saj": SajApiResource(cache_dir=str(lake.cache_dir("saj")), **(saj or {})),
        "solax": SolaxApiResource(cache_dir=str(lake.cache_dir("solax")), **(solax or {})),
        "sma": SmaApiResource(cache_dir=str(lake.cache_dir("sma")), **(sma or {})),
    }
    variables = {"saj": list(SAJ_VARIABLES), "solax": list(SOLAX_VARIABLES), "sma": list(SMA_VARIABLES)}
    return {
        **vendor_resources,
        "vendors": VendorsResource(
            configured=[n for n, r in vendor_resources.items() if r.configured], variables=variables
        ),
        "lake": lake,
        "warehouse": warehouse_resource(lake.data_dir, settings.duckdb_memory_limit, settings.warehouse),
    }
