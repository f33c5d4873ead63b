"""DuckDB extensions from the installed wheels, never from the network.

Every DuckDB connection of the project that needs an extension (httpfs for an S3 lake, ducklake and
postgres_scanner for a DuckLake warehouse) gets it here. The guarantees:

- Nothing is downloaded at run time. The extension binaries come from the PyPI wheels pinned beside
  DuckDB (`duckdb-extension-<name>`, same version as `duckdb`), which ship them at
  `duckdb_extension_<name>/extensions/v<duckdb version>/<name>.duckdb_extension`; they are `LOAD`ed from
  that file. Machines without access to DuckDB's extension repository (CI, air-gapped plants, hardened
  workers) behave exactly like a developer's laptop.
- DuckDB's implicit extension handling is off on these connections (`autoinstall_known_extensions` and
  `autoload_known_extensions` false, set at connect time in `CONFIG`), so a query that needs an extension
  that was not loaded here fails at once, naming it, instead of reaching out to the network.
- A missing or mismatched wheel is a `MissingExtensionError` that names the exact package to install.

The DuckDB CLI (`duckdb-cli`, same version) can load the same files: `python -m pipelines.core.duckdb_ext`
prints the `LOAD` statements, e.g. for `duckdb -init`.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb

# Settings every connection of the project starts with. They can only take effect before the first
# query needs an extension, so they belong in duckdb.connect(config=...) (also DuckDBResource's
# connection_config); `load` sets them again on connections opened elsewhere.
CONFIG: dict[str, object] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

# What each deployment profile needs. postgres_scanner before ducklake: attaching `ducklake:postgres:...`
# needs the Postgres scanner, and with autoloading off DuckLake cannot pull it in by itself.
S3_LAKE = ("httpfs",)
DUCKLAKE = ("postgres_scanner", "httpfs", "ducklake")

# Names DuckDB accepts for the same extension (`LOAD postgres` is postgres_scanner).
_ALIASES = {"postgres": "postgres_scanner"}


class MissingExtensionError(RuntimeError):
    """An extension's wheel is not installed, or was built for another DuckDB release."""


def _canonical(name: str) -> str:
    name = _ALIASES.get(name, name)
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not an extension name: {name!r}")
    return name


def wheel_name(name: str) -> str:
    """The PyPI distribution that ships extension `name` for the installed DuckDB."""
    return f"duckdb-extension-{_canonical(name).replace('_', '-')}=={duckdb.__version__}"


def extension_path(name: str) -> Path:
    """The extension file of `name` inside its installed wheel; MissingExtensionError if there is none
    for this DuckDB release."""
    name = _canonical(name)
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtensionError(
            f"DuckDB extension {name!r} is not installed: install {wheel_name(name)} "
            "(it is pinned in requirements.lock; extensions are never downloaded at run time)"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    path = package / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        found = sorted(p.name for p in (package / "extensions").glob("v*")) or ["none"]
        raise MissingExtensionError(
            f"DuckDB extension {name!r} is installed for DuckDB {', '.join(found)} but DuckDB is "
            f"v{duckdb.__version__}: install {wheel_name(name)} (DuckDB and its extension wheels move together)"
        )
    return path


def _sql_literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def load(conn: duckdb.DuckDBPyConnection, names: Iterable[str]) -> duckdb.DuckDBPyConnection:
    """Switch implicit extension handling off on `conn` and load `names` from their wheels (those already
    loaded are skipped). Returns `conn`."""
    for setting, value in CONFIG.items():
        conn.execute(f"SET {setting} = {'true' if value else 'false'}")
    wanted = [_canonical(n) for n in names]
    loaded = {
        row[0]
        for row in conn.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND list_contains($names, extension_name)",
            {"names": wanted},
        ).fetchall()
    }
    for name in wanted:
        if name not in loaded:
            conn.execute(f"LOAD {_sql_literal(extension_path(name))}")
            loaded.add(name)
    return conn


def connect(
    database: str = ":memory:",
    extensions: Iterable[str] = (),
    read_only: bool = False,
    config: Mapping[str, object] | None = None,
) -> duckdb.DuckDBPyConnection:
    """duckdb.connect with implicit extension handling off and `extensions` loaded from their wheels."""
    conn = duckdb.connect(database, read_only=read_only, config={**(config or {}), **CONFIG})
    try:
        return load(conn, extensions)
    except BaseException:
        conn.close()
        raise


def load_statements(names: Iterable[str] = DUCKLAKE) -> str:
    """The SQL that gives a DuckDB CLI session the same extensions (e.g. for `duckdb -init FILE`)."""
    lines = [f"SET {k} = {'true' if v else 'false'};" for k, v in CONFIG.items()]
    lines += [f"LOAD {_sql_literal(extension_path(n))};" for n in names]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    try:
        sys.stdout.write(load_statements(sys.argv[1:] or DUCKLAKE))
    except MissingExtensionError as error:
        sys.exit(str(error))
