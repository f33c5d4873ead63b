"""Extensions come from the pinned wheels, with DuckDB's implicit installing and autoloading off, and load on a
machine without any network (pipelines/core/duckdb_ext.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.core import duckdb_ext
from tests.cli import duckdb_csv

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter (nothing loaded yet) with no usable network: an empty extension directory and the
# extension repository on a closed loopback port, so any install or download attempt fails; inside a network
# namespace without interfaces where the machine allows one (root on Linux).
OFFLINE_PROBE = r"""
import json, sys
from pipelines.core import duckdb_ext
ext_dir, lake_dir = sys.argv[1], sys.argv[2]
conn = duckdb_ext.connect(extensions=duckdb_ext.DUCKLAKE,
                          config={"extension_directory": ext_dir, "custom_extension_repository": "http://127.0.0.1:9"})
out = {"loaded": sorted(r[0] for r in conn.execute(
    "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND install_mode <> 'STATICALLY_LINKED'").fetchall())}
out["settings"] = conn.execute("SELECT current_setting('autoinstall_known_extensions'), "
                               "current_setting('autoload_known_extensions')").fetchone()
# ducklake: a catalog (a DuckDB file here) with its data files, written and read back
conn.execute(f"ATTACH 'ducklake:{lake_dir}/meta.ducklake' AS lake (DATA_PATH '{lake_dir}/data/')")
conn.execute("CREATE TABLE lake.t AS SELECT range AS i FROM range(5)")
out["ducklake_sum"] = conn.execute("SELECT sum(i) FROM lake.t").fetchone()[0]
out["ducklake_snapshots"] = conn.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0]
# httpfs: an S3 secret type exists, and an http URL is fetched by httpfs (refused, not 'missing extension')
conn.execute("CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v', ENDPOINT '127.0.0.1:9', URL_STYLE 'path', "
             "USE_SSL false)")
try:
    conn.execute("SELECT * FROM read_parquet('http://127.0.0.1:9/x.parquet')")
except duckdb.Error as error:
    out["http_error"] = f"{type(error).__name__}: {error}"
# postgres_scanner: its functions exist
out["postgres_functions"] = sorted(r[0] for r in conn.execute(
    "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name IN ('postgres_query', 'postgres_scan')"
).fetchall())
print(json.dumps(out))
"""


def _offline_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def test_extensions_load_offline_from_the_wheels(tmp_path):
    ext_dir = tmp_path / "no-extensions-here"
    ext_dir.mkdir()
    done = subprocess.run(
        [*_offline_prefix(), sys.executable, "-c", "import duckdb\n" + OFFLINE_PROBE, str(ext_dir), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded"] == ["ducklake", "httpfs", "postgres_scanner"]
    assert out["settings"] == [False, False]
    assert out["ducklake_sum"] == 10 and out["ducklake_snapshots"] >= 2
    assert "HTTP" in out["http_error"] or "IO" in out["http_error"], out["http_error"]
    assert "extension" not in out["http_error"].lower(), out["http_error"]
    assert out["postgres_functions"] == ["postgres_query", "postgres_scan"]
    assert list(ext_dir.iterdir()) == []  # nothing was installed


def test_nothing_is_autoloaded_or_downloaded():
    """Without the extension loaded here, a query that needs it fails at once, naming it: no implicit install."""
    with duckdb_ext.connect() as conn:
        with pytest.raises(duckdb.Error, match="httpfs"):
            conn.execute("SELECT * FROM read_parquet('s3://bucket/x.parquet')")
        assert (
            conn.execute(
                "SELECT count(*) FROM duckdb_extensions() WHERE extension_name = 'httpfs' AND loaded"
            ).fetchone()[0]
            == 0
        )


def test_load_is_idempotent_and_accepts_the_alias():
    with duckdb_ext.connect(extensions=["postgres"]) as conn:
        duckdb_ext.load(conn, ["postgres_scanner", "postgres"])
        assert conn.execute(
            "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'postgres_scanner'"
        ).fetchone()[0]


def test_a_missing_wheel_is_named():
    with pytest.raises(duckdb_ext.MissingExtensionError, match=rf"duckdb-extension-spatial=={duckdb.__version__}"):
        duckdb_ext.connect(extensions=["spatial"])


def test_a_wheel_for_another_duckdb_release_is_named(tmp_path, monkeypatch):
    package = tmp_path / "duckdb_extension_otherrelease"
    (package / "extensions" / "v1.4.4").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "extensions" / "v1.4.4" / "otherrelease.duckdb_extension").write_bytes(b"")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(duckdb_ext.MissingExtensionError, match=r"for DuckDB v1\.4\.4 but DuckDB is v"):
        duckdb_ext.extension_path("otherrelease")


def test_the_cli_gets_the_same_statements(tmp_path):
    """`python -m pipelines.core.duckdb_ext` prints an init script with which the duckdb CLI loads the wheels."""
    init = subprocess.run(
        [sys.executable, "-m", "pipelines.core.duckdb_ext"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    (tmp_path / "init.sql").write_text(init)
    out = duckdb_csv(
        "-init",
        str(tmp_path / "init.sql"),
        "-c",
        "SELECT string_agg(extension_name, ' ' ORDER BY extension_name) FROM duckdb_extensions() "
        "WHERE loaded AND install_mode <> 'STATICALLY_LINKED'",
    )
    assert out.strip().splitlines()[-1] == "ducklake httpfs postgres_scanner"
