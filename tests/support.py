"""Shared test helpers: materialise against the simulator, and compare what the warehouse holds with the
simulator's ground truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from assets.conformed import build_day as build_conformed_day
from assets.conformed import conformed_assets
from assets.marts import MARTS, build_mart, mart_assets
from assets.vendors import VENDOR_ASSETS, VENDOR_MODELS
from pipelines.core.lake import Lake, raw_table
from pipelines.resources import build_resources

ROOT = Path(__file__).resolve().parent.parent


SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"


def shared_fixture(folder: str, name: str):
    """A real captured response (parsed JSON) from ../shared/fixtures, beside the project as on every developer's
    machine and in CI (not copied here: they carry their publishers' licences). Skips, saying why, without it."""
    import json

    import pytest

    path = SHARED_FIXTURES / folder / name
    if not path.is_file():
        pytest.skip(f"the captured response {path} is not beside the project")
    return json.loads(path.read_text())


ALL_ASSETS = [*VENDOR_ASSETS, *conformed_assets(VENDOR_MODELS), *mart_assets]
ENERGIES = ["pv_kwh", "load_kwh", "grid_import_kwh", "grid_export_kwh", "battery_charge_kwh", "battery_discharge_kwh"]
# What the device-level comparisons need: raw fleet and minute data, their staging, the conformed tables they
# feed and the device marts.
DEVICE_PATH = {
    "saj/raw_plants",
    "saj/raw_devices",
    "saj/raw_upload_data",
    "saj/stg_plants",
    "saj/stg_devices",
    "saj/stg_device_samples",
    "saj/stg_load_monitor_samples",
    "conformed/samples",
    "device_samples",
    "device_energy_hourly",
}
TOL = 1e-6  # kWh: the samples are whole watts, so the sums are exact up to float rounding


def select(keys: set[str]) -> dg.AssetSelection:
    """The assets whose keys (as the UI writes them: "saj/raw_plants", "conformed/samples", "plants") are given,
    with their checks (a vendor's raw tables are one multi-asset: a selection takes the subset)."""
    return dg.AssetSelection.assets(*(dg.AssetKey.from_user_string(k) for k in keys))


def run(selection=None, **kwargs):
    """dg.materialize over the whole code location's assets, running `selection` (default: everything)."""
    return dg.materialize(ALL_ASSETS, selection=selection, **kwargs)


def lake_of(data_dir: Path) -> Lake:
    return Lake(Path(data_dir) / "lake")


def raw(data_dir: Path, asset: str, day: date, vendor: str = "saj"):
    """A raw day of the lake as landed (every attempt's file), or None."""
    return lake_of(data_dir).read_raw(vendor, asset, day)


def land(data_dir: Path, asset: str, day: date, rows, vendor: str = "saj", complete: bool = True):
    """Land (plant_id, device_sn, response) rows as one attempt of a raw day, as the raw assets do."""
    lake = lake_of(data_dir)
    return lake.add_part(lake.day_dir("raw", vendor, asset, day=day), raw_table(day, rows), supersedes=complete)


def build_models(data_dir: Path, days, conn, marts=None):
    """Every vendor's staging, the conformed layer and the marts (all, or those named) for `days` from the raw
    lake, without Dagster; returns {table: rows} of the staging tables built."""
    lake = lake_of(data_dir)
    staged = {}
    for vendor in VENDOR_MODELS:
        for name in vendor.staging.tables:  # listed in dependency order
            staged[f"{vendor.name}/{name}"] = [
                r for d in days for r in vendor.staging.build_day(lake, name, d).to_pylist()
            ]
        for table in vendor.conformed:  # the conformed tables the vendor fills
            for d in days:
                build_conformed_day(lake, vendor, table, d)
    for mart in MARTS:
        if marts is None or mart.name in marts:
            build_mart(conn, lake, mart, list(days))
    return staged


def resources(server, data_dir: Path, app_id: str | None = None, app_secret: str | None = None, **saj) -> dict:
    """The code location's resources, pointed at a SAJ simulator (its credentials unless others are given)."""
    return build_resources(
        data_dir,
        saj=dict(
            app_id=server.fleet.app_id if app_id is None else app_id,
            app_secret=server.fleet.app_secret if app_secret is None else app_secret,
            base_url=server.base_url,
            **saj,
        ),
    )


def materialize(
    server,
    data_dir: Path,
    day: date | None = None,
    assets: dg.AssetSelection | None = None,
    raise_on_error: bool = True,
    tags: dict | None = None,
    instance=None,
    **resource_kwargs,
):
    """The assets selected (default: all) for `day` (or the range in `tags`) against a SAJ simulator."""
    return run(
        assets,
        partition_key=day.isoformat() if day else None,
        resources=resources(server, data_dir, **resource_kwargs),
        raise_on_error=raise_on_error,
        tags=tags,
        instance=instance,
    )


def query(data_dir: Path | duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """A query on the warehouse file under `data_dir`, or on a connection to another warehouse (DuckLake)."""
    if isinstance(data_dir, duckdb.DuckDBPyConnection):
        return data_dir.execute(sql, params or {}).df()
    with duckdb.connect(str(Path(data_dir) / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql, params or {}).df()


def truth_hours(frame: pd.DataFrame) -> pd.DataFrame:
    """Truth per plant-local hour keyed by hour_utc: n intervals, how many reported, the energies of the whole
    hour (`*_all`) and of the reported intervals only (`*_rep`)."""
    f = frame.copy()
    f["ts_local"] = pd.to_datetime(f["ts_local"])
    f["hour_local"] = f["ts_local"].dt.floor("h")
    f["hour_utc"] = f["ts_utc"] - (f["ts_local"] - f["hour_local"])
    agg = {}
    for c in ENERGIES:
        f[f"{c}_rep"] = f[c].astype("Float64").where(f["reported"], 0)
        agg[f"{c}_all"] = (c, lambda s: s.astype("Float64").sum(min_count=1))
        agg[f"{c}_rep"] = (f"{c}_rep", lambda s: s.astype("Float64").sum(min_count=1))
    out = f.groupby("hour_utc").agg(n=("reported", "size"), reported=("reported", "sum"), **agg)
    return out.reset_index()


def compare_device_day(
    fleet, data_dir: Path | duckdb.DuckDBPyConnection, day: date, sns=None, damaged: bool = False
) -> dict:
    """Check the warehouse's (under `data_dir`, or on a connection) device_energy_hourly and device_samples of `day`
    against the truth:

    - an hour without any reported sample has no row (a gap is not invented);
    - `samples` never exceeds the reported intervals, and equals them unless values were damaged;
    - an hour whose `samples` equals its intervals (complete) has exactly the truth's energies;
    - no hour holds more energy than the truth of its reported intervals (nothing double counted);
    - device_samples holds each reported interval once.

    Returns counters (hours compared, complete hours, gap hours) for the caller's own assertions."""
    hourly = query(data_dir, "SELECT * FROM device_energy_hourly WHERE day = $d", {"d": day})
    samples = query(
        data_dir,
        "SELECT device_sn, count(*) AS n, count(DISTINCT ts_utc) AS distinct_n "
        "FROM device_samples WHERE day = $d GROUP BY ALL",
        {"d": day},
    ).set_index("device_sn")
    stats = {"hours": 0, "complete": 0, "partial": 0, "missing": 0}
    for dev in fleet.devices:
        if sns is not None and dev.sn not in sns:
            continue
        truth = fleet.device_day(dev.sn, day)
        th = truth_hours(truth)
        model = hourly[hourly.device_sn == dev.sn]
        merged = th.merge(model, on="hour_utc", how="left")
        assert merged.samples.isna().eq(merged.reported == 0).all() or damaged, (dev.sn, day, "hour rows vs truth")
        assert set(model.hour_utc) <= set(th.hour_utc), (dev.sn, "an hour the truth does not have")
        reported = int(truth.reported.sum())
        got = samples.n.get(dev.sn, 0)
        assert samples.distinct_n.get(dev.sn, 0) == got, (dev.sn, "a sample stored twice")
        assert got == reported, (dev.sn, day, got, reported)
        terms = ["pv_kwh"] if dev.device_type == 0 else ENERGIES
        for row in merged.itertuples():
            stats["hours"] += 1
            if pd.isna(row.samples):
                stats["missing"] += 1
                continue
            assert row.samples <= row.reported, (dev.sn, row.hour_utc)
            if not damaged:
                assert row.samples == row.reported, (dev.sn, row.hour_utc)
            complete = row.samples == row.n
            stats["complete" if complete else "partial"] += 1
            for t in terms:
                value = getattr(row, t)
                if complete:
                    assert abs(value - float(getattr(row, f"{t}_all"))) <= TOL, (dev.sn, row.hour_utc, t)
                elif not pd.isna(value):
                    assert value <= float(getattr(row, f"{t}_rep")) + TOL, (dev.sn, row.hour_utc, t, "invented")
    return stats


def refusals(result) -> dict[str, str]:
    """The failed `nothing_refused` checks of a run: asset name -> what the check said."""
    return {
        evaluation.asset_key.to_user_string(): f"{evaluation.description} {evaluation.metadata}"
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "nothing_refused" and not evaluation.passed
    }
