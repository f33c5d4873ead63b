"""SAJ's endpoints for the plants on a time-of-use tariff (Fleet(tou=True)), over HTTP against the truth: the
battery charging from the grid at night and exporting in the evening peak shows in the samples, the counters
and the statistics; the platform's self-use figures count what the load took from the grid and what PV
sent to it, so its rates stay within [0, 1]."""

from __future__ import annotations

from datetime import date

import pytest

from ..tou import trading_days
from .client import Api

TF = "%Y-%m-%d %H:%M:%S"
KWH = 5 / 60 / 1000


@pytest.fixture
def tou(make_simulator) -> Api:
    a = Api(make_simulator(limits=False, fleet_kwargs={"tou": True, "gaps": False}))
    a.login()
    return a


def trading_day(fleet, plant) -> date:
    """The plant's first trading day on which it bought more than its load (the rates from day totals leave
    [0, 1] there), else its first trading day."""

    def bought_more_than_load(day: date) -> bool:
        d = (day - fleet.start_date).days
        s = fleet.daily_sums(plant, d, d + 1)
        return s["imp"] > s["load"]

    days = trading_days(fleet, plant)
    return next((d for d in days if bought_more_than_load(d)), days[0])


def whole_day(day: date) -> dict:
    return {"startTime": f"{day} 00:00:00", "endTime": f"{day} 23:59:59"}


@pytest.mark.parametrize("index", [4, 5])  # the storage plant (no load monitor) and the AC-coupled one
def test_a_trading_day_is_served_as_the_truth(tou, index):
    fl = tou.s.fleet
    p = fl.plants[index]
    assert p.tou
    day = trading_day(fl, p)
    truth = fl.plant_day(p.plant_id, day)
    kwh = {c[:-4]: float(truth[c].sum()) for c in truth.columns if c.endswith("_kwh")}
    assert kwh["grid_to_battery"] > 0.1 and kwh["battery_to_grid"] > 0.1
    dev = next(d for d in p.devices if d.device_type != 0)
    up = tou.get("device/uploadData", deviceSn=dev.sn, timeUnit=0, **whole_day(day))["data"]
    pts = up["data"]
    assert [x["dataTime"] for x in pts] == truth.ts_local.dt.strftime(TF).tolist()
    for field, col in (
        ("pvPower", "pv_w"),
        ("loadPower", "load_w"),
        ("buyPower", "grid_import_w"),
        ("sellPower", "grid_export_w"),
        ("chargePower", "battery_charge_w"),
        ("dischargePower", "battery_discharge_w"),
    ):
        assert [x[field] for x in pts] == truth[col].astype(int).tolist(), field
    own = (truth.load_w - truth.grid_to_load_w).astype(int).tolist()
    assert [x["selfUsePower"] for x in pts] == own  # the load served on site, not load - buy
    soc = truth.battery_soc_pct.astype(int).tolist()
    assert all(x["batterySOC"] in (s, -1) for x, s in zip(pts, soc))
    total = up["total"]
    assert total["totalBuyEnergy"] == pytest.approx(kwh["grid_import"], abs=0.006)
    assert total["totalSellEnergy"] == pytest.approx(kwh["grid_export"], abs=0.006)
    assert total["loadSelfConsumedRate"] == pytest.approx(1 - kwh["grid_to_load"] / kwh["load"], abs=1e-4)
    assert total["pvSelfConsumedRate"] == pytest.approx(1 - kwh["pv_to_grid"] / kwh["pv"], abs=1e-4)
    for rate in ("buyRate", "loadSelfConsumedRate", "pvSelfConsumedRate", "sellRate"):
        assert 0 <= total[rate] <= 1, rate
    bucket = tou.get("device/uploadData", deviceSn=dev.sn, timeUnit=1, **whole_day(day))["data"]["data"][0]
    assert bucket["buyEnergy"] == pytest.approx(kwh["grid_import"], abs=0.006)
    assert bucket["sellEnergy"] == pytest.approx(kwh["grid_export"], abs=0.006)
    assert bucket["selfConsumption"] == pytest.approx(kwh["pv"] - kwh["pv_to_grid"], abs=0.006)
    # plant statistics: the battery's charge counts what it took from the grid, its discharge what it exported
    st = tou.get("plant/getPlantStatisticsData", plantId=p.plant_id, clientDate=f"{day} 23:59:59")["data"]
    for field, k in (
        ("todayChargeEnergy", "battery_charge"),
        ("todayDisChargeEnergy", "battery_discharge"),
        ("todayBuyEnergy", "grid_import"),
        ("todaySellEnergy", "grid_export"),
        ("todayLoadEnergy", "load"),
    ):
        assert float(st[field]) == pytest.approx(kwh[k], abs=0.006), field
    assert kwh["battery_charge"] > kwh["pv_to_battery"] + 0.1  # so the check above counts the grid's share


def test_the_load_monitor_of_a_trading_plant(tou):
    fl = tou.s.fleet
    p = fl.plants[5]  # AC-coupled, with a load monitor (its EMS module)
    assert p.tou and p.module_sn
    day = trading_day(fl, p)
    truth = fl.plant_day(p.plant_id, day)
    sec = tou.get("device/secData", plantId=p.plant_id, timeUnit=0, **whole_day(day))["data"]["dataList"][0]
    assert [x["selfUsePower"] for x in sec["data"]] == (truth.load_w - truth.grid_to_load_w).astype(int).tolist()
    assert [x["buyPower"] for x in sec["data"]] == truth.grid_import_w.astype(int).tolist()
    charge = float(truth.battery_charge_kwh.sum())
    assert sec["total"]["chargeEnergy"] == pytest.approx(charge, abs=0.006)
    assert 0 <= sec["total"]["loadSelfConsumedRate"] <= 1 and 0 <= sec["total"]["pvSelfConsumedRate"] <= 1
    # the EMS's year breakdown of what went to the grid: from PV and from the battery
    hist = tou.get("device/emsHistoryData", emsSn=p.module_sn, plantId=p.plant_id, **whole_day(day))["data"]
    d1 = (day - fl.start_date).days + 1
    year = {k: fl.daily_array(p, k, 0, d1).sum() / 12000 for k in ("pv_to_grid", "battery_to_grid", "exp")}
    last = hist[-1]
    assert year["battery_to_grid"] > 1
    assert float(last["yearGridFeedInBatEnergy"]) == pytest.approx(year["battery_to_grid"], abs=0.01)
    assert float(last["yearGridFeedInPVEnergy"]) == pytest.approx(year["pv_to_grid"], abs=0.01)
    assert float(last["yearGridFeedInEnergy"]) == pytest.approx(year["exp"], abs=0.01)
    assert [int(h["parallBatPower"]) for h in hist] == (truth.battery_discharge_w - truth.battery_charge_w).astype(
        int
    ).tolist()
