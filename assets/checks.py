"""Asset checks on the warehouse marts (non-blocking): keys, ranges, reconciliation, energy balance.

Each check is a check spec of the table it checks and runs in the step that built it (assets/marts.py), with
the same connection: one query over the whole table that returns the offending rows; a failed check names
the plants (or devices) and days in its description and metadata. A check that reads another table
(`needs`) runs after that table is built: the mart depends on it. Reconciliations allow a relative
tolerance with a small absolute floor, since the vendors round their counters to 0.01 kWh.
"""

from dataclasses import dataclass

import dagster as dg

from pipelines.core import warehouse as wh

MAX_LISTED = 50


@dataclass(frozen=True)
class Check:
    asset: str
    name: str
    description: str
    sql: str  # returns the offending rows; the first columns name who (plant/device) and when (day/hour)
    needs: tuple[str, ...] = ()  # other tables the query reads


def _unique(table: str, key: tuple[str, ...]) -> Check:
    cols = ", ".join(key)
    return Check(
        table,
        f"{table}_unique_key",
        f"No two rows of {table} share ({cols}).",
        f"SELECT {cols}, count(*) AS copies FROM {table} GROUP BY {cols} HAVING count(*) > 1 ORDER BY {cols}",
    )


def _non_negative(table: str, who: str, when: str, columns: tuple[str, ...]) -> Check:
    cond = " OR ".join(f"{c} < 0" for c in columns)
    return Check(
        table,
        f"{table}_no_negative_energy",
        f"No energy of {table} is negative ({', '.join(columns)}).",
        f"SELECT {who}, {when}, vendor, {', '.join(columns)} FROM {table} WHERE {cond} ORDER BY {who}, {when}, vendor",
    )


def _rates(table: str, when: str) -> Check:
    return Check(
        table,
        f"{table}_rates_between_0_and_1",
        f"self_consumption_rate and self_sufficiency_rate of {table} lie in [0, 1] (or are NULL).",
        f"SELECT plant_id, {when}, vendor, self_consumption_rate, self_sufficiency_rate FROM {table} "
        "WHERE NOT (coalesce(self_consumption_rate, 0) BETWEEN -1e-9 AND 1 + 1e-9) "
        "   OR NOT (coalesce(self_sufficiency_rate, 0) BETWEEN -1e-9 AND 1 + 1e-9) "
        f"ORDER BY plant_id, {when}, vendor",
    )


# the columns the marts carry, as their DDL declares them (sql/marts/, `-- @columns`)
ENERGY = wh.ENERGIES
FLOWS = wh.FLOWS

