"""The chart and preview of a day that the marts put in their materialisation metadata (Dagster UI).

Rendered with matplotlib's Agg backend (no display needed) to a PNG embedded as a base64 data URI in a
Markdown metadata value: the UI shows it on the asset's materialisation, beside the numbers it plots.
"""

from __future__ import annotations

import base64
import io
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MAX_PLANTS = 6
COLORS = {
    "pv": "#f2a900",
    "load": "#1f5fa8",
    "import": "#8c8c8c",
    "export": "#3aa655",
    "charge": "#8e44ad",
    "discharge": "#c39bd3",
}


def _hourly(conn, day: date) -> dict[str, list[tuple]]:
    rows = conn.execute(
        """
        SELECT vendor || ' ' || plant_id, hour(hour_local) + minute(hour_local) / 60.0 AS h, pv_kwh, load_kwh,
               grid_import_kwh, grid_export_kwh, battery_charge_kwh, battery_discharge_kwh
        FROM plant_energy_hourly WHERE day = $day ORDER BY vendor, plant_id, hour_utc
        """,
        {"day": day},
    ).fetchall()
    plants: dict[str, list[tuple]] = {}
    for row in rows:
        plants.setdefault(row[0], []).append(row[1:])
    return plants


def day_chart_png(conn, day: date) -> bytes | None:
    """Per plant (up to six), per local hour: production, consumption, grid exchange and battery, in kWh."""
    plants = _hourly(conn, day)
    if not plants:
        return None
    shown = sorted(plants)[:MAX_PLANTS]
    cols = 2 if len(shown) > 1 else 1
    nrows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(6.2 * cols, 2.9 * nrows + 0.6), squeeze=False, sharex=True)
    for ax, plant_id in zip(axes.flat, shown):
        hours = plants[plant_id]
        h = [r[0] + 0.5 for r in hours]
        val = lambda i, hours=hours: [r[i] or 0.0 for r in hours]  # noqa: E731 - NULL (not measured) is drawn as 0
        # each series one filled step patch per hour, not a bar artist per hour: drawing is what the chart costs
        edges = [r[0] for r in hours] + [hours[-1][0] + 1]
        ax.stairs(val(3), edges, fill=True, color=COLORS["import"], label="grid import")
        ax.stairs([-v for v in val(4)], edges, fill=True, color=COLORS["export"], label="grid export")
        ax.stairs(val(6), edges, fill=True, color=COLORS["discharge"], alpha=0.8, label="battery discharge")
        ax.stairs([-v for v in val(5)], edges, fill=True, color=COLORS["charge"], alpha=0.8, label="battery charge")
        ax.plot(h, val(1), color=COLORS["pv"], lw=2.2, label="PV production")
        metered = any(r[2] is not None for r in hours)
        if metered:
            ax.plot(h, val(2), color=COLORS["load"], lw=2.2, label="consumption")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(
            f"{plant_id}: PV {sum(val(1)):.1f} kWh" + ("" if metered else " (PV only: no load meter)"),
            fontsize=10,
            loc="left",
        )
        ax.set_xlim(0, 24)
        ax.set_xticks(range(0, 25, 3))
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylabel("kWh per hour", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(shown) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("plant-local hour", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.42 / fig.get_figheight()),
        ncol=6,
        fontsize=8,
        frameon=False,
    )
    more = f" (first {MAX_PLANTS} of {len(plants)} plants)" if len(plants) > MAX_PLANTS else ""
    fig.suptitle(
        f"{day}: energy per hour{more}; below zero: grid export and battery charge",
        fontsize=11,
        y=1 - 0.12 / fig.get_figheight(),
        va="top",
    )
    # fixed margins: tight_layout measured every tick label first, a second full draw (~0.8 s of the ~1.7 s)
    fig.subplots_adjust(
        left=0.07,
        right=0.98,
        bottom=0.45 / fig.get_figheight(),
        top=1 - 0.95 / fig.get_figheight(),
        hspace=0.45,
        wspace=0.16,
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def preview_markdown(conn, day: date) -> str:
    """The day per plant as a Markdown table."""
    cursor = conn.execute(
        """
        SELECT vendor, plant_id, count(*) AS hours, round(sum(pv_kwh), 2) AS pv_kwh,
               round(sum(load_kwh), 2) AS load_kwh,
               round(sum(grid_import_kwh), 2) AS import_kwh, round(sum(grid_export_kwh), 2) AS export_kwh,
               round(sum(battery_charge_kwh), 2) AS charge_kwh, round(sum(battery_discharge_kwh), 2) AS discharge_kwh,
               round(sum(self_consumed_kwh) / nullif(sum(pv_kwh), 0), 3) AS self_consumption
        FROM plant_energy_hourly WHERE day = $day GROUP BY vendor, plant_id ORDER BY vendor, plant_id LIMIT 50
        """,
        {"day": day},
    )
    names = [c[0] for c in cursor.description]
    rows = cursor.fetchall()
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def day_metadata(conn, day: date) -> dict:
    """Metadata for the UI: the chart and the preview of `day`, and fleet totals Dagster plots over time."""
    import dagster as dg

    totals = conn.execute(
        "SELECT coalesce(sum(pv_kwh), 0), coalesce(sum(load_kwh), 0), coalesce(sum(grid_import_kwh), 0), "
        "coalesce(sum(grid_export_kwh), 0) FROM plant_energy_hourly WHERE day = $day",
        {"day": day},
    ).fetchone()
    png = day_chart_png(conn, day)
    chart = f"![energy per hour on {day}](data:image/png;base64,{base64.b64encode(png).decode()})" if png else "no rows"
    return {
        "chart_day": day.isoformat(),
        "chart": dg.MetadataValue.md(chart),
        "preview": dg.MetadataValue.md(preview_markdown(conn, day)),
        "fleet_pv_kwh": round(float(totals[0]), 2),
        "fleet_load_kwh": round(float(totals[1]), 2),
        "fleet_grid_import_kwh": round(float(totals[2]), 2),
        "fleet_grid_export_kwh": round(float(totals[3]), 2),
    }
