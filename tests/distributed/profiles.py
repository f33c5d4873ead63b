"""What the distributed tests share: the days they run, the embedded profile's result to compare with, a DuckLake
environment, and the row-for-row comparison of a DuckLake warehouse with the embedded one."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from assets.marts import MARTS
from pipelines.core import ducklake
from simulator import SimulatorServer
from tests.conftest import get_fleet
from tests.services import REPORT
from tests.support import compare_device_day, materialize

DAYS = [date(2025, 6, 17), date(2025, 6, 18)]
TABLES = [m.name for m in MARTS]
FLEET = (6, 7)  # plants, seed: the simulator's fleet of every distributed test


@pytest.fixture(scope="session")
def embedded(tmp_path_factory):
    """The embedded profile's result for DAYS (local lake, one DuckDB file, no FLEET_* variable), checked against
    the truth; one Dagster run per day."""
    data_dir = tmp_path_factory.mktemp("embedded")
    fleet = get_fleet(*FLEET)
    seconds = []
    with SimulatorServer(fleet, port=0) as server:
        for day in DAYS:
            started = time.monotonic()
            assert materialize(server, data_dir, day).success
            seconds.append(time.monotonic() - started)
    for day in DAYS:
        assert compare_device_day(fleet, data_dir, day)["complete"] > 0
    REPORT.append(
        "embedded profile (local lake, DuckDB file): "
        + ", ".join(f"{d} {s:.1f} s" for d, s in zip(DAYS, seconds))
        + " per run of the whole pipeline (one after the other)"
    )
    return data_dir


@pytest.fixture
def ducklake_env(postgres_server, s3_server, s3_prefix) -> dict[str, str]:
    """What a worker of the distributed profile gets: a DuckLake catalog database of its own, initialised, a data
    path of its own, and a coordination database of its own.

    Initialised once here, before any worker, as a deployment does (pipelines/core/ducklake.py: workers attaching
    a new catalog at the same moment fail on each other's CREATE TABLE, seen here as "duplicate key value violates
    unique constraint pg_type_typname_nsp_index")."""
    catalog = postgres_server.create_database()
    env = {
        **s3_server.env(),
        "FLEET_WAREHOUSE": f"ducklake:postgres:{postgres_server.dsn(catalog)}",
        "FLEET_WAREHOUSE_DATA_PATH": s3_prefix + "warehouse/",
        "FLEET_COORDINATION_URL": postgres_server.dsn(postgres_server.create_database()),
    }
    ducklake.connect(env).close()
    return env


# When the API was asked (not what it said): two fetches of the same days differ here and only here.
FETCH_TIMES = ("fetched_at", "updated_at", "observed_at")


def _listed(conn: duckdb.DuckDBPyConnection, table: str, ignore: tuple[str, ...]) -> str:
    columns = conn.execute(f"SELECT * FROM warehouse.main.{table} LIMIT 0").description
    return ", ".join(f"round({c[0]}, 9)" if c[1] == "DOUBLE" else c[0] for c in columns if c[0] not in ignore)


def differences(conn: duckdb.DuckDBPyConnection, table: str, other: str, ignore: tuple[str, ...] = ()) -> int:
    """Rows in one and not the other (as multisets), both ways, over every column but `ignore`; energies to 1e-9
    kWh (a sum's last bits depend on the order its threads add in)."""
    listed = _listed(conn, table, ignore)
    return conn.execute(
        f"SELECT (SELECT count(*) FROM (SELECT {listed} FROM warehouse.main.{table} "
        f"EXCEPT ALL SELECT {listed} FROM {other})) + "
        f"(SELECT count(*) FROM (SELECT {listed} FROM {other} EXCEPT ALL SELECT {listed} FROM warehouse.main.{table}))"
    ).fetchone()[0]


def some_differences(conn: duckdb.DuckDBPyConnection, table: str, other: str, ignore: tuple[str, ...] = ()) -> str:
    """A few rows of each side that the other lacks, to say what differs."""
    listed = _listed(conn, table, ignore)
    mine = conn.execute(
        f"SELECT {listed} FROM warehouse.main.{table} EXCEPT ALL SELECT {listed} FROM {other} LIMIT 3"
    ).fetchall()
    theirs = conn.execute(
        f"SELECT {listed} FROM {other} EXCEPT ALL SELECT {listed} FROM warehouse.main.{table} LIMIT 3"
    ).fetchall()
    return f"{table} ({listed}):\n  here only: {mine}\n  there only: {theirs}"


def assert_equals_embedded(
    conn: duckdb.DuckDBPyConnection,
    embedded: Path,
    ignore: tuple[str, ...] = (),
    ignore_in: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, int]:
    """Every mart of the DuckLake warehouse on `conn` equals the embedded warehouse's, row for row (but the columns
    `ignore`, and those `ignore_in` names for a table); {table: rows}."""
    conn.execute(f"ATTACH IF NOT EXISTS '{embedded / 'warehouse.duckdb'}' AS embedded (READ_ONLY)")
    rows = {}
    for table in TABLES:
        rows[table] = conn.execute(f"SELECT count(*) FROM warehouse.main.{table}").fetchone()[0]
        assert rows[table] == conn.execute(f"SELECT count(*) FROM embedded.main.{table}").fetchone()[0], table
        skipped = ignore + (ignore_in or {}).get(table, ())
        other = f"embedded.main.{table}"
        assert differences(conn, table, other, skipped) == 0, some_differences(conn, table, other, skipped)
    assert rows["device_samples"] > 1000
    return rows
