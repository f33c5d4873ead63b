"""Staging, for every vendor: a day's raw responses parsed into typed rows, one Parquet file per table and day.

Each staging table is one SQL file, `sql/staging/<vendor>/<table>.sql`, run by DuckDB (in memory) over the
day's raw lake files (every landing attempt of the day: the SQL takes the newest answer per request), and
written to `lake/staging/<vendor>/<table>/date=D/data.parquet` (written beside, then renamed: a
re-materialisation replaces the day). The conformed layer reads these files; nothing downstream parses JSON.
A vendor's own macros (`sql/staging/<vendor>/_macros.sql`) are loaded before its files. Besides `$day`, a
vendor may bind parameters of its own (`StagingSet(params=...)`, e.g. how its API writes times), and a table
may carry asset checks over the days just built (`StagingTable.checks`, queries in the form of
`assets.checks.Check` over the table by its name).

Two options serve vendors whose day cannot be read from its own raw day alone (SolaX: a sample's interval
starts at the previous poll, which may be the day before): `raw_days_around` also loads the raw days around
D, and `previous` loads the vendor's staging tables of the latest earlier day as `previous_<name>` (what was
still open then); absent, the SQL declares its empty shape itself (`CREATE TEMP TABLE IF NOT EXISTS`).
"""

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import dagster as dg
import duckdb
import pyarrow as pa

from assets.checks import Check, run_check
from pipelines.core import warehouse as wh
from pipelines.core.lake import RAW_SCHEMA, Lake
from pipelines.core.partitions import backfill_policy, daily_partitions, days_of
from pipelines.core.resources import LakeResource


@dataclass(frozen=True)
class StagingTable:
    vendor: str
    name: str
    raw: tuple[str, ...]  # the vendor's raw assets of the same day
    staged: tuple[str, ...] = ()  # the vendor's staging tables it joins (the same day's, or the latest earlier one)
    description: str = ""
    checks: tuple[Check, ...] = ()  # checks of the days just built; each query reads the table by its name
    raw_days_around: int = 0  # also the raw days D-n .. D+n (their rows keep their own partition_date)
    previous: tuple[str, ...] = ()  # staging tables of the latest earlier day, loaded as previous_<name> if any

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey([self.vendor, self.name])

    @property
    def sql(self) -> str:
        return f"staging/{self.vendor}/{self.name}.sql"


