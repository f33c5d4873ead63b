"""The DuckDB CLI the environment installs (duckdb-cli, same release as the Python package) opens a warehouse file
that the Python package wrote: the analyst's way in (README, "The warehouse")."""

from __future__ import annotations

import subprocess
from datetime import date

import duckdb

from assets.marts import MARTS, build_mart
from tests.cli import DUCKDB_SHELL, duckdb_csv
from tests.support import lake_of


def test_the_cli_opens_a_warehouse_written_by_the_python_package(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as conn:
        for mart in MARTS:  # every mart table, created by the project's own SQL over empty inputs
            build_mart(conn, lake_of(tmp_path), mart, [date(2025, 6, 17)])
        conn.execute(
            "INSERT INTO plants (plant_id, plant_name, time_zone, last_seen_day, updated_at) VALUES "
            "('p1', 'Berlin roof', 'Europe/Berlin', DATE '2025-06-17', TIMESTAMPTZ '2025-06-17 10:00:00+00')"
        )
    version = subprocess.run([str(DUCKDB_SHELL), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith(f"v{duckdb.__version__} "), (version, duckdb.__version__)
    out = duckdb_csv(
        "-readonly",
        str(path),
        "-c",
        "SET TimeZone = 'UTC'; SELECT count(*) FROM duckdb_tables(); "
        "SELECT plant_id, plant_name, last_seen_day, updated_at FROM plants",
    )
    assert out.split() == [str(len(MARTS)), "p1,Berlin", "roof,2025-06-17,2025-06-17", "10:00:00+00"]
