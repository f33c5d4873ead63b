"""Which profile the configuration selects: the embedded default without any FLEET_* variable of the distributed
profile, and a clear error, naming what to set, for a configuration that selects nothing."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.marts import mart_assets
from pipelines.core import stores
from pipelines.core.postgres import PostgresSlotStore, PostgresTokenStore
from pipelines.core.ratelimit import FileSlotStore, MemorySlotStore
from pipelines.core.resources import warehouse_pool
from pipelines.core.settings import FleetSettings
from pipelines.core.tokens import FileTokenStore, MemoryTokenStore
from pipelines.resources import build_resources

DISTRIBUTED = ("FLEET_LAKE_URL", "FLEET_WAREHOUSE", "FLEET_WAREHOUSE_DATA_PATH", "FLEET_COORDINATION_URL")


@pytest.fixture
def embedded_env(monkeypatch):
    for name in DISTRIBUTED:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_fleet_variables_everything_is_on_this_machine(embedded_env, tmp_path):
    resources = build_resources(tmp_path)
    assert resources["lake"].lake.local and resources["lake"].lake.root == tmp_path.resolve() / "lake"
    assert resources["warehouse"].database == str(tmp_path.resolve() / "warehouse.duckdb")
    assert not resources["warehouse"].ducklake
    assert isinstance(stores.token_store(tmp_path), FileTokenStore)
    assert isinstance(stores.slot_store(tmp_path), FileSlotStore)
    assert isinstance(stores.token_store(None), MemoryTokenStore)
    assert isinstance(stores.slot_store(None), MemorySlotStore)
    assert {warehouse_pool(a.key.to_user_string()) for a in mart_assets} == {"warehouse"}
    assert {a.op.pool for a in mart_assets} == {"warehouse"}  # one writer of the DuckDB file


def test_the_distributed_variables_select_s3_ducklake_and_postgres(embedded_env, tmp_path):
    embedded_env.setenv("FLEET_LAKE_URL", "s3://fleet-bucket/lake")
    embedded_env.setenv("AWS_REGION", "eu-central-1")
    embedded_env.setenv("FLEET_WAREHOUSE", "ducklake:postgres:host=db dbname=catalog user=fleet password=hunter2")
    embedded_env.setenv("FLEET_WAREHOUSE_DATA_PATH", "s3://fleet-bucket/warehouse/")
    embedded_env.setenv("FLEET_COORDINATION_URL", "host=127.0.0.1 port=9 dbname=coordination password=hunter2")
    resources = build_resources(tmp_path)
    lake = resources["lake"].lake
    assert not lake.local and lake.url == "s3://fleet-bucket/lake"
    assert resources["warehouse"].ducklake
    assert warehouse_pool("plants") == "warehouse_plants"
    # the DSNs (they can hold a password) are read where connections are made, never kept in the configuration
    # the Dagster UI shows
    for resource in resources.values():
        assert "hunter2" not in repr(resource) and "hunter2" not in str(getattr(resource, "_config_dict", ""))
    assert "hunter2" not in repr(FleetSettings.from_env())
    # the stores connect lazily: chosen here, connecting on first use
    assert isinstance(stores.token_store(tmp_path), PostgresTokenStore)
    assert isinstance(stores.slot_store(tmp_path), PostgresSlotStore)
    assert isinstance(stores.slot_store(tmp_path, shared=False), MemorySlotStore)


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"FLEET_WAREHOUSE": "postgres:host=db"}, "use ducklake:postgres:<libpq DSN> for a DuckLake catalog"),
        ({"FLEET_WAREHOUSE": "ducklake:sqlite:x.db"}, "use ducklake:postgres:<libpq DSN>"),
        ({"FLEET_WAREHOUSE": "ducklake:postgres:host=db"}, "FLEET_WAREHOUSE_DATA_PATH must say where"),
        ({"FLEET_LAKE_URL": "gs://bucket/lake"}, "FLEET_LAKE_URL=gs://...: use s3://bucket/prefix"),
    ],
)
def test_a_configuration_that_selects_nothing_says_what_to_set(embedded_env, variables, message):
    for name, value in variables.items():
        embedded_env.setenv(name, value)
    with pytest.raises(ValueError) as raised:
        FleetSettings.from_env()
    assert message in str(raised.value)
    assert "host=db" not in str(raised.value)  # the DSN is not repeated


def test_backfills_are_one_run_unless_days_per_run_are_set(embedded_env):
    from pipelines.core.partitions import backfill_policy

    assert backfill_policy() == dg.BackfillPolicy.single_run()
    embedded_env.setenv("FLEET_BACKFILL_DAYS_PER_RUN", "7")
    assert backfill_policy() == dg.BackfillPolicy.multi_run(max_partitions_per_run=7)
    embedded_env.setenv("FLEET_BACKFILL_DAYS_PER_RUN", "-1")
    with pytest.raises(ValueError, match="FLEET_BACKFILL_DAYS_PER_RUN=-1"):
        FleetSettings.from_env()