def connect(vendor: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the shared macros and the vendor's own."""
    conn = duckdb.connect()
    wh.prepare(conn)
    vendor_macros = wh.SQL_DIR / "staging" / vendor / "_macros.sql"
    if vendor_macros.exists():
        wh.execute_statements(conn, wh.sql_statements(f"staging/{vendor}/_macros.sql"), {})
    return conn


_SCHEMA_LOCK = threading.RLock()  # re-entrant: a table's schema needs the schemas of the tables it joins


@functools.cache
def _schema_connection(vendor: str) -> duckdb.DuckDBPyConnection:
    return connect(vendor)


@contextlib.contextmanager
def schema_session(vendor: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The vendor's in-memory session in which its tables' schemas are worked out over empty inputs, one per
    process, used by one thread at a time: starting a session (the macros) costs more than the queries, and a
    session per table made the schemas ~4 s of every run."""
    with _SCHEMA_LOCK:
        yield _schema_connection(vendor)


class StagingSet:
    """A vendor's staging tables, and how to build each for a day."""

    def __init__(self, tables: list[StagingTable], params: Callable[[], dict[str, object]] | None = None):
        self.tables = {t.name: t for t in tables}
        self._params = params  # the vendor's own bound parameters, read when a day is built

    def params(self, day: date) -> dict[str, object]:
        return {"day": day, **(self._params() if self._params else {})}

    @functools.cache  # noqa: B019 - one StagingSet per vendor, alive as long as the process
    def empty_schema(self, name: str) -> pa.Schema:
        """The schema of a staging table, from running its SQL over empty inputs (for days without a file)."""
        spec = self.tables[name]
        with schema_session(spec.vendor) as conn:
            for raw in spec.raw:
                wh.load_table(conn, raw, [], RAW_SCHEMA)
            for staged in spec.staged:
                wh.load_table(conn, staged, [], self.empty_schema(staged))
            return wh.query_arrow(conn, spec.sql, self.params(date(2000, 1, 1))).schema

    def build_day(self, lake: Lake, name: str, day: date) -> pa.Table:
        """Parse one day of a staging table from the lake and write its Parquet file. Returns the rows."""
        spec = self.tables[name]
        conn = connect(spec.vendor)
        try:
            lake.prepare(conn)
            n = spec.raw_days_around
            raw_days = [day + timedelta(days=k) for k in range(-n, n + 1)]
            for raw in spec.raw:
                lake.reading(
                    lambda raw=raw: lake.raw_files(spec.vendor, raw, raw_days),
                    lambda files, raw=raw: wh.load_table(conn, raw, lake.uris(files), RAW_SCHEMA),
                )
            for staged in spec.staged:
                latest = lake.latest_day_file("staging", spec.vendor, staged, day=day)
                wh.load_table(conn, staged, lake.uris([latest] if latest else []), self.empty_schema(staged))
            for earlier in spec.previous:
                latest = lake.latest_day_file("staging", spec.vendor, earlier, day=day - timedelta(days=1))
                if latest is not None:
                    wh.load_table(conn, f"previous_{earlier}", lake.uris([latest]), self.empty_schema(earlier))
            result = wh.query_arrow(conn, spec.sql, self.params(day))
        finally:
            conn.close()
        lake.write_file(lake.day_file("staging", spec.vendor, name, day=day), result)
        return result

    def check(self, spec: StagingTable, check: Check, days: list[pa.Table]) -> dg.AssetCheckResult:
        """Run `check` over the days just built of `spec` (loaded as the table `spec.name`)."""
        conn = connect(spec.vendor)
        try:
            conn.register("_built", pa.concat_tables(days, promote_options="default"))
            conn.execute(f"CREATE TABLE {spec.name} AS SELECT * FROM _built")  # a checked lower-case name
            return run_check(conn, check)
        finally:
            conn.close()

    def assets(self) -> list[dg.AssetsDefinition]:
        return [self._asset(spec) for spec in self.tables.values()]

    def _asset(self, spec: StagingTable) -> dg.AssetsDefinition:
        staging = self

        @dg.asset(
            key=spec.key,
            group_name=f"{spec.vendor}_staging",
            partitions_def=daily_partitions,
            backfill_policy=backfill_policy(),
            kinds={"parquet", "duckdb"},
            deps=[dg.AssetKey([spec.vendor, r]) for r in spec.raw]
            + [dg.AssetKey([spec.vendor, s]) for s in spec.staged],
            description=spec.description + f"\n\nSQL: sql/{spec.sql}. "
            f"Lake: lake/staging/{spec.vendor}/{spec.name}/date=YYYY-MM-DD/data.parquet.",
            tags={"layer": "staging", "vendor": spec.vendor},
            owners=["team:solar-data"],
            check_specs=[dg.AssetCheckSpec(c.name, asset=spec.key, description=c.description) for c in spec.checks],
        )
        def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
            started = time.monotonic()
            days = days_of(context)
            store = lake.lake
            rows_per_day: dict[str, int] = {}
            schema = None
            missing_raw = []
            built = []
            for day in days:
                missing_raw += [f"{raw} {day}" for raw in spec.raw if not store.raw_files(spec.vendor, raw, [day])]
                result = staging.build_day(store, spec.name, day)
                rows_per_day[day.isoformat()] = result.num_rows
                schema = result
                if spec.checks:
                    built.append(result)
            if missing_raw:
                context.log.warning(
                    f"{spec.vendor}/{spec.name}: no raw file for {', '.join(missing_raw)}; those days are empty"
                )
            total = sum(rows_per_day.values())
            context.log.info(f"{spec.vendor}/{spec.name}: {total} rows for {len(days)} day(s)")
            return dg.MaterializeResult(
                metadata={
                    "dagster/row_count": total,
                    "dagster/column_schema": wh.arrow_schema_metadata(schema),
                    "rows_per_day": dg.MetadataValue.json(rows_per_day),
                    "days": len(days),
                    "missing_raw": len(missing_raw),
                    "seconds": round(time.monotonic() - started, 3),
                    "path": dg.MetadataValue.path(store.uri(store.table_dir("staging", spec.vendor, spec.name))),
                },
                check_results=[staging.check(spec, check, built) for check in spec.checks],
            )

        return _asset
