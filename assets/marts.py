"""Marts: the public tables of the warehouse, for every vendor: the DuckDB file `$FLEET_DATA_DIR/warehouse.duckdb`,
or the DuckLake catalog `FLEET_WAREHOUSE` names (the same SQL on both: docs/deploy.md).

Each table is built by one SQL file in `sql/marts/` which reads only the conformed layer (and other marts)
and, in one transaction, deletes the partition's rows and inserts them again (alarm_history: upserts by
(vendor, alarm id)), so re-running a day or a range gives the same tables. Every table has a `vendor` column
and is keyed by (vendor, plant_id) or (vendor, device_sn). Every asset here writes the warehouse, so each is in a
concurrency pool of limit 1 (`pipelines.core.resources.warehouse_pool`): with the DuckDB file the one pool
`warehouse` (one writer process), with DuckLake one pool per table (`warehouse_<table>`), and holds its
connection only while its SQL runs.

Units: energies in kWh, powers in W. A sample stamped T stands for [T, T + interval_s): its energy is what
the conformed layer gives (SAJ: power × 5 min); a missing sample is a gap, not energy. Hours are
plant-local, keyed by `hour_utc`, so days of
23 and 25 hours (daylight-saving time) give 23 and 25 rows.

Definitions (README, "Definitions"): each measured interval is split into energy flows; self_consumption_rate
= (pv_to_load + pv_to_battery) / pv, self_sufficiency_rate = (pv_to_load + battery_to_load) / load, in [0, 1]
on any day; NULL where the denominator is zero or unknown.
"""

import time
from dataclasses import dataclass

import dagster as dg

from assets.checks import check_specs, checks_of, run_check
from assets.conformed import conformed_schema
from assets.vendors import VENDOR_MODELS
from pipelines import charts
from pipelines.core import warehouse as wh
from pipelines.core.partitions import backfill_policy, daily_partitions, days_of
from pipelines.core.resources import LakeResource, WarehouseResource, warehouse_pool


@dataclass(frozen=True)
class Mart:
    name: str
    conformed: tuple[str, ...]  # conformed tables read for the partition's days (as temp views conformed_<name>)
    deps: tuple[str, ...]  # upstream marts
    description: str
    day_column: str | None = "day"

    @property
    def upstream(self) -> list[dg.AssetKey]:
        """The conformed tables and marts it reads, and the tables its checks compare it with."""
        needs = {t for c in checks_of(self.name) for t in c.needs}
        marts = sorted(set(self.deps) | needs)
        return [dg.AssetKey(["conformed", c]) for c in self.conformed] + [dg.AssetKey(d) for d in marts]


MARTS = [
    Mart(
        "plants",
        conformed=("plants",),
        deps=(),
        description="One row per (vendor, plant): vendor, plant_id, plant_name, time_zone (IANA), country, "
        "system_power_kwp (kWp), has_load_monitor, plant_type (0 grid-tied, 1 storage, 3 AC-coupled); the latest "
        "details seen.",
        day_column="last_seen_day",
    ),
    Mart(
        "devices",
        conformed=("devices",),
        deps=(),
        description="One row per (vendor, inverter): vendor, device_sn, plant_id, device_type (0 grid-tied, "
        "1 storage, 2 AC-coupled storage), device_model, pv_scope, has_battery; the latest seen.",
        day_column="last_seen_day",
    ),
    Mart(
        "device_samples",
        conformed=("samples",),
        deps=(),
        description="One row per inverter sample (vendor, device_sn, ts_utc), standing for interval_s seconds: "
        "ts_local (plant-local, as sent), ts_utc, pv_w, load_w, grid_import_w, grid_export_w, battery_charge_w, "
        "battery_discharge_w (W), battery_soc_pct (%). "
        "Grid-tied (type 0) inverters report only PV: their other columns are NULL.",
    ),
    Mart(
        "device_energy_hourly",
        conformed=("samples",),
        deps=(),
        description="Per (vendor, inverter) and plant-local hour (keyed by hour_utc): pv, load, grid import/export "
        "and battery charge/discharge energy in kWh, and the number of readable samples.",
    ),
    Mart(
        "plant_energy_hourly",
        conformed=("samples",),
        deps=(),
        description="Per (vendor, plant) and plant-local hour (keyed by hour_utc), kWh: from the load monitor where "
        "the plant has one (battery from its storage inverter), otherwise from its inverters. Where an inverter's PV "
        "meter stands for the whole plant (AC-coupled storage), the plant's PV is that meter's. Plants whose "
        "inverters measure only PV know only PV: load and grid are NULL. self_consumed = pv − grid_export.",
    ),
    Mart(
        "self_consumption_daily",
        conformed=("plants", "devices", "plant_day_totals", "device_day_totals"),
        deps=("plant_energy_hourly",),
        description="Per (vendor, plant) and local day: energies (kWh), the energy flows, self_consumption_rate = "
        "(pv_to_load + pv_to_battery) / pv and self_sufficiency_rate = (pv_to_load + battery_to_load) / load (NULL "
        "where the denominator is zero or unknown), and how much was measured: coverage, and energy_basis "
        "('samples'; 'counters' where the vendor's own day counters fill a gap; 'incomplete').",
    ),
    Mart(
        "self_consumption_monthly",
        conformed=(),
        deps=("self_consumption_daily",),
        description="Per (vendor, plant) and month: the daily table summed; each rate from the days that have both "
        "its numerator and its denominator (rated_days_pv, rated_days_load), the days counted by energy_basis; "
        "rebuilt for every month the partition's days touch.",
        day_column=None,
    ),
    Mart(
        "plant_statistics_daily",
        conformed=("plant_day_totals",),
        deps=(),
        description="Per (vendor, plant) and local day: the vendor portal's counters (SAJ: getPlantStatisticsData; "
        "today*, month*, year*, total* energies in kWh) to reconcile the models against.",
    ),
    Mart(
        "device_day_totals",
        conformed=("device_day_totals",),
        deps=(),
        description="Per (vendor, device) and local day: the device's own day counters (SAJ: uploadData timeUnit 1) "
        "in kWh: PV, and for storage inverters load, grid buy and sell. Used by the reconciliation checks.",
    ),
    Mart(
        "alarm_history",
        conformed=("alarms",),
        deps=(),
        description="One row per alarm occurrence across all days, keyed by (vendor, alarm_id): device_sn, plant_id, "
        "alarm_code, alarm_name, alarm_level, started_at and ended_at (UTC; ended_at NULL while open), status "
        "'open'/'closed', duration_minutes. An alarm open on one day and closed on a later one is one row.",
        day_column="last_seen_day",
    ),
]


