"""SMA plants on a time-of-use tariff (Fleet(tou=True)), end to end: on a day the battery charges from the grid
at night and exports in the evening, the marts' energy flows and rates are the truth's, within [0, 1], at 5
minutes (Munich, ennexOS) and at 15 (Newcastle, classic).

The marts split each measured interval into flows (the README's rule, `physics.flows`): the truth's terms
summed over SMA's interval and split by the same rule must give the marts' flows to SMA's whole Wh. At 5
minutes that is the truth's own flows. A 15-minute row is split as a whole, which moves energy between flows
where the 5-minute slots inside it differ (the battery switching from charge to discharge within the quarter
hour): measured against the truth's 5-minute flows, and bounded below.
"""

from __future__ import annotations

import pytest

from assets.checks import FLOWS
from simulator.core.physics import flows
from tests.assets.sma.conftest import run_days
from tests.simulator.tou import trading_days
from tests.support import ENERGIES, query

TERMS = ("pv_kwh", "load_kwh", "battery_charge_kwh", "battery_discharge_kwh")


def flows_at(truth, interval: int) -> dict[str, float]:
    """The day's flows of the truth's terms summed over `interval` seconds and split by the rule."""
    slots = interval // 300
    sums = truth[list(TERMS)].astype(float).groupby(truth.index // slots).sum()
    return {f"{k}_kwh": float(v) for k, v in flows(*(sums[t].to_numpy() for t in TERMS), daily=True).items()}


@pytest.mark.parametrize("index, interval", [(4, 300), (5, 900)])  # Munich (ennexOS), Newcastle (classic)
def test_a_trading_days_flows_and_rates_are_the_truths(make_sma, tmp_path, index, interval):
    sma = make_sma(consented=True, fleet_kwargs={"tou": True})
    info = sma.plant(index)
    plant = sma.fleet.plant(info["fleet_plant_id"])
    assert plant.tou and info["has_meter"] and info["has_battery"]
    day = trading_days(sma.fleet, plant, first=150)[0]
    truth = sma.truth_plant(index, day)
    assert truth.grid_to_battery_kwh.sum() > 0.1 and truth.battery_to_grid_kwh.sum() > 0.1

    assert run_days(sma, tmp_path, day).success
    (row,) = query(
        tmp_path,
        "SELECT * FROM self_consumption_daily WHERE plant_id = $p AND day = $d",
        {"p": info["plantId"], "d": day},
    ).itertuples()
    assert row.energy_basis == "samples" and row.expected_samples == len(truth) * 300 // interval
    for term in ENERGIES:  # SMA's whole Wh: a row within 1 Wh
        assert getattr(row, term) == pytest.approx(float(truth[term].sum()), abs=0.001 * len(truth)), term
    split, fine = flows_at(truth, interval), flows_at(truth, 300)
    assert fine == pytest.approx({f: float(truth[f].sum()) for f in FLOWS}, abs=1e-6)  # the truth's own flows
    pv, load = float(truth.pv_kwh.sum()), float(truth.load_kwh.sum())
    # vs the 5-minute flows: SMA's whole Wh at 5 minutes; at 15, within 2 % of the day's PV and load
    blur = 0.01 if interval == 300 else 0.02 * (pv + load)
    worst = resolution = 0.0
    for flow in FLOWS:
        got = getattr(row, flow)
        assert got == pytest.approx(split[flow], abs=0.01), (flow, got, split[flow])
        assert got == pytest.approx(fine[flow], abs=blur), (flow, got, fine[flow])
        worst, resolution = max(worst, abs(got - split[flow])), max(resolution, abs(got - fine[flow]))
    rates = {}
    for name, flows_of in (("split", split), ("fine", fine)):
        rates[name] = (
            (flows_of["pv_to_load_kwh"] + flows_of["pv_to_battery_kwh"]) / pv,
            (flows_of["pv_to_load_kwh"] + flows_of["battery_to_load_kwh"]) / load,
        )
    got_rates = (row.self_consumption_rate, row.self_sufficiency_rate)
    assert all(0 <= r <= 1 for r in got_rates)
    assert got_rates == pytest.approx(rates["split"], abs=1e-3)
    assert got_rates == pytest.approx(rates["fine"], abs=1e-3 if interval == 300 else 0.02)
    # what the day's terms alone would say is not what happened: the grid charged the battery, which exported
    assert row.grid_to_battery_kwh > 0.1 and row.battery_to_grid_kwh > 0.1
    assert row.pv_to_grid_kwh < row.grid_export_kwh - 0.1  # not all that was exported was PV
    hours = query(tmp_path, "SELECT * FROM plant_energy_hourly WHERE plant_id = $p", {"p": info["plantId"]})
    assert (hours[list(FLOWS)] >= -1e-9).all().all() and (hours.coverage == 1).all()
    print(
        f"\nSMA TOU {info['plantId']} {day} ({interval} s): worst flow error {worst:.4f} kWh (vs the 5-minute "
        f"truth {resolution:.4f} kWh); rates {got_rates} vs the truth's 5-minute {rates['fine']}"
    )
