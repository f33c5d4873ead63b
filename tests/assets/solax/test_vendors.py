"""SolaX beside SAJ: with only SolaX configured the SAJ assets skip with their message and SolaX builds the
warehouse alone; with both configured, both land in the same public tables, told apart by `vendor`."""

from __future__ import annotations

from datetime import date, datetime, timezone

import dagster as dg

from pipelines.resources import build_resources
from tests.sources.solax.walk import Walker
from tests.support import ALL_ASSETS, query

DAY = date(2025, 11, 2)
TABLES = [
    "plants",
    "devices",
    "device_samples",
    "device_energy_hourly",
    "plant_energy_hourly",
    "self_consumption_daily",
]


def test_saj_and_solax_in_one_warehouse(make_simulator, make_solax, tmp_path):
    solax = make_solax()
    walker = Walker(solax, tmp_path)
    walker.walk(datetime(2025, 11, 2, 8, 0, tzinfo=timezone.utc), datetime(2025, 11, 2, 10, 0, tzinfo=timezone.utc))
    walker.close()
    solax_config = {"token_id": solax.token, "base_url": solax.base_url, "sites_file": str(walker.sites_path)}
    saj = make_simulator(plants=2, limits=False)

    # only SolaX configured: every SAJ asset skips, saying which variables would enable it
    only_solax = build_resources(tmp_path, saj={"base_url": saj.base_url}, solax=solax_config)
    assert only_solax["vendors"].configured == ["solax"]
    result = dg.materialize(ALL_ASSETS, partition_key=DAY.isoformat(), resources=only_solax)
    assert result.success and saj.stats()["requests"] == {}
    materialized = [e.materialization for e in result.get_asset_materialization_events()]
    skipped = {
        m.asset_key.to_user_string(): m.metadata["skipped"].value for m in materialized if "skipped" in m.metadata
    }
    # every other vendor's raw tables say they were skipped, and why
    assert set(skipped) == {
        k.to_user_string() for a in ALL_ASSETS for k in a.keys if k.path[0] in ("saj", "sma") and "raw" in k.path[1]
    }
    for key, message in skipped.items():
        vendor = key.split("/")[0]
        assert f"{vendor} is not configured (set {vendor.upper()}_" in message, (key, message)
    for table in TABLES:
        assert query(tmp_path, f"SELECT DISTINCT vendor FROM {table}").vendor.tolist() == ["solax"], table

    # both configured: the same tables, both vendors, keyed by (vendor, id)
    saj_config = {"app_id": saj.fleet.app_id, "app_secret": saj.fleet.app_secret, "base_url": saj.base_url}
    both = build_resources(tmp_path, saj=saj_config, solax=solax_config)
    assert both["vendors"].configured == ["saj", "solax"]
    assert dg.materialize(ALL_ASSETS, partition_key=DAY.isoformat(), resources=both).success
    for table in TABLES:
        assert sorted(query(tmp_path, f"SELECT DISTINCT vendor FROM {table}").vendor) == ["saj", "solax"], table
    plants = query(tmp_path, "SELECT vendor, count(*) AS n FROM plants GROUP BY vendor ORDER BY vendor")
    assert plants.n.tolist() == [2, 6]
    daily = query(tmp_path, "SELECT vendor, plant_id, pv_kwh FROM self_consumption_daily WHERE day = $d", {"d": DAY})
    assert len(daily) == 8 and (daily[daily.vendor == "solax"].pv_kwh > 0).all()


def test_every_conformed_table_has_one_schema_whatever_the_vendor():
    """SolaX's mappings give exactly the columns and types SAJ's give (the contract of assets/conformed.py, which
    the conformed assets enforce when they run): a column added to the contract for one vendor is caught here
    before any run."""
    from assets.conformed import TABLES, conformed_schema
    from assets.vendors import VENDOR_MODELS

    solax = next(v for v in VENDOR_MODELS if v.name == "solax")
    for table in TABLES:
        if table in solax.conformed:
            assert conformed_schema(VENDOR_MODELS, table).names == conformed_schema([solax], table).names, table
