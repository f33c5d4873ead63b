"""Running the model SQL files: inputs as temporary tables, one transaction per file, metadata back.

The SQL lives in `sql/` (one file per model: `staging/<vendor>/`, `conformed/<vendor>/`, `marts/`; the
macros every file may use in `sql/macros/`). Values reach it only as bound parameters (`$day`, `$days`,
...) and inputs only as temporary tables loaded from lake files whose paths are built by
`pipelines.core.lake` (never from text an API sent), so nothing from a response is ever part of SQL text.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
MACROS = "macros"

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_TABLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# The column groups several marts carry, written once: in a CREATE TABLE, a line `-- @columns <group>` stands
# for the group's columns, each `<name> DOUBLE,` in this order, so the tables that hold the same energies
# declare them with the same names, order and type (check_shape reads the expanded statement too).
ENERGIES = ("pv_kwh", "load_kwh", "grid_import_kwh", "grid_export_kwh", "battery_charge_kwh", "battery_discharge_kwh")
FLOWS = (
    "pv_to_load_kwh",
    "pv_to_battery_kwh",
    "pv_to_grid_kwh",
    "grid_to_load_kwh",
    "grid_to_battery_kwh",
    "battery_to_load_kwh",
    "battery_to_grid_kwh",
)
COLUMN_GROUPS = {"energies": ENERGIES, "flows": FLOWS}
_COLUMNS = re.compile(r"^(\s*)-- @columns ([a-z_]+)\s*$")


def _expand(line: str) -> list[str]:
    """A `-- @columns <group>` line as the group's column definitions (an unknown group is an error, not a
    comment: the table would silently lack its columns); any other line as it is."""
    match = _COLUMNS.match(line)
    if not match:
        return [line]
    indent, group = match.groups()
    if group not in COLUMN_GROUPS:
        raise KeyError(f"unknown column group {group!r} (known: {sorted(COLUMN_GROUPS)})")
    return [f"{indent}{name} DOUBLE," for name in COLUMN_GROUPS[group]]


def sql_statements(relpath: str) -> list[str]:
    """The statements of a SQL file (split on `;` at the end of a line; `-- @columns` groups expanded, other
    comments stripped)."""
    path = (SQL_DIR / relpath).resolve()
    if SQL_DIR not in path.parents:
        raise ValueError(f"not a model SQL file: {relpath!r}")
    lines = [x for line in path.read_text().splitlines() for x in _expand(line) if not x.lstrip().startswith("--")]
    statements = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [s.strip() for s in statements if s.strip()]


def _bind(statement: str, params: Mapping[str, object]) -> dict[str, object]:
    names = set(_PARAM.findall(statement))
    missing = names - params.keys()
    if missing:
        raise KeyError(f"SQL parameter(s) not given: {sorted(missing)}")
    return {name: params[name] for name in names}


def execute_statements(conn: duckdb.DuckDBPyConnection, statements: Iterable[str], params: Mapping[str, object]):
    for statement in statements:
        conn.execute(statement, _bind(statement, params)).fetchall()


_CREATE = re.compile(r"^CREATE TABLE IF NOT EXISTS ([a-z][a-z0-9_]*)\s*\(", re.IGNORECASE)


class WarehouseShapeError(RuntimeError):
    """A warehouse table was built by another version of its model: it cannot take the new rows."""


def _columns(conn: duckdb.DuckDBPyConnection, table: str, temp: bool = False) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_catalog = CASE WHEN $temp THEN 'temp' ELSE current_database() END AND table_name = $t "
        "ORDER BY ordinal_position",
        {"t": table, "temp": temp},
    ).fetchall()


def check_shape(conn: duckdb.DuckDBPyConnection, relpath: str) -> None:
    """Refuse, saying what to do, to add rows to a table another version of its model created (a release that
    added columns): the model's CREATE TABLE, made as a temporary table, must have the table's columns."""
    for statement in sql_statements(relpath):
        match = _CREATE.match(statement)
        if not match:
            continue
        table = match.group(1)
        existing = _columns(conn, table)
        if not existing:
            return
        conn.execute(_CREATE.sub(f"CREATE OR REPLACE TEMP TABLE _shape_{table} (", statement, count=1))
        wanted = _columns(conn, f"_shape_{table}", temp=True)
        conn.execute(f"DROP TABLE temp._shape_{table}")
        if existing != wanted:
            missing = [c for c, _ in wanted if c not in {e for e, _ in existing}]
            raise WarehouseShapeError(
                f"The warehouse table {table} was built by another version of {relpath}"
                + (f" (it lacks {', '.join(missing)})" if missing else " (its columns differ)")
                + f". The warehouse is derived from the lake: drop the table (DROP TABLE {table}), or delete the "
                "warehouse file, and re-materialise its days (a backfill of the marts; no API call is made)."
            )


def run_sql_file(
    conn: duckdb.DuckDBPyConnection, relpath: str, params: Mapping[str, object] | None = None
) -> dict[str, object]:
    """Run every statement of a SQL file inside one transaction (all or nothing).

    Returns metadata: the file and the seconds it took.
    """
    params = dict(params or {})
    started = time.monotonic()
    check_shape(conn, relpath)
    conn.execute("BEGIN TRANSACTION")
    try:
        execute_statements(conn, sql_statements(relpath), params)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    # outside the try: a COMMIT that fails (DuckLake: a conflict with another writer) has ended the transaction
    # itself, and its error is the one to see
    conn.execute("COMMIT")
    return {"sql": relpath, "seconds": round(time.monotonic() - started, 3)}


def query_arrow(conn: duckdb.DuckDBPyConnection, relpath: str, params: Mapping[str, object] | None = None) -> pa.Table:
    """The result of a SQL file whose last statement is a query, as an Arrow table."""
    statements = sql_statements(relpath)
    params = dict(params or {})
    execute_statements(conn, statements[:-1], params)
    with warnings.catch_warnings():  # the extra copy of a day's rows is cheap
        warnings.simplefilter("ignore", UserWarning)
        return conn.execute(statements[-1], _bind(statements[-1], params)).to_arrow_table()


def prepare(conn: duckdb.DuckDBPyConnection) -> None:
    """Session settings and the shared macros every model SQL may use (`sql/macros/*.sql`, in name order)."""
    conn.execute("SET TimeZone = 'UTC'")
    for path in sorted((SQL_DIR / MACROS).glob("*.sql")):
        execute_statements(conn, sql_statements(f"{MACROS}/{path.name}"), {})


def drop_input(conn: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the temporary input `name`, a table or a view (see `load_table`)."""
    if not _TABLE.fullmatch(name):
        raise ValueError(f"not a table name: {name!r}")
    kind = conn.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = 'temp' AND table_name = $n", {"n": name}
    ).fetchone()
    if kind is not None:
        conn.execute(f"DROP {'VIEW' if kind[0] == 'VIEW' else 'TABLE'} temp.{name}")