def build_mart(conn, lake, mart: Mart, days) -> dict:
    """Load the conformed inputs of `days` as temporary views and run the mart's SQL in one transaction."""
    wh.prepare(conn)
    lake.prepare(conn)
    loaded = {}
    for table in mart.conformed:
        paths = lake.uris(lake.conformed_files(table, days))
        wh.load_table(conn, f"conformed_{table}", paths, conformed_schema(VENDOR_MODELS, table), lazy=True)
        loaded[table] = len(paths)  # input files (a view over them: rows are not counted up front)
    run = wh.run_sql_file(conn, f"marts/{mart.name}.sql", {"days": list(days)})
    for table in mart.conformed:
        wh.drop_input(conn, f"conformed_{table}")
    return {"input_files": loaded, **run}


def _mart_asset(mart: Mart) -> dg.AssetsDefinition:
    @dg.asset(
        name=mart.name,
        group_name="marts",
        partitions_def=daily_partitions,
        backfill_policy=backfill_policy(),
        kinds={"duckdb"},
        pool=warehouse_pool(mart.name),
        deps=mart.upstream,
        check_specs=check_specs(mart.name),
        description=mart.description + f"\n\nSQL: sql/marts/{mart.name}.sql. Table: warehouse.duckdb main.{mart.name}.",
        tags={"layer": "marts"},
        owners=["team:solar-data"],
    )
    def _asset(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        started = time.monotonic()
        days = days_of(context)
        with warehouse.get_connection() as conn:
            run = build_mart(conn, lake.lake, mart, days)
            if mart.day_column:
                partition_rows = wh.count_rows(
                    conn, mart.name, f"list_contains($days, {mart.day_column})", {"days": days}
                )
            else:
                partition_rows = wh.count_rows(
                    conn,
                    mart.name,
                    "list_contains(list_transform($days, lambda d: CAST(date_trunc('month', d) AS DATE)), month)",
                    {"days": days},
                )
            total_rows = wh.count_rows(conn, mart.name)
            schema = wh.table_schema(conn, mart.name)
            # The UI's story of the day: a chart and a preview of the partition's last day, fleet totals to plot.
            day_view = charts.day_metadata(conn, days[-1]) if mart.name == "plant_energy_hourly" else {}
            checks = [run_check(conn, c) for c in checks_of(mart.name)]
        context.log.info(f"{mart.name}: {partition_rows} rows for {len(days)} day(s); {total_rows} in the table")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": partition_rows,
                "table_rows": total_rows,
                "dagster/column_schema": schema,
                "rows_in_partition": partition_rows,
                "input_files": dg.MetadataValue.json(run["input_files"]),
                "days": len(days),
                "first_day": days[0].isoformat(),
                "last_day": days[-1].isoformat(),
                "seconds": round(time.monotonic() - started, 3),
                "sql": run["sql"],
                **day_view,
            },
            check_results=checks,
        )

    return _asset


mart_assets = [_mart_asset(m) for m in MARTS]
