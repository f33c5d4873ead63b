"""The code location's resources: the core's (lake, warehouse, which vendors run) and one per vendor.

build_resources()                                  # from the environment, as a deployment runs
build_resources(data_dir, saj={"app_id": ..., "app_secret": ..., "base_url": ...})   # tests, the demo
"""

from __future__ import annotations

from pathlib import Path

from pipelines.core.resources import LakeResource, VendorsResource, warehouse_resource
from pipelines.core.settings import FleetSettings
from pipelines.sources.saj.resources import SajApiResource
from pipelines.sources.saj.settings import VARIABLES as SAJ_VARIABLES


def build_resources(data_dir: str | Path | None = None, saj: dict | None = None) -> dict[str, object]:
    """Every resource of the code location; `saj` overrides the SAJ resource's fields (credentials, base URL,
    qps_scale, timeout_s, ...), which otherwise come from the environment when its client is created."""
    settings = FleetSettings.from_env()
    lake = LakeResource(
        data_dir=str(Path(data_dir).resolve() if data_dir else settings.data_dir), lake_url=settings.lake_url
    )
    vendor_resources = {
        "saj": SajApiResource(cache_dir=str(lake.cache_dir("saj")), **(saj or {})),
    }
    variables = {"saj": list(SAJ_VARIABLES)}
    return {
        **vendor_resources,
        "vendors": VendorsResource(
            configured=[n for n, r in vendor_resources.items() if r.configured], variables=variables
        ),
        "lake": lake,
        "warehouse": warehouse_resource(lake.data_dir, settings.duckdb_memory_limit, settings.warehouse),
    }
