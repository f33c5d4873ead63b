"""EnergyBalance and device sets against the fleet's truth: Wh per interval, mean W, 15-minute rows, stamps
at interval end in plant-local wall time (or UTC), the last row at next midnight, daylight-saving days, gaps
whose energy the next row carries, and properties left out when there is no value.

The expected rows are re-derived here from the truth table alone (an independent oracle): a row covers k
slots (1 ennexOS, 3 classic) and is served when all of them are reported; the served row carries every
slot since the previous served row; Wh are deltas of floor(cumulative W-slots / 12).
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import requests

DAY = date(2025, 11, 2)
PLANT_COLS = {
    "pvGeneration": "pv_w",
    "totalConsumption": "load_w",
    "gridConsumption": "grid_import_w",
    "gridFeedIn": "grid_export_w",
    "batteryCharging": "battery_charge_w",
    "batteryDischarging": "battery_discharge_w",
}


def oracle(truth: pd.DataFrame, k: int, zone: str | None, first_row: int = 0) -> list[dict]:
    """Expected rows from a truth frame: stamp (interval end), covered slots, and per column W-sum and Wh."""
    rep = truth["reported"].to_numpy(bool)
    ends_utc = truth["ts_utc"] + pd.Timedelta(minutes=5)
    shown = ends_utc.dt.tz_convert(zone) if zone else ends_utc
    stamps = shown.dt.strftime("%Y-%m-%dT%H:%M:%S").tolist()
    cols = [c for c in truth.columns if c.endswith("_w") and truth[c].notna().all()]
    cum = {c: np.concatenate([[0], np.cumsum(truth[c].to_numpy(np.int64))]) for c in cols}
    out, prev = [], first_row * k
    for j in range(first_row, len(truth) // k):
        end = (j + 1) * k
        if rep[j * k : end].all():
            row = {"time": stamps[end - 1], "slots": end - prev}
            for c in cols:
                row[c] = (int(cum[c][end] - cum[c][prev]), int(cum[c][end] // 12 - cum[c][prev] // 12))
            row["soc"] = (
                float(truth["battery_soc_pct"].iloc[end - 1]) if truth["battery_soc_pct"].notna().all() else None
            )
            out.append(row)
            prev = end
    return out


def assert_matches(got: list[dict], want: list[dict], cols: dict, energy: bool):
    assert [r["time"] for r in got] == [r["time"] for r in want]
    for g, w in zip(got, want):
        for prop, col in cols.items():
            wsum, wh = w[col]
            if energy:
                assert g[prop] == float(wh), (g["time"], prop)
                assert abs(g[prop] - wsum / 12.0) < 1.0  # the truth's energy, to the counter's rounding
            else:
                assert g[prop] == round(wsum / w["slots"], 3), (g["time"], prop)


def zone_of(sma, i):
    return sma.plant(i)["timezone"]


@pytest.mark.parametrize("energy", [True, False])
def test_ennexos_balance_is_the_truth_every_five_minutes(sma, energy):
    i = 4  # Munich, hybrid with battery and meter: every property
    got = sma.balance(i, DAY, energy)["set"]
    truth = sma.truth_plant(i, DAY)
    want = oracle(truth, 1, zone_of(sma, i))
    assert len(got) == 288 and got[0]["time"] == "2025-11-02T00:05:00" and got[-1]["time"] == "2025-11-03T00:00:00"
    assert_matches(got, want, PLANT_COLS, energy)
    assert [r["batteryStateOfCharge"] for r in got] == [w["soc"] for w in want]
    if energy:  # a day's rows add up to the truth's total to the Wh
        assert sum(r["pvGeneration"] for r in got) == truth["pv_w"].sum() // 12
        assert abs(sum(r["totalConsumption"] for r in got) / 1000 - truth["load_kwh"].sum()) < 0.001
    else:  # mean W balance in every interval, as the truth's
        for r in got:
            assert (
                r["pvGeneration"] + r["gridConsumption"] + r["batteryDischarging"]
                == r["totalConsumption"] + r["gridFeedIn"] + r["batteryCharging"]
            )


@pytest.mark.parametrize("energy", [True, False])
def test_classic_balance_aggregates_three_truth_slots_per_row(sma, energy):
    i = 1  # Sydney, classic
    got = sma.balance(i, DAY, energy)
    assert got["resolution"] == "FifteenMinutes"
    want = oracle(sma.truth_plant(i, DAY), 3, zone_of(sma, i))
    assert len(got["set"]) == 96 and got["set"][0]["time"].endswith("00:15:00")
    assert got["set"][-1]["time"] == "2025-11-03T00:00:00"
    assert_matches(got["set"], want, PLANT_COLS, energy)


@pytest.mark.parametrize(
    "i, day, rows",
    [
        (4, date(2025, 3, 30), 276),  # Berlin spring forward, ennexOS: 01:55 is followed by 03:00
        (4, date(2025, 10, 26), 300),  # Berlin fall back, ennexOS: 02:05 ... 03:00 twice
        (1, date(2025, 10, 5), 92),  # Sydney spring forward, classic
        (5, date(2025, 4, 6), 100),  # Sydney fall back, classic, with a logger outage that morning
    ],
)
def test_daylight_saving_days(sma, i, day, rows):
    k = 3 if sma.plant(i)["classic"] else 1
    truth = sma.truth_plant(i, day)
    assert len(truth) == rows * k
    got = sma.balance(i, day, True)["set"]
    want = oracle(truth, k, zone_of(sma, i))
    assert_matches(got, want, {"pvGeneration": "pv_w", "totalConsumption": "load_w"}, True)
    assert got[-1]["time"] == f"{day + timedelta(days=1)}T00:00:00"
    times = [r["time"] for r in got]
    if rows in (276, 92):
        assert f"{day}T02:30:00" not in times  # the skipped hour
    else:
        assert len(set(times)) < len(times)  # the repeated hour's wall times appear twice, in time order
    assert sum(r["pvGeneration"] for r in got) == truth["pv_w"].sum() // 12 or not truth["reported"].all()


def test_utc_switch_stamps_the_same_rows_in_utc(sma):
    i = 4
    r = requests.post(sma.s.admin_url + "/sma/config", json={"time_basis": "utc"}, timeout=5)
    assert r.status_code == 200 and r.json()["time_basis"] == "utc"
    try:
        day = date(2025, 10, 26)
        got = sma.balance(i, day, True)["set"]
        want = oracle(sma.truth_plant(i, day), 1, None)
        assert_matches(got, want, {"pvGeneration": "pv_w"}, True)
        assert len(set(r["time"] for r in got)) == 300  # no repeated hour in UTC
        assert got[0]["time"] == "2025-10-25T22:05:00"  # local midnight + 5 min, in UTC
    finally:
        requests.post(sma.s.admin_url + "/sma/config", json={"time_basis": "local"}, timeout=5)
    assert sma.balance(i, DAY, True)["set"][0]["time"] == "2025-11-02T00:05:00"
    assert requests.post(sma.s.admin_url + "/sma/config", json={"time_basis": "cet"}, timeout=5).status_code == 400


@pytest.mark.parametrize("energy", [True, False])
def test_device_sets_are_the_devices_truth(sma, energy):
    i = 2  # Kuala Lumpur, ennexOS, AC-coupled: PV inverter, battery inverter, meter
    zone = zone_of(sma, i)
    (pv,) = sma.devices(i, "pv")
    got = sma.device_set(pv["deviceId"], "EnergyAndPowerPv", DAY, energy)["set"]
    assert_matches(got, oracle(sma.truth_device(pv["fleet_sn"], DAY), 1, zone), {"pvGeneration": "pv_w"}, energy)
    (bat,) = sma.devices(i, "battery")
    got = sma.device_set(bat["deviceId"], "EnergyAndPowerBattery", DAY, energy)["set"]
    want = oracle(sma.truth_device(bat["fleet_sn"], DAY), 1, zone)
    assert_matches(
        got, want, {"batteryCharging": "battery_charge_w", "batteryDischarging": "battery_discharge_w"}, energy
    )
    assert [r["batteryStateOfCharge"] for r in got] == [w["soc"] for w in want]
    (meter,) = sma.devices(i, "meter")
    plant_truth = oracle(sma.truth_plant(i, DAY), 1, zone)
    got = sma.device_set(meter["deviceId"], "EnergyAndPowerInOut", DAY, energy)["set"]
    assert_matches(got, plant_truth, {"gridFeedIn": "grid_export_w", "gridConsumption": "grid_import_w"}, energy)
    got = sma.device_set(meter["deviceId"], "EnergyAndPowerConsumption", DAY, energy)["set"]
    assert_matches(got, plant_truth, {"consumption": "load_w"}, energy)
    # PowerAc carries the same mean power whatever ReturnEnergyValues says
    got = sma.device_set(pv["deviceId"], "PowerAc", DAY, energy)["set"]
    assert_matches(
        [{"time": r["time"], "p": r["activePower"]} for r in got],
        oracle(sma.truth_device(pv["fleet_sn"], DAY), 1, zone),
        {"p": "pv_w"},
        False,
    )


def test_classic_device_rows_are_fifteen_minute_means(sma):
    i = 5
    (pv,) = sma.devices(i, "pv")
    got = sma.device_set(pv["deviceId"], "EnergyAndPowerPv", DAY, False)
    assert got["resolution"] == "FifteenMinutes"
    assert_matches(
        got["set"], oracle(sma.truth_device(pv["fleet_sn"], DAY), 3, zone_of(sma, i)), {"pvGeneration": "pv_w"}, False
    )
    assert any(r["pvGeneration"] != int(r["pvGeneration"]) for r in got["set"])  # means of three, 3 decimals


def test_properties_without_a_value_are_left_out(sma):
    every = {
        "time",
        "pvGeneration",
        "directConsumption",
        "totalConsumption",
        "batteryCharging",
        "batteryDischarging",
        "batteryStateOfCharge",
        "gridFeedIn",
        "gridConsumption",
        "selfConsumption",
        "autarkyRate",
        "selfConsumptionRate",
        "selfSupply",
    }
    battery = {"batteryCharging", "batteryDischarging", "batteryStateOfCharge"}
    for i in range(6):
        info = sma.plant(i)
        rows = sma.balance(i, DAY, False)["set"]
        keys = set().union(*map(set, rows))
        assert all(v is not None for r in rows for v in r.values())
        if not info["has_meter"]:  # grid-tied without a meter: no consumption, no grid, no rates
            assert keys == {"time", "pvGeneration"}
            continue
        assert keys == (every if info["has_battery"] else every - battery)
        for r in rows:  # a rate is sent only where its denominator is not zero
            assert ("selfConsumptionRate" in r) == (r["pvGeneration"] > 0)
            assert ("autarkyRate" in r) == (r["totalConsumption"] > 0)
            if "selfConsumptionRate" in r:
                assert r["selfConsumptionRate"] == pytest.approx(r["selfConsumption"] / r["pvGeneration"], abs=1e-3)
            assert r["selfSupply"] == pytest.approx(r["totalConsumption"] - r["gridConsumption"], abs=2e-3)
    assert {"gridFeedIn", "totalConsumption"}.isdisjoint(set().union(*map(set, sma.balance(0, DAY, True)["set"])))


def test_gap_rows_are_missing_and_the_next_row_carries_their_energy(sma):
    i, day = 2, date(2025, 10, 6)  # an intrinsic logger outage in the afternoon
    truth = sma.truth_plant(i, day)
    assert 0 < (~truth["reported"]).sum() < 288
    for energy in (True, False):
        got = sma.balance(i, day, energy)["set"]
        want = oracle(truth, 1, zone_of(sma, i))
        assert len(got) == truth["reported"].sum()
        assert_matches(got, want, PLANT_COLS, energy)
    rows = sma.balance(i, day, True)["set"]
    power = sma.balance(i, day, False)["set"]
    after = next(j for j, w in enumerate(want) if w["slots"] > 1)
    span_h = want[after]["slots"] * 5 / 60
    # the carried row: its Wh are the whole gap's energy, and mean W x the time since the previous stamp too
    assert rows[after]["pvGeneration"] > 3 * max(rows[after - 1]["pvGeneration"], rows[after + 1]["pvGeneration"])
    assert abs(power[after]["pvGeneration"] * span_h - rows[after]["pvGeneration"]) < 1.0
    assert sum(r["pvGeneration"] for r in rows) == truth["pv_w"].sum() // 12  # nothing lost over the day


def test_offline_span_drops_rows_of_that_device_and_the_plant(make_sma):
    from simulator import Faults

    probe = make_sma(consented=True)
    i = 3
    (pv,) = probe.devices(i, "pv")
    a = pd.Timestamp("2025-11-02 10:00", tz=zone_of(probe, i)).tz_convert("UTC").isoformat()
    b = pd.Timestamp("2025-11-02 11:00", tz=zone_of(probe, i)).tz_convert("UTC").isoformat()
    sma = make_sma(consented=True, faults=Faults(offline={pv["fleet_sn"]: [(a, b)]}))
    got = sma.device_set(pv["deviceId"], "EnergyAndPowerPv", DAY, True)["set"]
    times = [r["time"][11:16] for r in got]
    assert "10:05" not in times and "11:00" not in times and "11:05" in times and len(got) == 288 - 12
    truth = sma.truth_device(pv["fleet_sn"], DAY)
    assert_matches(got, oracle(truth, 1, zone_of(sma, i)), {"pvGeneration": "pv_w"}, True)
    assert len(sma.balance(i, DAY, True)["set"]) == 288 - 12
