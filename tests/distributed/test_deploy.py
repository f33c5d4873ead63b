"""The deployment files (deploy/) load and agree with each other: the Dagster instance templates build real
instances (the Postgres one on the test server, with pool slots shared between two instances), and the Compose
file and Helm values carry the same limits and names as the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import dagster as dg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _instance(tmp_path: Path, template: str) -> dg.DagsterInstance:
    shutil.copy(DEPLOY / template, tmp_path / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(tmp_path))


def test_the_sqlite_template_is_todays_one_machine(tmp_path):
    instance = _instance(tmp_path, "dagster.sqlite.yaml")
    assert type(instance.run_storage).__name__ == "SqliteRunStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1  # one writer of the DuckDB file
    assert instance.run_monitoring_enabled and instance.run_retries_max_retries == 1


@pytest.mark.distributed
def test_the_postgres_template_shares_pool_slots_between_instances(tmp_path, postgres_server, monkeypatch):
    """Two processes' instances (here two instances, each with its own connections) on one Postgres storage: a
    warehouse table's pool slot held by one run blocks the other run until freed; another table's pool does not."""
    monkeypatch.setenv("DAGSTER_PG_HOST", postgres_server.host)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(postgres_server.port))
    monkeypatch.setenv("DAGSTER_PG_USER", postgres_server.user)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")
    monkeypatch.setenv("DAGSTER_PG_DB", postgres_server.create_database())
    first, second = _instance(tmp_path, "dagster.postgres.yaml"), _instance(tmp_path, "dagster.postgres.yaml")
    assert type(first.run_storage).__name__ == "PostgresRunStorage"
    assert type(first.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(first.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert first.run_monitoring_enabled and not first.run_retries_retry_on_asset_or_op_failure
    config = first.get_concurrency_config()
    assert config.pool_config.default_pool_limit == 1 and config.run_queue_config.max_concurrent_runs > 1

    for pool in ("warehouse_plants", "warehouse_devices"):  # a pool's slots, from pools.default_limit
        first.event_log_storage.initialize_concurrency_limit_to_default(pool)

    def claim(instance, pool, run_id):
        return instance.event_log_storage.claim_concurrency_slot(pool, run_id, pool).is_claimed

    assert claim(first, "warehouse_plants", "run-day-1")
    assert not claim(second, "warehouse_plants", "run-day-2")
    assert claim(second, "warehouse_devices", "run-day-2")
    first.event_log_storage.free_concurrency_slots_for_run("run-day-1")  # what run monitoring does for dead runs
    assert claim(second, "warehouse_plants", "run-day-2")
    first.dispose()
    second.dispose()


def test_the_helm_values_carry_the_same_limits_as_the_postgres_template():
    instance = yaml.safe_load((DEPLOY / "dagster.postgres.yaml").read_text())
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    pools, runs = values["concurrency"]["pools"], values["concurrency"]["runs"]
    assert values["concurrency"]["enabled"]
    assert (pools["defaultLimit"], pools["granularity"], pools["opGranularityRunBuffer"]) == (
        instance["concurrency"]["pools"]["default_limit"],
        instance["concurrency"]["pools"]["granularity"],
        instance["concurrency"]["pools"]["op_granularity_run_buffer"],
    )
    assert runs["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    # psycopg2: with psycopg 3 dagster-postgres writes no event (tests/distributed/test_pipeline.py)
    assert values["postgresql"]["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]
    assert runs["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert monitoring["freeSlotsAfterRunEndSeconds"] == instance["run_monitoring"]["free_slots_after_run_end_seconds"]
    assert values["additionalInstanceConfig"]["run_retries"] == instance["run_retries"]
    assert not values["dagsterDaemon"]["runRetries"]["enabled"]  # else the chart renders run_retries twice
    location = values["dagster-user-deployments"]["deployments"][0]
    assert location["dagsterApiGrpcArgs"] == [
        "-m",
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"],
    ]


def test_the_compose_file_wires_one_image_to_the_services_it_names():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "minio", "bucket", "init", "code", "webserver", "daemon"} <= services.keys()
    fleet = [s for s in services.values() if s.get("build", {}).get("dockerfile") == "deploy/Dockerfile"]
    assert len(fleet) == 4 and all(s["environment"] == fleet[0]["environment"] for s in fleet)
    env = fleet[0]["environment"]
    # the databases the DSNs name are the ones the Postgres container creates
    created = set(re.findall(r"CREATE DATABASE (\w+)", (DEPLOY / "postgres-init.sql").read_text()))
    created.add(services["postgres"]["environment"]["POSTGRES_DB"])
    named = {re.search(r"dbname=(\w+)", env[k]).group(1) for k in ("FLEET_COORDINATION_URL", "FLEET_WAREHOUSE")}
    assert named | {env["DAGSTER_PG_DB"]} <= created
    assert not any("password=" in str(v) for v in env.values())  # passwords only through PGPASSWORD
    # the workspace names the code location the code defines, on the port the code service serves
    workspace = yaml.safe_load((DEPLOY / "workspace.compose.yaml").read_text())["load_from"][0]["grpc_server"]
    assert (
        workspace["location_name"]
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["code_location_name"]
    )
    assert str(workspace["port"]) in services["code"]["command"]
    assert "python -m pipelines.init" in " ".join(services["init"]["command"])  # the catalog and the pools


def _compose_client() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


@pytest.mark.skipif(_compose_client() is None, reason="no Compose client on this machine to parse the file with")
def test_compose_parses_the_file():
    """`config` validates the file against Compose's schema and fills in the variables, offline."""
    done = subprocess.run(
        [*_compose_client(), "-p", "fleet", "-f", str(DEPLOY / "docker-compose.yaml"), "config", "-q"],
        env={
            "PATH": "/usr/bin:/bin",
            "FLEET_PG_PASSWORD": "x",
            "FLEET_S3_SECRET_KEY": "y",
            "SAJ_APP_ID": "a",
            "SAJ_APP_SECRET": "b",
        },
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