_READ_OPTIONS = "union_by_name = true, hive_partitioning = false"


def load_table(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    paths: Sequence[Path | str],
    empty: pa.Schema | pa.Table,
    lazy: bool = False,
) -> int | None:
    """(Re)create the temporary table `name` from Parquet files; from `empty` (a schema) if there is none.
    The files' columns only: the lake's `vendor=`/`date=` folders are not read as columns (hive partitioning).

    lazy=True makes it a temporary view over the files instead (returns None: nothing is counted): a model
    then reads only the columns and days it needs, straight from Parquet, and a year of samples is never
    copied into memory first (the marts' rebuilds).
    """
    drop_input(conn, name)
    if paths and lazy:
        listing = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)  # paths built by pipelines.core.lake
        conn.execute(f"CREATE TEMP VIEW {name} AS SELECT * FROM read_parquet([{listing}], {_READ_OPTIONS})")
        return None
    if paths:
        conn.execute(
            f"CREATE TEMP TABLE {name} AS SELECT * FROM read_parquet($paths, {_READ_OPTIONS})",
            {"paths": [str(p) for p in paths]},
        )
    else:
        schema = empty.schema if isinstance(empty, pa.Table) else empty
        conn.register("_empty_input", schema.empty_table())
        try:
            conn.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM _empty_input")
        finally:
            conn.unregister("_empty_input")
    return conn.execute(f"SELECT count(*) FROM temp.{name}").fetchone()[0]


def table_schema(conn: duckdb.DuckDBPyConnection, table: str) -> dg.TableSchema:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t "
        "AND table_schema = 'main' AND table_catalog = current_database() ORDER BY ordinal_position",
        {"t": table},
    ).fetchall()
    return dg.TableSchema(columns=[dg.TableColumn(name=n, type=t) for n, t in rows])


def arrow_schema_metadata(table: pa.Table | pa.Schema) -> dg.TableSchema:
    schema = table if isinstance(table, pa.Schema) else table.schema
    return dg.TableSchema(columns=[dg.TableColumn(name=f.name, type=str(f.type)) for f in schema])


def count_rows(
    conn: duckdb.DuckDBPyConnection, table: str, where: str = "", params: Mapping[str, object] | None = None
) -> int:
    if not _TABLE.fullmatch(table):
        raise ValueError(f"not a table name: {table!r}")
    sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
    return conn.execute(sql, dict(params or {})).fetchone()[0]
