"""The warehouse's flows and rates on the days a battery trades with the grid, end to end against the truth.

A plant on a time-of-use tariff (Fleet(tou=True): a storage plant in Berlin, an AC-coupled one in Sydney)
charges its battery from the grid at night and exports it in the evening peak. On those days the rates
from day totals leave [0, 1] or count grid energy as the plant's own; the warehouse's rates come from
per-interval flows, so they must equal the rates of the truth's flows, and every flow must equal the truth's.

The stand-in serves every window's samples sorted by local stamp (the repeated hour of a fall-back day
interleaved), and the Berlin fall-back day is among the days: the warehouse must read it as the truth has it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import duckdb
import pandas as pd
import pytest

from simulator import Fleet, SimulatorServer
from simulator.core.fleet import FLOW_KEYS, TOU_INDEXES
from simulator.saj import ordering
from tests.simulator.tou import trading_days
from tests.support import resources, run

FLOWS = FLOW_KEYS  # pv_to_load, pv_to_battery, ... battery_to_grid: the marts name them <flow>_kwh
FALL_BACK = date(2025, 10, 26)  # Europe/Berlin: 25 hours, 02:00-02:59 twice
TOL = 1e-6  # kWh: whole-watt samples, so flows are exact up to float rounding


def _sunniest_trading_day(fleet: Fleet, plant) -> date:
    """Of the plant's trading days, the one with the most PV (so PV, battery and grid all share the day)."""
    return max(trading_days(fleet, plant), key=lambda d: fleet.plant_day(plant.plant_id, d).pv_kwh.sum())


@pytest.fixture(scope="module")
def traded(tmp_path_factory):
    fleet = Fleet(seed=7, plants=6, tou=True, gaps=False, now=datetime(2025, 11, 20, tzinfo=timezone.utc))
    tou_plants = [fleet.plants[i] for i in TOU_INDEXES]
    days = sorted({_sunniest_trading_day(fleet, p) for p in tou_plants} | {FALL_BACK})
    data_dir = tmp_path_factory.mktemp("tou")
    stamp_order = {endpoint: "stamp" for endpoint in ordering.ENDPOINTS}
    with SimulatorServer(fleet, port=0, sample_order=stamp_order) as server:
        for day in days:
            run(partition_key=day.isoformat(), resources=resources(server, data_dir))
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        hourly = conn.execute("SELECT * FROM plant_energy_hourly").df()
        daily = conn.execute("SELECT * FROM self_consumption_daily").df()
    return {"fleet": fleet, "tou": tou_plants, "days": days, "hourly": hourly, "daily": daily}


def _truth_hours(truth: pd.DataFrame) -> pd.DataFrame:
    local = pd.to_datetime(truth.ts_local)
    hour_utc = truth.ts_utc - (local - local.dt.floor("h"))
    columns = [f"{f}_kwh" for f in FLOWS]
    return (
        truth.assign(hour_utc=hour_utc)[["hour_utc", *columns]]
        .astype({c: float for c in columns})
        .groupby("hour_utc")
        .sum()
    )


def _metered_days(traded):
    """(plant, day, its truth) for every plant that measures its load (so has flows) and every day built."""
    fleet = traded["fleet"]
    for plant in fleet.plants:
        if plant.plant_type != 0 or plant.has_load_monitor:
            for day in traded["days"]:
                yield plant, day, fleet.plant_day(plant.plant_id, day)


def test_the_trading_days_trade(traded):
    """The days chosen are what the test is about: each TOU plant bought battery energy and sold it back."""
    fleet = traded["fleet"]
    for plant in traded["tou"]:
        assert plant.tou
        bought = sold = 0.0
        for day in traded["days"]:
            truth = fleet.plant_day(plant.plant_id, day)
            bought += float(truth.grid_to_battery_kwh.sum())
            sold += float(truth.battery_to_grid_kwh.sum())
        assert bought > 0.5 and sold > 0.5, (plant.plant_id, bought, sold)


def test_daily_flows_and_rates_equal_the_truths(traded):
    daily = traded["daily"]
    naive_wrong = 0
    for plant, day, truth in _metered_days(traded):
        t = {f: float(truth[f"{f}_kwh"].astype(float).sum()) for f in FLOWS}
        t |= {c: float(truth[f"{c}_kwh"].astype(float).sum()) for c in ("pv", "load", "grid_export")}
        (row,) = daily[(daily.plant_id == plant.plant_id) & (daily.day == pd.Timestamp(day))].itertuples()
        assert row.energy_basis == "samples"
        for f in FLOWS:
            assert getattr(row, f"{f}_kwh") == pytest.approx(t[f], abs=TOL), (plant.plant_id, day, f)
        consumption = (t["pv_to_load"] + t["pv_to_battery"]) / t["pv"] if t["pv"] else None
        sufficiency = (t["pv_to_load"] + t["battery_to_load"]) / t["load"]
        assert row.self_consumption_rate == pytest.approx(consumption, abs=1e-9), (plant.plant_id, day)
        assert row.self_sufficiency_rate == pytest.approx(sufficiency, abs=1e-9), (plant.plant_id, day)
        for rate in (row.self_consumption_rate, row.self_sufficiency_rate):
            assert pd.isna(rate) or 0 <= rate <= 1
        if plant in traded["tou"] and t["pv"]:
            # what the day totals would say ((pv - export) / pv) is wrong here: the battery's export is grid
            naive = (t["pv"] - t["grid_export"]) / t["pv"]
            naive_wrong += abs(naive - row.self_consumption_rate) > 0.01
    assert naive_wrong >= 2  # the trading days tell the two rules apart


def test_hourly_flows_equal_the_truths_through_the_repeated_hour(traded):
    fleet, hourly = traded["fleet"], traded["hourly"]
    compared = 0
    for plant, day, truth in _metered_days(traded):
        truth = _truth_hours(truth)
        model = hourly[(hourly.plant_id == plant.plant_id) & (hourly.day == pd.Timestamp(day))]
        model = model.set_index("hour_utc").sort_index()
        assert len(model) == len(truth), (plant.plant_id, day)  # 23, 24 or 25 hours, none merged
        for f in FLOWS:
            err = abs(model[f"{f}_kwh"].to_numpy() - truth[f"{f}_kwh"].to_numpy()).max()
            assert err <= TOL, (plant.plant_id, day, f, err)
            compared += len(model)
    berlin = [p for p in fleet.plants if p.time_zone == "Europe/Berlin"]
    rows = hourly[hourly.plant_id.isin([p.plant_id for p in berlin]) & (hourly.day == pd.Timestamp(FALL_BACK))]
    assert rows.groupby("plant_id").size().eq(25).all() and len(rows) == 25 * len(berlin)
    assert rows.groupby("plant_id").samples.sum().eq(300).all()  # every 5-minute interval of the 25 hours
    assert compared > 0
