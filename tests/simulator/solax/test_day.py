"""A day of polls on the movable clock, as the pipeline will make them: every 5 minutes a new upload, the
day's PV, import and export rebuilt from the counters and the hours from the powers; an outage (faults or
the loggers' own) repeats the last upload, and the counters carry the energy across it."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

from .conftest import KWH_001, KWH_01, Cloud, Truth, epoch

DAY = date(2025, 11, 2)


def local_midnight(fleet, plant, day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=fleet.zone(plant)).timestamp())


def at_midnight(uploads: list[dict], key: str, mid: int) -> float:
    """A lifetime counter at `mid`, interpolated between the uploads around it (what a poller can do)."""
    t = [epoch(u["utcDateTime"]) for u in uploads]
    i = int(np.searchsorted(t, mid))
    (t0, c0), (t1, c1) = (t[i - 1], uploads[i - 1][key]), (t[i], uploads[i][key])
    return c0 + (c1 - c0) * (mid - t0) / (t1 - t0)


def pv_w(d, u) -> float:
    """The PV power a poller reads from an upload: a grid-tied inverter's AC, a hybrid's AC less its battery."""
    return u["acpower"] if d.role == "pv" else u["acpower"] + u["batPower"]


def test_a_day_of_polls_rebuilds_the_truth(make_solax):
    s = make_solax(gaps=False)  # limits on: 4 dongles every 5 minutes keep well within them
    cloud = Cloud(s)
    fl = s.fleet
    plants = [p for p in fl.plants if p.has_load_monitor]  # metered: grid-tied, storage, AC-coupled
    dongles = [d for d in s.dongles if d.plant in plants]
    assert sorted(d.role for d in dongles) == ["ac_battery", "hybrid", "pv", "pv"]
    start = min(local_midnight(fl, p, DAY) for p in plants) - 600
    end = max(local_midnight(fl, p, DAY + timedelta(days=1)) for p in plants) + 600
    polls = {d.wifi_sn: [] for d in dongles}
    cloud.move(now=datetime.fromtimestamp(start, timezone.utc).isoformat())
    for _ in range((end - start) // 300):
        cloud.move(advance_s=300)
        for d in dongles:
            polls[d.wifi_sn].append(cloud.poll(d.wifi_sn)["result"])
    assert s.stats()["rejected_rate"] == {}

    pv_energy = {}  # plant -> PV of the day from the powers of its uploads (J)
    for d in dongles:
        ups = polls[d.wifi_sn]
        t = np.array([epoch(u["utcDateTime"]) for u in ups])
        assert (np.diff(t) == 300).all(), "one new upload per 5-minute poll, none repeated, none skipped"
        p = d.plant
        m0, m1 = local_midnight(fl, p, DAY), local_midnight(fl, p, DAY + timedelta(days=1))
        plant = Truth(fl, p, DAY - timedelta(days=1), DAY + timedelta(days=1))
        own = Truth(fl, p, DAY - timedelta(days=1), DAY + timedelta(days=1), d.device.sn) if d.role == "pv" else plant
        today = [u for u in ups if u["uploadTime"][:10] == DAY.isoformat()]
        tt = np.array([epoch(u["utcDateTime"]) for u in today])
        assert len(today) == 288

        # yieldtoday: the truth since local midnight; the day's last upload is first seen after local
        # midnight, when the cloud has zeroed it: day totals come from yieldtotal
        col = "battery_discharge_w" if d.role == "ac_battery" else "pv_w"
        assert [round(u["yieldtoday"] * 10) for u in today[:-1]] == [own.energy(col, m0, x) // KWH_01 for x in tt[:-1]]
        assert today[-1]["yieldtoday"] == 0.0
        truth_day = own.energy(col, m0, m1)
        got = (at_midnight(ups, "yieldtotal", m1) - at_midnight(ups, "yieldtotal", m0)) * 10 * KWH_01
        assert abs(got - truth_day) <= KWH_01 + 0.002 * truth_day and truth_day > 20 * KWH_01
        if d.meter:  # grid import and export: lifetime counters across both midnights
            for key, col in (("feedinenergy", "grid_export_w"), ("consumeenergy", "grid_import_w")):
                want = plant.energy(col, m0, m1)
                got = (at_midnight(ups, key, m1) - at_midnight(ups, key, m0)) * 100 * KWH_001
                assert want > 0 and abs(got - want) <= 0.01 * want + 2 * KWH_001, key

        # powers: integrated over the day's uploads, the truth to their whole-W rounding
        span = (tt[0] - 300, tt[-1])
        if d.role != "ac_battery":
            pv = np.array([pv_w(d, u) for u in today]) * 300
            assert abs(pv.sum() - own.energy("pv_w", *span)) <= 300 * len(tt)
            pv_energy[p.plant_id] = pv_energy.get(p.plant_id, 0) + pv.sum()
            # local hours: each upload's mean over its 5 minutes gives the truth's hours within 3 %
            for h in range(24):
                h0, h1 = m0 + 3600 * h, m0 + 3600 * (h + 1)
                got = sum(max(0, min(h1, x) - max(h0, x - 300)) * pv_w(d, u) for x, u in zip(t, ups))
                want = own.energy("pv_w", h0, h1)
                assert abs(got - want) <= 0.03 * want + 3600, (h, got, want)
        elif d.meter2:
            m2 = sum(u["feedinpowerM2"] * 300 for u in today)
            assert abs(m2 - plant.energy("pv_w", *span)) <= 150 * len(tt)
        if d.role == "hybrid":  # its plant's load: what the inverter gives less what goes to the grid
            load = sum((u["acpower"] - u["feedinpower"]) * 300 for u in today)
            assert abs(load - plant.energy("load_w", *span)) <= 300 * len(tt)

    # the AC-coupled plant: PV from its PV inverter's dongle, battery and grid from the X1-AC's
    p = next(p for p in plants if p.plant_type == 3)
    xac = next(d for d in dongles if d.plant is p and d.role == "ac_battery")
    load = pv_energy[p.plant_id] + sum(
        (u["acpower"] - u["feedinpower"]) * 300 for u in polls[xac.wifi_sn] if u["uploadTime"][:10] == DAY.isoformat()
    )
    want = Truth(fl, p, DAY, DAY).energy(
        "load_w", local_midnight(fl, p, DAY), local_midnight(fl, p, DAY + timedelta(days=1))
    )
    assert abs(load - want) <= 0.01 * want


def test_an_outage_repeats_the_last_upload_and_the_counters_carry_it(make_solax):
    s = make_solax(gaps=False)
    cloud = Cloud(s)
    d = next(x for x in s.dongles if x.role == "hybrid")
    a, b = datetime(2025, 11, 2, 1, 0, tzinfo=timezone.utc), datetime(2025, 11, 2, 3, 0, tzinfo=timezone.utc)
    cloud.admin("/faults", "POST", json={"offline": {d.wifi_sn: [[a.isoformat(), b.isoformat()]]}})
    cloud.move(now="2025-11-02T00:00:00Z")
    seen = []
    for _ in range(16):  # every 15 minutes for 4 h
        cloud.move(advance_s=900)
        seen.append(cloud.poll(d.wifi_sn)["result"])
    t = [epoch(r["utcDateTime"]) for r in seen]
    last_before = max(x for x in t if x < a.timestamp())
    during = [r for r, x in zip(seen, t) if x == last_before]
    assert len(during) >= 8  # 2 h of polls every 15 minutes, all showing the same upload
    assert all(r == during[0] for r in during[1:]), "an offline dongle repeats its last upload, values and all"
    assert not any(a.timestamp() <= x < b.timestamp() for x in t)
    after = next(r for r, x in zip(seen, t) if x >= b.timestamp())
    t0, t1 = last_before, epoch(after["utcDateTime"])
    plant = Truth(s.fleet, d.plant, date(2025, 11, 1), date(2025, 11, 3))
    for key, col, step, scale in (
        ("yieldtotal", "pv_w", KWH_01, 10),
        ("feedinenergy", "grid_export_w", KWH_001, 100),
        ("consumeenergy", "grid_import_w", KWH_001, 100),
    ):
        units = round((after[key] - during[0][key]) * scale)
        assert abs(units - plant.energy(col, t0, t1) / step) < 1, key
    # the truth agrees: no upload, and the slots not reported
    ups = cloud.admin("/solax/uploads", params={"wifiSn": d.wifi_sn, "day": "2025-11-02"})
    off = [u for u in ups if not u["uploaded"]]
    assert off and all(a.timestamp() <= epoch(u["utcDateTime"]) < b.timestamp() for u in off)
    assert len(off) == 24
    truth = s.fleet.device_day(d.device.sn, date(2025, 11, 2))
    assert (~truth["reported"]).sum() >= 24


def test_a_logger_outage_of_the_fleet_freezes_the_snapshot(make_solax):
    s = make_solax(limits=False)  # the fleet's own outages on
    cloud = Cloud(s)
    fl = s.fleet
    found = None
    for day in (date(2025, 10, 1) + timedelta(days=i) for i in range(31)):
        for d in s.dongles:
            rep = fl.device_day(d.device.sn, day)
            gap = np.flatnonzero(~rep["reported"].to_numpy(dtype=bool))
            if len(gap) and gap[0] > 0 and gap[-1] < len(rep) - 1:
                found = d, rep, gap
                break
        if found:
            break
    assert found, "the fleet has logger outages"
    d, rep, gap = found
    starts = [int(x.timestamp()) for x in rep["ts_utc"]]
    first_gap, after_gap = starts[gap[0]], starts[gap[-1] + 1]
    last_upload = first_gap + d.phase_s  # the upload of the slot before the outage
    for now in (last_upload, (first_gap + after_gap) // 2, after_gap + 300 + d.phase_s - 1):
        cloud.move(now=datetime.fromtimestamp(now, timezone.utc).isoformat())
        assert epoch(cloud.poll(d.wifi_sn)["result"]["utcDateTime"]) == last_upload
    cloud.move(advance_s=1)
    assert epoch(cloud.poll(d.wifi_sn)["result"]["utcDateTime"]) == after_gap + 300 + d.phase_s
