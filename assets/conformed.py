"""The conformed layer: every vendor's staging mapped into one vendor-neutral shape, which the marts read.

One asset per conformed table. For each day of its partition window and each vendor, it runs the vendor's
mapping (`sql/conformed/<vendor>/<table>.sql`, over that vendor's staging tables of the day) and writes
`lake/conformed/<table>/vendor=<vendor>/date=D/data.parquet`. A vendor with no staging file for a day
writes nothing for it (and keeps what an earlier run wrote).

The contract every vendor's mapping meets (docs/architecture.md, "Adding a vendor"):

- plants: vendor, day, plant_id, plant_name, plant_uid, plant_type (0 grid-tied, 1 storage, 3 AC-coupled),
  time_zone (IANA), country, country_code, system_power_kwp, has_load_monitor, latitude, longitude, fetched_at;
- devices: vendor, day, device_sn, plant_id, device_kind ('inverter', 'load_monitor', ...), device_type
  (0 grid-tied, 1 storage/hybrid, 2 AC-coupled storage), device_model, pv_scope ('own': the device's own PV;
  'plant': its PV meter stands for the whole plant's), has_battery, fetched_at;
- samples: vendor, day, source ('device' or 'load_monitor'), plant_id, device_sn, device_type, ts_local,
  ts_utc (the start of the interval), interval_s (the interval the sample stands for), powers in W (pv_w,
  load_w, grid_import_w, grid_export_w, battery_charge_w, battery_discharge_w; NULL where the device does not
  measure the term), battery_soc_pct, the interval's energies in kWh (pv_kwh, ...), self_use_w,
  today_energy_kwh, pv_scope, has_battery, readable (every term the device measures could be read),
  fetched_at; no sample crosses a local hour;
- device_day_totals: the devices' own day counters (vendor, day, device_sn, plant_id, device_type, pv_kwh,
  load_kwh, grid_import_kwh, grid_export_kwh, self_consumption_kwh, fetched_at);
- plant_day_totals: the vendor portal's counters (vendor, day, plant_id, client_date, today_*, month_*,
  year_*, total_* energies, battery_soc_pct, fetched_at);
- alarms: one row per occurrence the vendor's alarm listing shows that day, for every device (vendor, day,
  alarm_id: the same for the occurrence on every day that shows it; vendor_alarm_id: the vendor's own id where
  known; device_sn, plant_id, alarm_code, alarm_name, alarm_level, alarm_level_name, alarm_state, status
  'open'/'closed', started_at, ended_at (NULL where the vendor has not said), updated_at, duration_minutes,
  reported_duration_minutes, observed_at); none that began after the day.
"""

import functools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import dagster as dg
import pyarrow as pa

from assets.staging import StagingSet, connect, schema_session
from pipelines.core import warehouse as wh
from pipelines.core.lake import Lake
from pipelines.core.partitions import backfill_policy, daily_partitions, days_of
from pipelines.core.resources import LakeResource

TABLES = {
    "plants": "One row per plant and day: its details, time zone and kind (0 grid-tied, 1 storage, 3 AC-coupled).",
    "devices": "One row per device and day: inverters with their role (device_type, pv_scope, has_battery) and "
    "load monitors.",
    "samples": "One row per measured interval of an inverter or a load monitor: powers (W) and the interval's "
    "energies (kWh), with the interval it stands for.",
    "device_day_totals": "One row per device and day: the device's own day counters (kWh).",
    "plant_day_totals": "One row per plant and day: the vendor portal's today/month/year/total counters (kWh).",
    "alarms": "One row per alarm occurrence observed that day.",
}


@dataclass(frozen=True, eq=False)  # hashed by identity: one per vendor, cached schemas keyed by it
class VendorModels:
    """What a vendor contributes to the conformed layer: its staging, and for each conformed table the staging
    tables its mapping reads."""

    name: str
    staging: StagingSet
    conformed: Mapping[str, tuple[str, ...]]

    def sql(self, table: str) -> str:
        return f"conformed/{self.name}/{table}.sql"


