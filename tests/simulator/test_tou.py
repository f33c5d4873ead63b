"""Time-of-use plants in the truth: which plants, what their battery does (grid charging at night, export in
the evening peak), within the battery's limits, every interval balanced and split into flows that add up;
and with the switch off, the truth of every plant exactly as before the switch existed."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from simulator import Fleet
from simulator.core import physics
from tests.conftest import get_fleet

YEAR = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
# the days whose intervals are checked one by one: every fourth, and the daylight-saving days of the plants
DAYS = sorted(set(YEAR[::4]) | {date(2025, 3, 30), date(2025, 10, 26), date(2025, 4, 6), date(2025, 10, 5)})
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)  # the whole of 2025 is in the past
TERMS = ["pv_w", "load_w", "grid_import_w", "grid_export_w", "battery_charge_w", "battery_discharge_w"]
FLOWS = [f"{f}_w" for f in physics.FLOWS]  # the truth's flow columns, in W
# sha256 of a year of the plants' per-interval physics (pv, load, imp, exp, chg, dis, soc of the padded day
# arrays behind the truth frames, int64, day after day), computed before the time-of-use switch existed:
# with it off, the plants that run it when it is on are unchanged
BEFORE_TOU = {
    4: "6f515e7dd821118a69d38c1d3aa1711c7accd5cd3fb107d1d4bfcf8b334a634c",
    5: "09ea19e92a393667ff7c28607db2e9a7947b1054e06c05487669972a27bf0b5b",
}


def frames(fleet: Fleet, plant) -> pd.DataFrame:
    """The truth frames of DAYS, one after the other."""
    return pd.concat([fleet.plant_day(plant.plant_id, d).assign(day=d) for d in DAYS], ignore_index=True)


def daily(fleet: Fleet, plant, key: str) -> np.ndarray:
    """A year of daily sums (W-slots) of a term or flow of the truth."""
    return fleet.daily_array(plant, key, 0, 365)


def ints(df: pd.DataFrame, cols: list[str]) -> dict:
    return {c: df[c].to_numpy(dtype=np.int64) for c in cols}


@pytest.fixture(scope="module")
def tou() -> Fleet:
    return get_fleet(6, 7, now=NOW, tou=True)


@pytest.fixture(scope="module")
def sampled(tou) -> dict:
    """The truth of DAYS of each time-of-use plant (index -> frame)."""
    return {p.index: frames(tou, p) for p in tou.plants if p.tou}


def test_tou_is_off_by_default_and_changes_nothing():
    fleet = Fleet(seed=7, plants=6, now=NOW)
    assert not fleet.tou and not any(p.tou for p in fleet.plants)
    for i, want in BEFORE_TOU.items():
        h = hashlib.sha256()
        for d in range(365):
            arrays = fleet._plant_slots(i, d)
            for k in ("pv", "load", "imp", "exp", "chg", "dis", "soc"):
                h.update(arrays[k].astype(np.int64).tobytes())
        assert h.hexdigest() == want, f"plant {i}'s truth changed"


@pytest.mark.parametrize("plants", [6, 8])
def test_which_plants_run_tou(plants):
    fleet = get_fleet(plants, 7, now=NOW, tou=True)
    chosen = [(p.index, p.plant_type) for p in fleet.plants if p.tou]
    assert chosen == [(4, 1), (5, 3)]  # a storage plant and an AC-coupled one
    assert {p.time_zone for p in fleet.plants if p.tou} == {"Europe/Berlin", "Australia/Sydney"}
    described = fleet.describe()
    assert described["tou"] and [p["tou"] for p in described["plants"]] == [p.tou for p in fleet.plants]


def test_other_plants_are_unchanged_by_the_switch(tou):
    off = get_fleet(6, 7, now=NOW)
    for p in tou.plants:
        unchanged = tou.daily_sums(p, 0, 365) == off.daily_sums(p, 0, 365)
        assert unchanged == (not p.tou), p.name


def test_every_interval_balances_within_the_battery_limits(tou, sampled):
    for i, df in sampled.items():
        p = tou.plants[i]
        t = ints(df, [*TERMS, *FLOWS, "battery_soc_pct"])
        assert (
            t["pv_w"] + t["grid_import_w"] + t["battery_discharge_w"]
            == t["load_w"] + t["grid_export_w"] + t["battery_charge_w"]
        ).all()
        assert not (t["grid_import_w"] * t["grid_export_w"]).any(), "import and export at once"
        assert not (t["battery_charge_w"] * t["battery_discharge_w"]).any(), "charge and discharge at once"
        assert t["battery_soc_pct"].min() == 10 and t["battery_soc_pct"].max() == 100
        limit = min(max(2500, 500 * p.battery_kwh), 5000)  # the battery's power limit (W)
        assert t["battery_charge_w"].max() <= limit and t["battery_discharge_w"].max() <= limit


def test_the_flows_add_up(tou, sampled):
    plants = {i: df for i, df in sampled.items()}
    plants[1] = frames(tou, tou.plants[1])  # self-consumption with a battery: the flows hold there too
    for df in plants.values():
        t = ints(df, [*TERMS, *FLOWS])
        assert min(t[f].min() for f in FLOWS) >= 0
        assert (t["pv_w"] == t["pv_to_load_w"] + t["pv_to_battery_w"] + t["pv_to_grid_w"]).all()
        assert (t["load_w"] == t["pv_to_load_w"] + t["grid_to_load_w"] + t["battery_to_load_w"]).all()
        assert (t["battery_charge_w"] == t["pv_to_battery_w"] + t["grid_to_battery_w"]).all()
        assert (t["battery_discharge_w"] == t["battery_to_load_w"] + t["battery_to_grid_w"]).all()
        assert (t["grid_import_w"] == t["grid_to_load_w"] + t["grid_to_battery_w"]).all()
        assert (t["grid_export_w"] == t["pv_to_grid_w"] + t["battery_to_grid_w"]).all()
        # PV serves the load first
        assert (t["pv_to_load_w"] == np.minimum(t["pv_w"], t["load_w"])).all()
        for f in FLOWS:
            kwh = df[f[:-2] + "_kwh"].to_numpy(dtype=float)
            assert np.allclose(kwh, t[f] * 5 / 60 / 1000)
    # the daily sums (what the stand-ins' counters and statistics add up) are the intervals' sums
    for i, df in sampled.items():
        per_day = df.groupby("day")[FLOWS].sum()
        for day, row in per_day.iloc[::9].iterrows():
            d = (day - tou.start_date).days
            assert [int(tou.daily_array(tou.plants[i], f[:-2], d, d + 1)[0]) for f in FLOWS] == row.tolist()
    # a self-consumption battery never meets the grid
    assert daily(tou, tou.plants[1], "grid_to_battery").sum() == daily(tou, tou.plants[1], "battery_to_grid").sum() == 0


def test_grid_charging_at_night_and_export_in_the_evening_peak(tou, sampled):
    for i, df in sampled.items():
        p = tou.plants[i]
        hour = df.ts_local.dt.hour
        t = ints(df, [*FLOWS, "battery_soc_pct"])
        charging, exporting = t["grid_to_battery_w"] > 0, t["battery_to_grid_w"] > 0
        assert charging.any() and set(hour[charging]) <= {1, 2, 3, 4}, "grid charging in the cheap window 01-05"
        assert exporting.any() and set(hour[exporting]) <= {17, 18, 19}, "battery export in the peak window 17-20"
        assert t["battery_soc_pct"][exporting].min() >= 29, "an export stops at the 30 % reserve"
        day = {k: daily(tou, p, k) for k in ("pv", "load", "imp", "exp", *(f[:-2] for f in FLOWS))}
        assert 150 < (day["grid_to_battery"] > 0).sum() < 365, "grid charging on some days, not every day"
        assert 60 < (day["battery_to_grid"] > 0).sum() < 150, "export on some days"
        # the days the warehouse's checks are about: on some, rates from period totals leave [0, 1] ...
        if i == 4:  # Munich's winter: little PV, the battery exports what it charged from the grid
            assert ((day["pv"] - day["exp"]) / day["pv"] < 0).sum() > 5
            assert ((day["load"] - day["imp"]) / day["load"] < 0).sum() > 5
        # ... while the rates from the flows never do
        sc = (day["pv_to_load"] + day["pv_to_battery"]) / day["pv"]
        ss = (day["pv_to_load"] + day["battery_to_load"]) / day["load"]
        assert ((0 <= sc) & (sc <= 1)).all() and ((0 <= ss) & (ss <= 1)).all()


def test_a_fall_back_night_charges_through_both_passes_of_the_repeated_hour(tou):
    p = tou.plants[5]  # Newcastle: 02:00-03:00 twice on 6 April, inside the cheap window, on a dull day
    df = tou.plant_day(p.plant_id, date(2025, 4, 6))
    assert len(df) == 300
    repeated = df[df.ts_local.dt.hour == 2]
    assert len(repeated) == 24 and (repeated.grid_to_battery_w > 0).all()
    window = ((df.ts_local.dt.hour >= 1) & (df.ts_local.dt.hour < 5)).to_numpy()
    assert (np.diff(df.battery_soc_pct.to_numpy(dtype=int)[window]) >= 0).all()  # the charge never goes back


def test_a_replayed_tou_day_equals_the_bulk_simulation():
    bulk = get_fleet(6, 7, now=NOW, tou=True)
    alone = Fleet(seed=7, plants=6, now=NOW, tou=True)
    alone._store_slots = False  # the large-fleet path: a day recomputed from its start state
    for p in alone.plants:
        if p.tou:
            for day in (date(2025, 1, 20), date(2025, 10, 26)):
                a, b = alone.plant_day(p.plant_id, day), bulk.plant_day(p.plant_id, day)
                pd.testing.assert_frame_equal(a.drop(columns="reported"), b.drop(columns="reported"))


def test_device_truth_carries_the_flows_of_its_plant(tou):
    day = date(2025, 1, 20)
    for p in tou.plants:
        plant = tou.plant_day(p.plant_id, day)
        for d in p.devices:
            dev = tou.device_day(d.sn, day)
            if d.device_type == 0:  # a grid-tied inverter knows its PV only
                assert dev[FLOWS].isna().all().all()
            else:  # the storage or AC-coupled inverter sees the plant
                pd.testing.assert_frame_equal(dev[FLOWS], plant[FLOWS])