CHECKS = [
    # keys name who first, then when (what a failed check lists), then the vendor
    _unique("plants", ("plant_id", "vendor")),
    _unique("devices", ("device_sn", "vendor")),
    _unique("device_samples", ("device_sn", "ts_utc", "vendor")),
    _unique("device_energy_hourly", ("device_sn", "hour_utc", "vendor")),
    _unique("plant_energy_hourly", ("plant_id", "hour_utc", "vendor")),
    _unique("self_consumption_daily", ("plant_id", "day", "vendor")),
    _unique("self_consumption_monthly", ("plant_id", "month", "vendor")),
    _unique("plant_statistics_daily", ("plant_id", "day", "vendor")),
    _unique("device_day_totals", ("device_sn", "day", "vendor")),
    _unique("alarm_history", ("alarm_id", "vendor")),
    _non_negative("device_energy_hourly", "device_sn", "hour_local", ENERGY),
    _non_negative("plant_energy_hourly", "plant_id", "hour_local", ENERGY + FLOWS),
    _non_negative("self_consumption_daily", "plant_id", "day", ENERGY + FLOWS),
    _rates("self_consumption_daily", "day"),
    _rates("self_consumption_monthly", "month"),
    Check(
        "device_energy_hourly",
        "device_energy_hourly_matches_device_day_total",
        "For each device and day its samples cover whole, the sum of its hours is within 2% (or 0.05 kWh) of the "
        "device's own day total (SAJ: uploadData timeUnit 1), for the terms both know. (A day with a gap is the "
        "completeness check's.)",
        """
        WITH sums AS (
            SELECT h.vendor, h.device_sn, h.plant_id, h.day, sum(h.pv_kwh) AS pv, sum(h.load_kwh) AS load,
                   sum(h.grid_import_kwh) AS buy, sum(h.grid_export_kwh) AS sell,
                   sum(h.coverage) * 3600 >= any_value(epoch(timezone(p.time_zone, CAST(h.day + 1 AS TIMESTAMP)))
                                                      - epoch(timezone(p.time_zone, CAST(h.day AS TIMESTAMP)))) - 1
                       AS whole_day
            FROM device_energy_hourly AS h
            JOIN plants AS p ON p.vendor = h.vendor AND p.plant_id = h.plant_id
            GROUP BY h.vendor, h.device_sn, h.plant_id, h.day
        ), cmp AS (
            SELECT s.vendor, s.device_sn, s.plant_id, s.day, t.day AS total_day, unnest([
                {'term': 'pv', 'hours': s.pv, 'total': t.pv_kwh},
                {'term': 'load', 'hours': s.load, 'total': t.load_kwh},
                {'term': 'grid_import', 'hours': s.buy, 'total': t.grid_import_kwh},
                {'term': 'grid_export', 'hours': s.sell, 'total': t.grid_export_kwh}]) AS c
            FROM sums AS s
            LEFT JOIN device_day_totals AS t ON t.vendor = s.vendor AND t.device_sn = s.device_sn AND t.day = s.day
            WHERE s.whole_day
        )
        SELECT plant_id, day, vendor, device_sn, c.term, round(c.hours, 3) AS hours_kwh, c.total AS day_total_kwh
        FROM cmp
        WHERE total_day IS NOT NULL AND c.total IS NOT NULL AND c.hours IS NOT NULL
          AND abs(c.hours - c.total) > greatest(0.02 * abs(c.total), 0.05)
        ORDER BY plant_id, day, device_sn, c.term
        """,
        needs=("device_day_totals", "plants"),
    ),
    Check(
        "self_consumption_daily",
        "self_consumption_daily_matches_plant_statistics",
        "For each plant and day measured whole (energy_basis 'samples'), the day's energies are within 2% (or "
        "0.05 kWh) of the vendor portal's today* counters (SAJ: getPlantStatisticsData at the end of the local day), "
        "for the terms both know.",
        """
        WITH cmp AS (
            SELECT d.vendor, d.plant_id, d.day, unnest([
                {'term': 'pv', 'model': d.pv_kwh, 'portal': s.today_pv_kwh},
                {'term': 'load', 'model': d.load_kwh, 'portal': s.today_load_kwh},
                {'term': 'grid_import', 'model': d.grid_import_kwh, 'portal': s.today_grid_import_kwh},
                {'term': 'grid_export', 'model': d.grid_export_kwh, 'portal': s.today_grid_export_kwh},
                {'term': 'battery_charge', 'model': d.battery_charge_kwh, 'portal': s.today_battery_charge_kwh},
                {'term': 'battery_discharge', 'model': d.battery_discharge_kwh, 'portal': s.today_battery_discharge_kwh}
            ]) AS c
            FROM self_consumption_daily AS d
            JOIN plant_statistics_daily AS s ON s.vendor = d.vendor AND s.plant_id = d.plant_id AND s.day = d.day
            WHERE d.energy_basis = 'samples'
        )
        SELECT plant_id, day, vendor, c.term, round(c.model, 3) AS model_kwh, c.portal AS portal_kwh
        FROM cmp
        WHERE c.model IS NOT NULL AND c.portal IS NOT NULL
          AND abs(c.model - c.portal) > greatest(0.02 * abs(c.portal), 0.05)
        ORDER BY plant_id, day, c.term
        """,
        needs=("plant_statistics_daily",),
    ),
    Check(
        "self_consumption_daily",
        "self_consumption_daily_energy_balance",
        "For plants that report every term: pv + grid_import + battery_discharge = load + grid_export + "
        "battery_charge within 3% (or 0.05 kWh) of the larger side.",
        """
        SELECT plant_id, day, vendor,
               round(pv_kwh + grid_import_kwh + battery_discharge_kwh, 3) AS sources_kwh,
               round(load_kwh + grid_export_kwh + battery_charge_kwh, 3) AS sinks_kwh
        FROM self_consumption_daily
        WHERE pv_kwh IS NOT NULL AND load_kwh IS NOT NULL AND grid_import_kwh IS NOT NULL
          AND grid_export_kwh IS NOT NULL AND battery_charge_kwh IS NOT NULL AND battery_discharge_kwh IS NOT NULL
          AND abs((pv_kwh + grid_import_kwh + battery_discharge_kwh)
                  - (load_kwh + grid_export_kwh + battery_charge_kwh))
              > greatest(0.03 * greatest(pv_kwh + grid_import_kwh + battery_discharge_kwh,
                                         load_kwh + grid_export_kwh + battery_charge_kwh), 0.05)
        ORDER BY plant_id, day
        """,
    ),
    Check(
        "self_consumption_daily",
        "self_consumption_daily_measured_or_counted",
        "Every plant-day is measured whole, or its gap is covered by the vendor's own day counters: none is "
        "'incomplete' (energies from the samples that arrived, too low). The current local day is exempt until it "
        "has ended.",
        """
        SELECT d.plant_id, d.day, d.vendor, round(d.coverage, 4) AS coverage, d.samples, d.expected_samples
        FROM self_consumption_daily AS d
        JOIN plants AS p ON p.vendor = d.vendor AND p.plant_id = d.plant_id
        WHERE d.energy_basis = 'incomplete' AND d.day < CAST(timezone(p.time_zone, now()) AS DATE)
        ORDER BY d.plant_id, d.day
        """,
        needs=("plants",),
    ),
]


