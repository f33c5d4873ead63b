"""Staging: the raw API responses of a day parsed into typed rows, one Parquet file per table and day.

Each staging table is one SQL file in `sql/staging/`, run by DuckDB (in memory) over the day's raw lake
files, and written to `lake/staging/<table>/date=D/data.parquet` (written beside, then renamed: a
re-materialisation replaces the day). The marts read these files; they never parse JSON themselves.

Only responses with HTTP 200 and an API code of 0 or 200 are data; the others stay in the raw layer
(for instance secData's code 10021 for a plant without a load monitor) and give no rows.
"""



import functools
import time
from dataclasses import dataclass
from datetime import date

import dagster as dg
import duckdb
import pyarrow as pa

from pipelines import lake as lakefiles
from pipelines import warehouse as wh
from pipelines.partitions import daily_partitions, days_of
from pipelines.resources import LakeResource


@dataclass(frozen=True)
class StagingTable:
    name: str
    raw: tuple[str, ...]  # raw assets of the same day
    staged: tuple[str, ...] = ()  # staging tables it joins (the same day's, or the latest earlier one)
    description: str = ""


STAGING_TABLES = {
    t.name: t
    for t in [
        StagingTable(
            "stg_plants",
            raw=("raw_plants",),
            description="One row per plant and day from plant/details: name, plant type (0 grid-tied, 1 storage, "
            "3 AC-coupled), IANA time zone, country, system power (kWp), whether a load monitor is installed.",
        ),
        StagingTable(
            "stg_devices",
            raw=("raw_devices",),
            description="One row per device and day from plant/getPlantAllDeviceList: inverters with their type "
            "(0 grid-tied, 1 storage, 2 AC-coupled) and model, and load monitors.",
        ),
        StagingTable(
            "stg_device_samples",
            raw=("raw_upload_data",),
            staged=("stg_plants",),
            description="One row per device and 5-minute sample from device/uploadData (timeUnit 0): powers in W, "
            "battery SOC in % (-1 → NULL), the plant-local stamp as sent and its UTC instant (the repeated hour "
            "of the day daylight-saving time ends resolved by the order of the samples). Duplicates removed.",
        ),
        StagingTable(
            "stg_device_day_totals",
            raw=("raw_upload_data",),
            description="One row per device and day: the device's own day totals from device/uploadData "
            "(timeUnit 1) in kWh: PV, and for storage devices load, grid buy and sell.",
        ),
        StagingTable(
            "stg_load_monitor_samples",
            raw=("raw_sec_data",),
            staged=("stg_plants",),
            description="One row per plant, load monitor and 5-minute sample from device/secData: PV, load, "
            "self-use, grid buy and sell in W, with the UTC instant.",
        ),
        StagingTable(
            "stg_plant_statistics",
            raw=("raw_plant_statistics",),
            description="One row per plant and day from plant/getPlantStatisticsData: the portal's today/month/"
            "year/total counters as kWh numbers (\"\" → NULL).",
        ),
        StagingTable(
            "stg_alarms",
            raw=("raw_alarms",),
            staged=("stg_devices", "stg_plants"),
            description="One row per alarm occurrence (alarmID) observed that day in device/getDeviceAlarmList, "
            "with its code from device/alarmList, start and end in UTC, open/closed.",
        ),
    ]
}


def _connect() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    wh.prepare(conn)
    return conn


@functools.cache
def empty_schema(table: str) -> pa.Schema:
    """The schema of a staging table, from running its SQL over empty inputs (for days without a file)."""
    spec = STAGING_TABLES[table]
    conn = _connect()
    try:
        for raw in spec.raw:
            wh.load_table(conn, raw, [], lakefiles.RAW_SCHEMA)
        for staged in spec.staged:
            wh.load_table(conn, staged, [], empty_schema(staged))
        return wh.query_arrow(conn, f"staging/{table}.sql", {"day": date(2000, 1, 1)}).schema
    finally:
        conn.close()


def build_staging_day(root, table: str, day: date) -> pa.Table:
    """Parse one day of a staging table from the lake and write its Parquet file. Returns the rows."""
    spec = STAGING_TABLES[table]
    conn = _connect()
    try:
        for raw in spec.raw:
            wh.load_table(conn, raw, wh.existing_paths(root, "raw", raw, [day]), lakefiles.RAW_SCHEMA)
        for staged in spec.staged:
            latest = wh.latest_path_at_or_before(root, "staging", staged, day)
            wh.load_table(conn, staged, [latest] if latest else [], empty_schema(staged))
        result = wh.query_arrow(conn, f"staging/{table}.sql", {"day": day})
    finally:
        conn.close()
    lakefiles.write_partition(root, "staging", table, day, result)
    return result


def _staging_asset(spec: StagingTable) -> dg.AssetsDefinition:
    @dg.asset(
        name=spec.name,
        group_name="staging",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"parquet", "duckdb"},
        deps=[dg.AssetKey(r) for r in spec.raw] + [dg.AssetKey(s) for s in spec.staged],
        description=spec.description
        + f"\n\nSQL: sql/staging/{spec.name}.sql. Lake: lake/staging/{spec.name}/date=YYYY-MM-DD/data.parquet.",
        tags={"layer": "staging"},
        owners=["team:solar-data"],
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        started = time.monotonic()
        days = days_of(context)
        rows_per_day: dict[str, int] = {}
        schema = None
        missing_raw = []
        for day in days:
            for raw in spec.raw:
                if not lakefiles.partition_path(lake.root, "raw", raw, day).exists():
                    missing_raw.append(f"{raw} {day}")
            result = build_staging_day(lake.root, spec.name, day)
            rows_per_day[day.isoformat()] = result.num_rows
            schema = result
        if missing_raw:
            context.log.warning(f"{spec.name}: no raw file for {', '.join(missing_raw)}; those days are empty")
        total = sum(rows_per_day.values())
        context.log.info(f"{spec.name}: {total} rows for {len(days)} day(s)")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": total,
                "dagster/column_schema": wh.arrow_schema_metadata(schema),
                "rows_per_day": dg.MetadataValue.json(rows_per_day),
                "days": len(days),
                "missing_raw": len(missing_raw),
                "seconds": round(time.monotonic() - started, 3),
                "path": dg.MetadataValue.path(
                    str(lakefiles.partition_path(lake.root, "staging", spec.name, days[-1]).parent.parent)
                ),
            }
        )

    return _asset


staging_assets = [_staging_asset(spec) for spec in STAGING_TABLES.values()]
