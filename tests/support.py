"""Shared test helpers: materialise against the simulator, and compare what the warehouse holds with the
simulator's ground truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from assets.checks import model_checks
from assets.marts import mart_assets
from assets.raw import raw_assets
from assets.staging import staging_assets
from pipelines.resources import build_resources

ROOT = Path(__file__).resolve().parent.parent
ALL_ASSETS = [*raw_assets, *staging_assets, *mart_assets]
ENERGIES = ["pv_kwh", "load_kwh", "grid_import_kwh", "grid_export_kwh", "battery_charge_kwh", "battery_discharge_kwh"]
# What the device-level comparisons need: raw fleet and minute data, their staging, the device marts.
DEVICE_PATH = {"raw_plants", "raw_devices", "raw_upload_data", "stg_plants", "stg_devices", "stg_device_samples",
               "device_samples", "device_energy_hourly"}
TOL = 1e-6  # kWh: the samples are whole watts, so the sums are exact up to float rounding


def select(names: set[str]) -> list:
    return [a for a in ALL_ASSETS if a.key.path[-1] in names]


def resources(server, data_dir: Path, app_id: str | None = None, app_secret: str | None = None, **saj) -> dict:
    """The code location's resources, pointed at a simulator (its credentials unless others are given)."""
    return build_resources(
        data_dir,
        app_id=server.fleet.app_id if app_id is None else app_id,
        app_secret=server.fleet.app_secret if app_secret is None else app_secret,
        base_url=server.base_url,
        **saj,
    )


def materialize(server, data_dir: Path, day: date | None = None, assets=None, checks: bool = False,
                raise_on_error: bool = True, tags: dict | None = None, instance=None, **resource_kwargs):
    assets = ALL_ASSETS if assets is None else assets
    return dg.materialize(
        [*assets, *(model_checks if checks else [])],
        partition_key=day.isoformat() if day else None,
        resources=resources(server, data_dir, **resource_kwargs),
        raise_on_error=raise_on_error, tags=tags, instance=instance,
    )


def query(data_dir: Path, sql: str, params: dict | None = None) -> pd.DataFrame:
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


def compare_device_day(fleet, data_dir: Path, day: date, sns=None, damaged: bool = False) -> dict:
    """Check the warehouse's device_energy_hourly and device_samples of `day` against the truth:

    - an hour without any reported sample has no row (a gap is not invented);
    - `samples` never exceeds the reported intervals, and equals them unless values were damaged;
    - an hour whose `samples` equals its intervals (complete) has exactly the truth's energies;
    - no hour holds more energy than the truth of its reported intervals (nothing double counted);
    - device_samples holds each reported interval once.

    Returns counters (hours compared, complete hours, gap hours) for the caller's own assertions."""
    hourly = query(data_dir, "SELECT * FROM device_energy_hourly WHERE day = $d", {"d": day})
    samples = query(data_dir, "SELECT device_sn, count(*) AS n, count(DISTINCT ts_utc) AS distinct_n "
                              "FROM device_samples WHERE day = $d GROUP BY ALL", {"d": day}).set_index("device_sn")
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
        evaluation.asset_key.path[-1]: f"{evaluation.description} {evaluation.metadata}"
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "nothing_refused" and not evaluation.passed
    }