def _tables_exist(conn, tables) -> list[str]:
    existing = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "AND table_catalog = current_database()"
        ).fetchall()
    }
    return [t for t in tables if t not in existing]


def run_check(conn, check: Check) -> dg.AssetCheckResult:
    missing = _tables_exist(conn, (check.asset, *check.needs))
    if missing:  # the check runs after its tables are built (the mart depends on them): one missing is a fault
        return dg.AssetCheckResult(
            check_name=check.name,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"Cannot check: {', '.join(missing)} missing from the warehouse; build it first.",
            metadata={"missing_tables": ", ".join(missing)},
        )
    cursor = conn.execute(check.sql)
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if not rows:
        return dg.AssetCheckResult(check_name=check.name, passed=True, metadata={"offending_rows": 0})
    listed = [dict(zip(columns, (str(v) for v in row))) for row in rows[:MAX_LISTED]]
    who_when = sorted({f"{r[columns[0]]} {r[columns[1]]}" for r in listed})
    table = (
        "| "
        + " | ".join(columns)
        + " |\n|"
        + "---|" * len(columns)
        + "\n"
        + "\n".join("| " + " | ".join(r[c] for c in columns) + " |" for r in listed)
    )
    return dg.AssetCheckResult(
        check_name=check.name,
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(rows)} offending row(s): "
        + "; ".join(who_when[:20])
        + (" ..." if len(who_when) > 20 else ""),
        metadata={
            "offending_rows": len(rows),
            columns[0] + "s": dg.MetadataValue.json(sorted({r[columns[0]] for r in listed})),
            columns[1] + "s": dg.MetadataValue.json(sorted({r[columns[1]] for r in listed})),
            "rows": dg.MetadataValue.md(table),
        },
    )


def checks_of(table: str) -> list[Check]:
    """The checks of one public table, evaluated in the step that builds it."""
    return [c for c in CHECKS if c.asset == table]


def check_specs(table: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(c.name, asset=table, description=c.description) for c in checks_of(table)]
