"""SMA's EnergyBalance for the plants on a time-of-use tariff (Fleet(tou=True)): the rows are the truth's,
and the properties SMA derives (direct consumption, self-consumption, self-supply and their rates) are the
truth's flows, so they stay right when the battery charges from the grid or exports to it."""

from __future__ import annotations

import pytest

from ..tou import trading_days
from .test_series import PLANT_COLS, assert_matches, oracle, zone_of

DERIVED = {"directConsumption": "direct_w", "selfConsumption": "selfcons_w", "selfSupply": "selfsupply_w"}


def trading_day(fleet, plant):
    """The plant's first day from June that charged the battery from the grid and exported from it while the
    sun still shone (there the flows differ from what the day's terms alone suggest)."""
    for day in trading_days(fleet, plant, first=150):
        df = fleet.plant_day(plant.plant_id, day)
        if ((df.battery_to_grid_w > 0) & (df.pv_w > 0)).any():
            return day
    raise AssertionError("no trading day with sun in the evening peak")


@pytest.mark.parametrize("energy", [True, False])
@pytest.mark.parametrize("i, k", [(4, 1), (5, 3)])  # Munich (ennexOS, 5-minute rows), Newcastle (classic, 15)
def test_the_balance_of_a_trading_day_is_the_truth_and_its_flows(make_sma, i, k, energy):
    sma = make_sma(consented=True, fleet_kwargs={"tou": True})
    p = sma.fleet.plants[i]
    assert p.tou
    day = trading_day(sma.fleet, p)
    truth = sma.truth_plant(i, day)
    assert truth.grid_to_battery_w.sum() > 0 and truth.battery_to_grid_w.sum() > 0
    truth["direct_w"] = truth.pv_to_load_w
    truth["selfcons_w"] = truth.pv_w - truth.pv_to_grid_w  # PV kept on site
    truth["selfsupply_w"] = truth.load_w - truth.grid_to_load_w  # load covered on site
    got = sma.balance(i, day, energy)["set"]
    want = oracle(truth, k, zone_of(sma, i))
    assert len(got) == len(want) > 80
    assert_matches(got, want, PLANT_COLS | DERIVED, energy)
    for r in got:
        assert 0 <= r.get("selfConsumptionRate", 0) <= 1 and 0 <= r["autarkyRate"] <= 1
        if not energy:
            assert r["pvGeneration"] + r["gridConsumption"] + r["batteryDischarging"] == pytest.approx(
                r["totalConsumption"] + r["gridFeedIn"] + r["batteryCharging"], abs=0.002
            )  # means of whole watts, to 3 decimals
    # the night's grid charge and the evening's export are in the rows
    assert any(r["gridConsumption"] > r["totalConsumption"] for r in got)
    assert any(r["gridFeedIn"] > r["pvGeneration"] for r in got)
