"""SolaX's time-of-use plants (Fleet(tou=True)) through the marts, against the truth's energy flows.

On a trading day the battery charges from the grid at night and exports in the evening peak. The dongles only
say so through signs (batPower > 0 while feedinpower < 0; batPower < 0 while feedinpower > 0, tests/simulator/
solax/test_tou.py): the marts must split each interval into the same flows the truth has, keep the rates in
[0, 1], and give the day's energies and flows within the tolerances a user would check. A day of 5-minute rounds
over the plant's dongles, polled over HTTP on the stand-in's movable clock.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

from assets.checks import CHECKS, ENERGY, FLOWS, run_check
from tests.simulator.tou import trading_days
from tests.sources.solax.walk import Walker
from tests.support import build_models, query


@pytest.mark.parametrize("index", [4, 5])  # Munich's hybrid; Newcastle's PV inverter and X1-AC
def test_a_trading_day_through_the_marts(make_solax, tmp_path, index):
    server = make_solax(limits=False, gaps=False, fleet_kwargs={"tou": True})
    fleet = server.fleet
    plant = fleet.plants[index]
    assert plant.tou
    day = trading_days(fleet, plant, first=150)[0]
    zone = ZoneInfo(plant.time_zone)
    start = datetime.combine(day, time(), zone).astimezone(timezone.utc) - timedelta(minutes=15)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(timezone.utc) + timedelta(minutes=15)
    walker = Walker(server, tmp_path, wifi_sns={d.wifi_sn for d in server.dongles if d.plant is plant})
    walker.walk(start, end, 300)
    walker.close()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        build_models(tmp_path, [day], conn)
        failed = {c.name: r.description for c in CHECKS if not (r := run_check(conn, c)).passed}
    assert failed == {}, failed  # rates in [0, 1], no negative flow, the balance, measured whole

    model = query(
        tmp_path,
        "SELECT * FROM self_consumption_daily WHERE plant_id = $p AND day = $d",
        {"p": plant.plant_id, "d": day},
    ).iloc[0]
    truth = fleet.plant_day(plant.plant_id, day)
    assert model.energy_basis == "samples" and model.coverage == pytest.approx(1.0)
    t = {c: float(truth[c].astype(float).sum()) for c in ENERGY + FLOWS}
    assert t["grid_to_battery_kwh"] > 0.5 and t["battery_to_grid_kwh"] > 0.5, "the truth's day trades"
    errors = {}
    for term in ENERGY:  # the day within 1 %
        errors[term] = model[term] - t[term]
        assert abs(errors[term]) <= max(0.01 * t[term], 0.02), (term, model[term], t[term])
    for flow in FLOWS:  # each flow within 3 % (or 0.05 kWh): the dongles' 5 minutes are not the truth's
        errors[flow] = model[flow] - t[flow]
        assert abs(errors[flow]) <= max(0.03 * t[flow], 0.05), (flow, model[flow], t[flow])
    truth_rates = {
        "self_consumption_rate": (t["pv_to_load_kwh"] + t["pv_to_battery_kwh"]) / t["pv_kwh"],
        "self_sufficiency_rate": (t["pv_to_load_kwh"] + t["battery_to_load_kwh"]) / t["load_kwh"],
    }
    for rate, expected in truth_rates.items():
        assert 0 <= model[rate] <= 1 and model[rate] == pytest.approx(expected, abs=0.01), (rate, model[rate])

    # the night's grid charge and the evening's export land in their own hours
    hours = query(
        tmp_path,
        "SELECT hour_utc, grid_to_battery_kwh, battery_to_grid_kwh FROM plant_energy_hourly "
        "WHERE plant_id = $p AND day = $d ORDER BY hour_utc",
        {"p": plant.plant_id, "d": day},
    ).set_index("hour_utc")
    f = truth.copy()
    f["ts_local"] = pd.to_datetime(f["ts_local"])
    f["hour_utc"] = f["ts_utc"] - (f["ts_local"] - f["ts_local"].dt.floor("h"))
    truth_hours = f.groupby("hour_utc")[["grid_to_battery_kwh", "battery_to_grid_kwh"]].sum()
    assert set(hours.index) == set(truth_hours.index)
    for flow in ("grid_to_battery_kwh", "battery_to_grid_kwh"):
        peak = truth_hours[flow].max()
        worst = (hours[flow] - truth_hours[flow]).abs().max()
        assert worst <= 0.05 * peak + 0.01, (flow, worst, peak)
