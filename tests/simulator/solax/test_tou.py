"""SolaX for the plants on a time-of-use tariff (Fleet(tou=True)): at night the battery charges from the grid
(the hybrid's AC side draws power, the meter imports), in the evening peak it exports; the powers are the
truth's means and the lifetime counters its energies, exactly as on self-consumption days."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from ..tou import trading_days
from .conftest import KWH_001, KWH_01, Cloud, Truth, epoch


def whole(x: float) -> float:
    return float(math.floor(x + 0.5))


def trading_day(fleet, plant):
    """The plant's first day from June that charged the battery from the grid and exported from it, and the
    first instant of each whose latest upload reports a running flow: ten minutes into two intervals of it
    in a row (an upload reports the 5 minutes before it, at the dongle's own phase)."""
    day = trading_days(fleet, plant, first=150)[0]
    df = fleet.plant_day(plant.plant_id, day)

    def first(flow):
        on = (df[flow] > 0).to_numpy()
        return df.ts_utc.iloc[int(np.argmax(on[:-1] & on[1:]))].to_pydatetime() + timedelta(minutes=10)

    return day, first("grid_to_battery_w"), first("battery_to_grid_w")


@pytest.mark.parametrize("index", [4, 5])  # Munich's hybrid; Newcastle's PV inverter and X1-AC
def test_grid_charging_and_battery_export_as_the_dongles_see_them(make_solax, index):
    s = make_solax(limits=False, gaps=False, fleet_kwargs={"tou": True})
    cloud, fl = Cloud(s), s.fleet
    p = fl.plants[index]
    assert p.tou
    day, charging, exporting = trading_day(fl, p)
    truth = Truth(fl, p, day - timedelta(days=1), day + timedelta(days=1))
    dongles = [d for d in s.dongles if d.plant is p]
    battery = next(d for d in dongles if d.battery)
    seen = {}
    for at in (charging, exporting):
        cloud.move(now=at.isoformat())
        res = {d.role: cloud.poll(d.wifi_sn)["result"] for d in dongles}
        t = epoch(res[battery.role]["utcDateTime"])
        mean = lambda col, t=t: truth.mean_w(col, t)  # noqa: E731
        b = res[battery.role]
        assert b["batPower"] == whole(mean("battery_charge_w") - mean("battery_discharge_w"))
        assert b["feedinpower"] == whole(mean("grid_export_w") - mean("grid_import_w"))
        assert b["soc"] == truth.soc_before(t)
        # the household's load rebuilds from the dongles, as on any other day
        load = sum(r["acpower"] for r in res.values()) - b["feedinpower"]
        assert abs(load - mean("load_w")) <= len(res) + 1
        seen[at] = (t, b)
    (t0, night), (t1, evening) = seen[charging], seen[exporting]
    assert night["batPower"] > 0 and night["feedinpower"] < 0  # charging while importing: from the grid
    assert evening["batPower"] < 0 and evening["feedinpower"] > 0  # discharging while exporting: to the grid
    if battery.role == "hybrid":
        assert night["acpower"] < 0  # the hybrid's AC side draws from the grid
    # lifetime counters between the two uploads: the truth's energies, to within one step
    for key, col, step in (
        ("feedinenergy", "grid_export_w", KWH_001),
        ("consumeenergy", "grid_import_w", KWH_001),
        ("yieldtotal", "battery_discharge_w" if battery.role == "ac_battery" else "pv_w", KWH_01),
    ):
        got = round((evening[key] - night[key]) * 3_600_000 / step) * step
        assert abs(got - truth.energy(col, t0, t1)) <= step, key