def _load_inputs(conn, lake: Lake | None, vendor: VendorModels, table: str, day: date) -> int:
    """Load the vendor's staging inputs of `table` for `day` (empty where absent); how many files exist."""
    found = 0
    for staged in vendor.conformed[table]:
        path = lake.day_file("staging", vendor.name, staged, day=day) if lake is not None else None
        paths = lake.uris(lake.existing([path])) if path is not None else []
        found += len(paths)
        wh.load_table(conn, staged, paths, vendor.staging.empty_schema(staged))
    return found


def build_day(lake: Lake, vendor: VendorModels, table: str, day: date) -> pa.Table | None:
    """Map one vendor's day into `table`; None (nothing written) when the vendor has no staging for the day."""
    conn = connect(vendor.name)
    try:
        lake.prepare(conn)
        if not _load_inputs(conn, lake, vendor, table, day):
            return None
        result = wh.query_arrow(conn, vendor.sql(table), {"day": day})
    finally:
        conn.close()
    lake.write_file(lake.conformed_file(table, vendor.name, day), result)
    return result


@functools.cache
def _schema(vendor: VendorModels, table: str) -> pa.Schema:
    with schema_session(vendor.name) as conn:
        _load_inputs(conn, None, vendor, table, date(2000, 1, 1))
        return wh.query_arrow(conn, vendor.sql(table), {"day": date(2000, 1, 1)}).schema


def conformed_schema(vendors: Iterable[VendorModels], table: str) -> pa.Schema:
    """The schema of a conformed table: every vendor's mapping must give exactly this one."""
    schemas = {v.name: _schema(v, table) for v in vendors if table in v.conformed}
    first = next(iter(schemas.values()))
    for name, schema in schemas.items():
        if not schema.equals(first):
            raise TypeError(
                f"sql/conformed/{name}/{table}.sql does not give the conformed schema of {table}:\n"
                f"{schema}\nexpected:\n{first}"
            )
    return first


def conformed_assets(vendors: list[VendorModels]) -> list[dg.AssetsDefinition]:
    return [_asset(table, description, vendors) for table, description in TABLES.items()]


def _asset(table: str, description: str, vendors: list[VendorModels]) -> dg.AssetsDefinition:
    contributing = [v for v in vendors if table in v.conformed]

    @dg.asset(
        key=dg.AssetKey(["conformed", table]),
        group_name="conformed",
        partitions_def=daily_partitions,
        backfill_policy=backfill_policy(),
        kinds={"parquet", "duckdb"},
        deps=[dg.AssetKey([v.name, s]) for v in contributing for s in v.conformed[table]],
        description=description + f"\n\nSQL: sql/conformed/<vendor>/{table}.sql. "
        f"Lake: lake/conformed/{table}/vendor=<vendor>/date=YYYY-MM-DD/data.parquet.",
        tags={"layer": "conformed"},
        owners=["team:solar-data"],
    )
    def _conformed(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        started = time.monotonic()
        days = days_of(context)
        store = lake.lake
        rows: dict[str, int] = {}
        for vendor in contributing:
            for day in days:
                result = build_day(store, vendor, table, day)
                if result is not None:
                    rows[vendor.name] = rows.get(vendor.name, 0) + result.num_rows
        context.log.info(
            f"conformed/{table}: {sum(rows.values())} rows for {len(days)} day(s) from {rows or 'no vendor'}"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": sum(rows.values()),
                "dagster/column_schema": wh.arrow_schema_metadata(conformed_schema(contributing, table)),
                "rows_per_vendor": dg.MetadataValue.json(rows),
                "days": len(days),
                "seconds": round(time.monotonic() - started, 3),
                "path": dg.MetadataValue.path(store.uri(store.root / "conformed" / table)),
            }
        )

    return _conformed
