"""The simulator's data: determinism, conservation, counters consistent with samples, DST days, realism."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from simulator import Fleet, SimulatorServer
from tests.dst import DST_DAYS, PLAIN_DAYS

from .saj.client import Api as SajApi

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=timezone.utc)
TF = "%Y-%m-%d %H:%M:%S"


class Api(SajApi):
    """The SAJ client, logged in, with the whole local days the truth is compared over."""

    def __init__(self, server):
        super().__init__(server)
        self.login()

    def minute(self, sn, day: date):
        return self.upload_data(sn, f"{day} 00:00:00", f"{day} 23:59:59")["data"]

    def sec(self, pid, day: date):
        return self.sec_data(pid, f"{day} 00:00:00", f"{day} 23:59:59")["data"]["dataList"][0]


@pytest.fixture
def api(make_simulator):
    return Api(make_simulator(limits=False, gaps=False))


def num(x):
    return float(x)


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_same_bytes_whatever_the_order(make_simulator):
    a = make_simulator(seed=21, limits=False, now=NOW)
    fleet_b = Fleet(seed=21, plants=6, start_date=date(2025, 1, 1), now=NOW)
    b = SimulatorServer(fleet_b, port=0, limits=False).start()
    try:
        ca, cb = Api(a), Api(b)
        sns = [d.sn for d in a.fleet.devices]
        assert sns == [d.sn for d in fleet_b.devices]
        assert [p.plant_id for p in a.fleet.plants] == [p.plant_id for p in fleet_b.plants]
        days = [date(2025, 7, 3), date(2025, 2, 14), date(2025, 10, 26)]
        got_a = {(sn, d): ca.minute(sn, d) for sn in sns for d in days}
        got_b = {(sn, d): cb.minute(sn, d) for sn in reversed(sns) for d in reversed(days)}
        assert got_a == got_b
        assert [x.__dict__ for x in a.fleet.alarms()] == [x.__dict__ for x in fleet_b.alarms()]
    finally:
        b.stop()
    other = Fleet(seed=22, plants=6, start_date=date(2025, 1, 1), now=NOW)
    assert [d.sn for d in other.devices] != sns


def test_replayed_day_equals_bulk_simulation():
    """A day recomputed alone (large-fleet path) is identical to the bulk pass."""
    f = Fleet(seed=5, plants=6, start_date=date(2025, 1, 1), now=NOW)
    f._store_slots = False
    for p in f.plants:
        for day in (date(2025, 3, 30), date(2025, 8, 9)):
            df = f.plant_day(p.plant_id, day)
            d = (day - f.start_date).days
            for col, k in (("pv_w", "pv"), ("load_w", "load"), ("grid_import_w", "imp"), ("battery_charge_w", "chg")):
                assert int(df[col].sum()) == int(f._daily[k][p.index, d])


# --- conservation -------------------------------------------------------------------------------


def test_every_served_and_true_interval_balances(api):
    fl = api.s.fleet
    day = date(2025, 6, 21)
    for dev in fl.devices:
        if dev.device_type == 0:
            continue
        pts = api.minute(dev.sn, day)["data"]
        assert len(pts) == 288
        for p in pts:
            assert (
                p["pvPower"] + p["buyPower"] + p["dischargePower"] == p["loadPower"] + p["sellPower"] + p["chargePower"]
            )
            assert p["selfUsePower"] == p["loadPower"] - p["buyPower"]
            assert 10 <= p["batterySOC"] <= 100 or p["batterySOC"] == -1
            assert not (p["buyPower"] and p["sellPower"]) and not (p["chargePower"] and p["dischargePower"])
    for p in fl.plants:
        for day in (date(2025, 1, 15), date(2025, 6, 21), date(2025, 10, 26)):
            t = fl.plant_day(p.plant_id, day)
            assert t[["pv_w", "load_w", "grid_import_w", "battery_soc_pct"]].notna().all().all()
            lhs = t.pv_w + t.grid_import_w + t.battery_discharge_w
            rhs = t.load_w + t.grid_export_w + t.battery_charge_w
            assert (lhs == rhs).all()
            assert (t.pv_w >= 0).all() and (t.load_w > 0).all()
            assert np.allclose(t.pv_kwh.astype(float), t.pv_w.astype(float) * 5 / 60 / 1000)


def test_device_truth_versus_plant_truth(api):
    fl = api.s.fleet
    day = date(2025, 6, 21)
    for p in fl.plants:
        plant = fl.plant_day(p.plant_id, day)
        devs = {d.sn: fl.device_day(d.sn, day) for d in p.devices}
        pv_devices = [d for d in p.devices if d.device_type == 0]
        for d in pv_devices:
            assert devs[d.sn].load_w.isna().all() and devs[d.sn].battery_soc_pct.isna().all()
        if p.plant_type == 0:
            assert (sum(devs[d.sn].pv_w for d in pv_devices) == plant.pv_w).all()
        elif p.plant_type == 3:
            (inv,), (ac,) = pv_devices, [d for d in p.devices if d.device_type == 2]
            assert (devs[ac.sn].pv_w == devs[inv.sn].pv_w).all() and (devs[ac.sn].pv_w == plant.pv_w).all()
            # served: the AC-coupled device's pvPower is the grid-tied inverter's power
            a = [x["pvPower"] for x in api.minute(ac.sn, day)["data"]]
            b = [x["power"] for x in api.minute(inv.sn, day)["data"]]
            assert a == b and sum(a) > 0
        else:
            assert (devs[p.devices[0].sn].drop(columns="reported") == plant.drop(columns="reported")).all().all()


# --- counters consistent with samples -----------------------------------------------------------


def test_today_energy_and_day_buckets_match_minute_samples(api):
    fl = api.s.fleet
    for dev in fl.devices:
        day = date(2025, 8, 12)
        pts = api.minute(dev.sn, day)["data"]
        power = [num(p["power"] if dev.device_type == 0 else p["pvPower"]) for p in pts]
        kwh = np.cumsum(power) * 5 / 60 / 1000
        if dev.device_type == 0:
            te = [num(p["todayEnergy"]) for p in pts]
            good = [(a, b) for a, b, w in zip(te, kwh, power) if a != 0 or w == 0]
            assert len(good) > 0.9 * len(pts)
            assert all(abs(a - round(b, 2)) <= 0.011 for a, b in good)
        days = api.upload_data(dev.sn, "2025-08-01 00:00:00", "2025-08-31 23:59:59", time_unit=1)["data"]["data"]
        assert [d["dataTime"] for d in days] == [f"2025-08-{i:02d} 00:00:00" for i in range(1, 32)]
        bucket = next(d for d in days if d["dataTime"].startswith(str(day)))
        assert abs(bucket["pVEnergy"] - kwh[-1]) <= 0.006
        month = api.upload_data(dev.sn, "2025-08-01 00:00:00", "2025-08-31 23:59:59", time_unit=2)["data"]["data"]
        assert month[0]["dataTime"] == "2025-08-01 00:00:00"
        assert abs(month[0]["pVEnergy"] - sum(d["pVEnergy"] for d in days)) <= 0.2
        truth = fl.device_day(dev.sn, day)
        assert abs(float(truth.pv_kwh.sum()) - kwh[-1]) < 1e-6


def test_storage_buckets_and_plant_statistics(api):
    fl = api.s.fleet
    day = date(2025, 9, 20)
    for p in fl.plants:
        dev = next(d for d in p.devices if d.device_type != 0) if p.plant_type else None
        truth = fl.plant_day(p.plant_id, day)
        tk = {
            k: float(truth[c].sum())
            for k, c in [
                ("pv", "pv_kwh"),
                ("load", "load_kwh"),
                ("buy", "grid_import_kwh"),
                ("sell", "grid_export_kwh"),
                ("chg", "battery_charge_kwh"),
                ("dis", "battery_discharge_kwh"),
            ]
        }
        st = api.get("plant/getPlantStatisticsData", plantId=p.plant_id, clientDate=f"{day} 23:59:59")["data"]
        assert abs(num(st["todayPvEnergy"]) - tk["pv"]) <= 0.006
        if p.plant_type == 0 and not p.has_load_monitor:
            assert st["todayLoadEnergy"] == "" and st["todayBuyEnergy"] == ""
            assert st["todaySellEnergy"] == st["todayPvEnergy"]  # the platform books all PV as sold
        else:
            assert abs(num(st["todayLoadEnergy"]) - tk["load"]) <= 0.006
            assert abs(num(st["todayBuyEnergy"]) - tk["buy"]) <= 0.006
            assert abs(num(st["todaySellEnergy"]) - tk["sell"]) <= 0.006
        assert abs(num(st["todayChargeEnergy"]) - tk["chg"]) <= 0.006
        # today up to noon is the sum of the samples stamped before noon
        noon = api.get("plant/getPlantStatisticsData", plantId=p.plant_id, clientDate=f"{day} 12:00:00")["data"]
        before = truth[truth.ts_local < datetime(2025, 9, 20, 12)]
        assert abs(num(noon["todayPvEnergy"]) - float(before.pv_kwh.sum())) <= 0.006
        # month = the days of the month so far; total >= year >= month >= today
        m = sum(float(fl.plant_day(p.plant_id, date(2025, 9, d)).pv_kwh.sum()) for d in range(1, 21))
        assert abs(num(st["monthPvEnergy"]) - m) <= 0.01
        assert (
            num(st["totalPvEnergy"]) >= num(st["yearPvEnergy"]) >= num(st["monthPvEnergy"]) >= num(st["todayPvEnergy"])
        )
        if dev is not None:
            mt = api.minute(dev.sn, day)
            tot = mt["total"]
            pts = mt["data"]
            assert abs(tot["totalPVEnergy"] - sum(x["pvPower"] for x in pts) / 12000) <= 0.006
            assert abs(tot["totalBuyEnergy"] - tk["buy"]) <= 0.006
            dd = api.upload_data(dev.sn, f"{day} 00:00:00", f"{day} 23:59:59", time_unit=1)["data"]
            b = dd["data"][0]
            assert abs(b["loadEnergy"] - tk["load"]) <= 0.006 and abs(b["sellEnergy"] - tk["sell"]) <= 0.006
            assert abs(b["selfConsumption"] - (tk["pv"] - tk["sell"])) <= 0.011
        if p.has_load_monitor:
            sec = api.sec(p.plant_id, day)
            assert abs(sec["total"]["pvEnergy"] - tk["pv"]) <= 0.006
            assert abs(sec["total"]["loadEnergy"] - tk["load"]) <= 0.006


# --- time ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tz,day,n",  # n: the day's 5-minute samples (276, 288 or 300)
    [(tz, day, hours * 12) for tz, day, hours in DST_DAYS + [PLAIN_DAYS[3], PLAIN_DAYS[0]]],
)
def test_dst_days_have_23_or_25_hours(api, tz, day, n):
    fl = api.s.fleet
    p = next(p for p in fl.plants if p.time_zone == tz)
    dev = p.devices[-1]
    pts = api.minute(dev.sn, day)["data"]
    stamps = [x["dataTime"] for x in pts]
    assert len(pts) == n
    assert stamps[0] == f"{day} 00:00:00" and stamps[-1] == f"{day} 23:55:00"
    truth = fl.device_day(dev.sn, day)
    assert len(truth) == n and truth.ts_utc.is_monotonic_increasing
    assert (truth.ts_utc.diff().dropna() == timedelta(minutes=5)).all()
    assert [t.strftime(TF) for t in truth.ts_local] == stamps
    if n == 300:  # the repeated hour is served twice, in time order
        assert len(set(stamps)) == 288 and stamps.count(f"{day} 02:30:00") == 2
    if n == 276:
        assert f"{day} 02:30:00" not in stamps


def test_windows_are_read_in_plant_local_time(api):
    fl = api.s.fleet
    for p in fl.plants:
        dev = p.devices[0]
        pts = api.upload_data(dev.sn, "2025-06-01 12:00:00", "2025-06-01 12:59:59")["data"]["data"]
        assert [x["dataTime"][11:16] for x in pts] == [f"12:{m:02d}" for m in range(0, 60, 5)]
        truth = fl.device_day(dev.sn, date(2025, 6, 1))
        row = truth[truth.ts_local == datetime(2025, 6, 1, 12)].iloc[0]
        assert int(num(pts[0]["power" if dev.device_type == 0 else "pvPower"])) == row.pv_w


def test_data_is_served_only_up_to_now(make_simulator):
    s = make_simulator(limits=False, now=datetime(2025, 6, 1, 10, 2, tzinfo=timezone.utc))
    api = Api(s)
    fl = s.fleet
    p = next(p for p in fl.plants if p.time_zone == "Europe/Berlin")  # 12:02 local
    pts = api.minute(p.devices[0].sn, date(2025, 6, 1))["data"]
    assert pts[-1]["dataTime"] == "2025-06-01 11:55:00"
    assert api.minute(p.devices[0].sn, date(2025, 6, 2))["data"] == []
    assert api.minute(p.devices[0].sn, date(2024, 12, 31))["data"] == []  # before commissioning
    truth = fl.device_day(p.devices[0].sn, date(2025, 6, 1))
    assert truth.reported.sum() <= 144 and not truth.reported.iloc[-1]


def test_intrinsic_gaps_are_not_served(make_simulator):
    s = make_simulator(limits=False)  # gaps on by default
    api = Api(s)
    fl = s.fleet
    found = 0
    for dev in fl.devices[:4]:
        for d in range(120, 200):
            day = date(2025, 1, 1) + timedelta(days=d)
            t = fl.device_day(dev.sn, day)
            if not t.reported.all():
                pts = api.minute(dev.sn, day)["data"]
                assert len(pts) == int(t.reported.sum())
                found += 1
                break
    assert found >= 1


# --- realism ------------------------------------------------------------------------------------


def test_realism_over_a_year():
    f = Fleet(seed=7, plants=12, start_date=date(2025, 1, 1), now=datetime(2026, 1, 2, tzinfo=timezone.utc))
    for p in f.plants:
        s = {k: v / 12000 for k, v in f.daily_sums(p, 0, 365).items()}
        pv, load, imp, exp = s["pv"], s["load"], s["imp"], s["exp"]
        sc, ss = (pv - exp) / pv, (load - imp) / load
        specific = pv / p.system_power_kwp
        assert 0.8 < pv / load < 1.25, p
        if p.country == "Germany":
            assert 850 <= specific <= 1100, (p.name, specific)
        else:
            assert 900 <= specific <= 1600, (p.name, specific)
        if p.battery_kwh == 0:
            assert 0.25 <= sc <= 0.45 and 0.25 <= ss <= 0.40, (p.name, sc, ss)
        else:
            assert 0.8 <= p.battery_kwh / (load / 1000) <= 1.25
            assert 0.55 <= sc <= 0.70 and 0.50 <= ss <= 0.65, (p.name, sc, ss)
            assert s["dis"] < s["chg"]  # round-trip losses
    # seasons: German summer months produce several times the winter months
    de = next(p for p in f.plants if p.country == "Germany")
    jan, jun = f.daily_sums(de, 0, 31)["pv"], f.daily_sums(de, 151, 181)["pv"]
    assert jun > 3 * jan
    au = next(p for p in f.plants if p.country == "Australia")
    assert f.daily_sums(au, 0, 31)["pv"] > f.daily_sums(au, 181, 212)["pv"]


def test_profiles_look_like_a_household_and_the_sun():
    f = Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=NOW)
    p = next(p for p in f.plants if p.time_zone == "Europe/Berlin")
    frames = [f.plant_day(p.plant_id, date(2025, 6, 2) + timedelta(days=i)) for i in range(14)]
    import pandas as pd

    df = pd.concat(frames)
    hour = df.ts_local.dt.hour
    load = df.load_w.astype(float).groupby(hour).mean()
    pv = df.pv_w.astype(float).groupby(hour).mean()
    assert load[19] > 1.5 * load[3] and load[7] > load[3]
    assert pv[13] > 0 and pv[0] == 0 and pv[23] == 0 and pv.idxmax() in (12, 13, 14)
    assert df.pv_w.max() <= p.system_power_kwp * 1000


def test_a_fleet_of_a_given_size_spreads_inverters_over_grid_tied_plants():
    fleet = Fleet(seed=7, plants=20, devices=40, now=datetime(2025, 11, 3, tzinfo=timezone.utc))
    assert len(fleet.devices) == 40 and len(fleet.plants) == 20
    day = date(2025, 6, 17)
    for plant in fleet.plants:
        if plant.plant_type == 0:
            assert len(plant.devices) >= 2
            # the plant's PV is its inverters' PV, split between them, in every interval
            pv = sum(fleet.device_day(d.sn, day)["pv_w"].to_numpy(dtype=float) for d in plant.devices)
            assert np.array_equal(pv, fleet.plant_day(plant.plant_id, day)["pv_w"].to_numpy(dtype=float))
    assert len(Fleet(seed=7, plants=20).devices) < 40  # the usual mix is unchanged without `devices`
    with pytest.raises(ValueError, match="need at least"):
        Fleet(seed=7, plants=20, devices=10)
