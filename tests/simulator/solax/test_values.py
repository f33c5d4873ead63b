"""The stand-in's values against the fleet's truth: powers are the means of the 5 minutes that ended at
the upload, counters the energy through it (to their step), the day's yield resets at local midnight,
and a metered plant's balance rebuilds from its dongles."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from .conftest import KWH_001, KWH_01, Cloud, Truth, epoch


def whole(x: float) -> float:
    return float(math.floor(x + 0.5))


def truths(fleet, d, at: datetime):
    """(plant truth, the dongle's own truth) over the local days around `at`."""
    day = at.astimezone(fleet.zone(d.plant)).date()
    plant = Truth(fleet, d.plant, day - timedelta(days=1), day + timedelta(days=1))
    own = Truth(fleet, d.plant, day - timedelta(days=1), day + timedelta(days=1), device_sn=d.device.sn)
    return plant, own


INSTANTS = ["2025-06-21T03:07:00Z", "2025-09-15T13:58:00Z", "2025-11-02T16:02:00Z", "2025-11-02T23:01:30Z"]


@pytest.mark.parametrize("at", INSTANTS)
def test_powers_are_the_means_of_the_interval_that_ended_at_the_upload(make_solax, at):
    s = make_solax(limits=False, gaps=False)
    cloud = Cloud(s)
    now = cloud.move(now=at)
    for d in s.dongles:
        res = cloud.poll(d.wifi_sn)["result"]
        t = epoch(res["utcDateTime"])
        assert 0 <= now.timestamp() - t < 300 and (t - d.phase_s) % 300 == 0
        plant, own = truths(s.fleet, d, now)
        mean = lambda col, tr=plant, t=t: tr.mean_w(col, t)  # noqa: E731
        if d.role == "pv":
            assert res["acpower"] == whole(mean("pv_w", own))
            dc = res["powerdc1"] + res["powerdc2"]
            assert dc >= res["acpower"] and dc == whole(res["acpower"] / 0.975)
        elif d.role == "hybrid":
            assert res["acpower"] == whole(mean("pv_w") + mean("battery_discharge_w") - mean("battery_charge_w"))
        else:
            assert res["acpower"] == whole(mean("battery_discharge_w") - mean("battery_charge_w"))
            assert res["feedinpowerM2"] == (whole(mean("pv_w")) if d.meter2 else None)
            assert res["powerdc1"] is None
        if d.meter:
            assert res["feedinpower"] == whole(mean("grid_export_w") - mean("grid_import_w"))
        else:
            assert res["feedinpower"] == 0.0 and res["feedinenergy"] == 0.0 and res["consumeenergy"] == 0.0
        if d.battery:
            assert res["batPower"] == whole(mean("battery_charge_w") - mean("battery_discharge_w"))
            assert res["soc"] == plant.soc_before(t)
            assert res["batStatus"] in ("0", "1")
        else:
            assert res["batPower"] is None and res["soc"] is None
        # the day's yield: the truth since local midnight, floored to 0.1 kWh; zero once the plant's day
        # has changed since the upload
        zone = s.fleet.zone(d.plant)
        midnight = int(datetime.strptime(res["uploadTime"][:10], "%Y-%m-%d").replace(tzinfo=zone).timestamp())
        src = ("battery_discharge_w", plant) if d.role == "ac_battery" else ("pv_w", own)
        same_day = now.astimezone(zone).date().isoformat() == res["uploadTime"][:10]
        want = src[1].energy(src[0], midnight, t) // KWH_01 if same_day else 0
        assert round(res["yieldtoday"] * 10) == want


def test_the_balance_of_a_metered_plant_rebuilds_from_its_dongles(make_solax):
    """load = PV + discharge - charge - feed-in, from one upload's powers, to the rounding of its fields."""
    s = make_solax(limits=False, gaps=False)
    cloud = Cloud(s)
    now = cloud.move(now="2025-08-14T02:33:00Z")
    checked = set()
    for d in s.dongles:
        if not d.meter or (d.role == "pv" and len(d.plant.devices) > 1):
            continue
        res = cloud.poll(d.wifi_sn)["result"]
        if d.role == "ac_battery" and not d.meter2:
            continue  # its PV is on the other dongle, at another phase: see the day walk
        t = epoch(res["utcDateTime"])
        plant, _ = truths(s.fleet, d, now)
        pv = res["feedinpowerM2"] if d.role == "ac_battery" else 0.0
        load = pv + res["acpower"] - res["feedinpower"]
        assert abs(load - plant.mean_w("load_w", t)) <= 1.5, d.describe()
        checked.add(d.role)
    assert checked == {"pv", "hybrid", "ac_battery"}


def test_lifetime_counters_between_two_uploads_are_the_truth_to_their_step(make_solax):
    s = make_solax(limits=False, gaps=False)
    cloud = Cloud(s)
    a = cloud.move(now="2025-07-09T20:00:00Z")
    first = {d.wifi_sn: cloud.poll(d.wifi_sn)["result"] for d in s.dongles}
    cloud.move(advance_s=9 * 3600 + 7 * 60)  # across local midnight for every zone served
    for d in s.dongles:
        r0, r1 = first[d.wifi_sn], cloud.poll(d.wifi_sn)["result"]
        t0, t1 = epoch(r0["utcDateTime"]), epoch(r1["utcDateTime"])
        plant, own = truths(s.fleet, d, a)
        src = plant if d.role == "ac_battery" else own
        col = "battery_discharge_w" if d.role == "ac_battery" else "pv_w"
        units = round((r1["yieldtotal"] - r0["yieldtotal"]) * 10)
        assert abs(units - src.energy(col, t0, t1) / KWH_01) < 1, d.describe()
        if d.meter:
            for key, col in (("feedinenergy", "grid_export_w"), ("consumeenergy", "grid_import_w")):
                units = round((r1[key] - r0[key]) * 100)
                assert abs(units - plant.energy(col, t0, t1) / KWH_001) < 1, (key, d.describe())
            assert r0["consumeenergy"] > 0  # a real meter's lifetime counter (zeros mean: no meter)


def test_yieldtoday_resets_at_local_midnight(make_solax):
    s = make_solax(limits=False, gaps=False)
    cloud = Cloud(s)
    d = next(x for x in s.dongles if x.role == "hybrid" and x.phase_s > 60)
    zone = s.fleet.zone(d.plant)
    midnight = datetime(2025, 10, 12, tzinfo=zone)
    plant = Truth(s.fleet, d.plant, midnight.date() - timedelta(days=1), midnight.date())
    day_pv = plant.energy("pv_w", int((midnight - timedelta(days=1)).timestamp()), int(midnight.timestamp()))

    cloud.move(now=(midnight - timedelta(seconds=1)).isoformat())
    before = cloud.poll(d.wifi_sn)["result"]
    assert before["uploadTime"].startswith("2025-10-11 23:5")
    assert round(before["yieldtoday"] * 10) == day_pv // KWH_01 > 0  # no PV after the last upload: the day's total

    # after midnight, before the dongle's first upload of the day: the same upload, its day's yield zeroed
    cloud.move(now=(midnight + timedelta(seconds=d.phase_s - 30)).isoformat())
    stale = cloud.poll(d.wifi_sn)["result"]
    assert stale["uploadTime"] == before["uploadTime"] and stale["yieldtotal"] == before["yieldtotal"]
    assert stale["yieldtoday"] == 0.0

    cloud.move(advance_s=30)
    first = cloud.poll(d.wifi_sn)["result"]
    assert first["uploadTime"] == (midnight + timedelta(seconds=d.phase_s)).strftime("%Y-%m-%d %H:%M:%S")
    assert first["yieldtoday"] == 0.0 and first["yieldtotal"] >= before["yieldtotal"]
