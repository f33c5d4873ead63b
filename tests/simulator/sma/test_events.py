"""What changes with time: classic plants' late data, the replaced inverter and its first-reading spike,
the logs of faults beginning and ending, the Recent period, the CLI, and the server's speed."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import requests

from simulator import Faults, Fleet
from tests.cli import serving
from tests.conftest import SIM_NOW, SIM_START

DAY = date(2025, 11, 2)


def last_end(sma, i) -> datetime:
    """The UTC end of the plant's last served row (today's, or yesterday's just after local midnight)."""
    zone = ZoneInfo(sma.plant(i)["timezone"])
    today = sma.fleet.now.astimezone(zone).date()
    rows = sma.balance(i, today, True)["set"] or sma.balance(i, today - timedelta(days=1), True)["set"]
    return datetime.fromisoformat(rows[-1]["time"]).replace(tzinfo=zone).astimezone(timezone.utc)


def test_classic_data_arrives_in_batches_up_to_two_hours_late(make_sma):
    fleet = Fleet(seed=7, plants=6, start_date=SIM_START, now=SIM_NOW)
    sma = make_sma(fleet=fleet, consented=True)
    seen = set()
    for step in range(0, 4 * 60 + 1, 5):  # walk four hours of polls, every 5 minutes
        fleet.set_now(SIM_NOW + timedelta(minutes=step))
        now = fleet.now
        ennexos, classic = last_end(sma, 4), last_end(sma, 1)
        assert now - timedelta(minutes=5) < ennexos <= now  # processed on the fly
        assert now - timedelta(hours=2) < classic <= now  # at most two hours behind
        seen.add(classic)
    ends = sorted(seen)
    # rows appear in batches: one new end per processing run, eight 15-minute rows at a time
    assert len(ends) == 3 and all(b - a == timedelta(hours=2) for a, b in zip(ends, ends[1:]))


def test_lateness_fault_holds_back_ennexos_rows(make_sma):
    sma = make_sma(consented=True, faults=Faults(late_s=1800))
    assert SIM_NOW - timedelta(minutes=35) < last_end(sma, 4) <= SIM_NOW - timedelta(minutes=30)


def test_recent_is_the_last_row_of_today(sma):
    pid = sma.plant(4)["plantId"]
    recent = sma.ok(f"/v1/plants/{pid}/measurements/sets/EnergyBalance/Recent")["set"]
    today = sma.balance(4, date(2025, 11, 3), True)["set"]
    power = sma.balance(4, date(2025, 11, 3), False)["set"]
    assert len(recent) == 1 and recent[0] == power[-1] and recent[0]["time"] == today[-1]["time"]
    assert sma.get(f"/v1/plants/{pid}/measurements/sets/EnergyBalance/Month", Date="2025-11").status_code == 400
    assert sma.get(f"/v1/plants/{pid}/measurements/sets/EnergyBalance/Day").status_code == 400
    assert sma.balance(4, date(2025, 11, 4), True)["set"] == []  # the future
    assert sma.balance(4, date(2024, 12, 31), True)["set"] == []  # before commissioning


def test_replaced_inverter_old_history_new_device_and_its_first_row_spike(sma):
    swap = date.fromisoformat(sma.info["swap_day"])
    old, new = [d for d in sma.devices(0, "pv") if d["fleet_sn"] == sma.devices(0, "pv")[-1]["fleet_sn"]]
    assert old["deactivated_on"] == new["active_from"] == swap.isoformat()
    lean = sma.ok(f"/v1/plants/{sma.plant(0)['plantId']}/devices/lean")["devices"]
    assert old["deviceId"] not in {d["deviceId"] for d in lean} and new["deviceId"] in {d["deviceId"] for d in lean}
    both = sma.ok(f"/v1/plants/{sma.plant(0)['plantId']}/devices/lean", WithDeactivatedDevices="true")["devices"]
    gone = next(d for d in both if d["deviceId"] == old["deviceId"])
    assert gone["isActive"] is False and gone["deactivatedAt"] == f"{swap}T00:00:00"

    before = swap - timedelta(days=1)
    assert len(sma.device_set(old["deviceId"], "EnergyAndPowerPv", before, True)["set"]) > 0
    assert sma.device_set(old["deviceId"], "EnergyAndPowerPv", swap, True)["set"] == []
    assert sma.device_set(new["deviceId"], "EnergyAndPowerPv", before, True)["set"] == []

    rows = sma.device_set(new["deviceId"], "EnergyAndPowerPv", swap, True)["set"]
    power = sma.device_set(new["deviceId"], "EnergyAndPowerPv", swap, False)["set"]
    gen = next(d for d in lean if d["deviceId"] == new["deviceId"])["generatorPower"]
    first, rest = rows[0], rows[1:]
    truth = sma.truth_device(new["fleet_sn"], swap)
    assert first["pvGeneration"] > 100 * gen * 5 / 60  # absurd for five minutes: the counter's jump
    assert first["pvGeneration"] == new["spike_wh"]  # at dawn: the interval itself produced nothing
    assert sum(r["pvGeneration"] for r in rest) == truth["pv_w"].sum() // 12  # after it, the truth
    assert max(r["pvGeneration"] for r in power) <= gen  # mean power knows no spike
    # the plant's balance books the jump too, in energy values only
    balance = {r["time"]: r["pvGeneration"] for r in sma.balance(0, swap, True)["set"]}
    assert balance[first["time"]] >= new["spike_wh"]
    assert max(r["pvGeneration"] for r in sma.balance(0, swap, False)["set"]) < gen * 3


def test_before_the_swap_day_the_new_inverter_does_not_exist(make_sma):
    early = Fleet(seed=7, plants=6, start_date=SIM_START, now=datetime(2025, 10, 1, 12, tzinfo=timezone.utc))
    sma = make_sma(fleet=early, consented=True)
    old, new = [d for d in sma.devices(0, "pv") if d["fleet_sn"] == sma.devices(0, "pv")[-1]["fleet_sn"]]
    lean = sma.ok(f"/v1/plants/{sma.plant(0)['plantId']}/devices/lean")["devices"]
    assert {d["deviceId"]: d["isActive"] for d in lean if d["deviceId"] in (old["deviceId"], new["deviceId"])} == {
        old["deviceId"]: True
    }
    assert sma.get(f"/v1/devices/{new['deviceId']}/measurements/sets").status_code == 404


def test_logs_report_faults_beginning_and_ending(sma):
    fleet = sma.fleet
    checked = 0
    for i in range(6):
        info = sma.plant(i)
        zone = info["timezone"]
        by_sn = {}
        for d in info["devices"]:
            by_sn.setdefault(d["fleet_sn"], d)
        for day in (date(2025, 10, 30), date(2025, 10, 31), DAY):
            got = sma.ok(f"/v1/plants/{info['plantId']}/logs", Date=day.isoformat())["logs"]
            want = []
            for a in fleet.alarms():
                if a.plant_id != info["fleet_plant_id"]:
                    continue
                for status, at in (("Began", a.started_at), ("Ended", a.ended_at)):
                    local = at.astimezone(ZoneInfo(zone)) if at is not None else None
                    if local is not None and local.date() == day:
                        want.append((local.strftime("%Y-%m-%dT%H:%M:%S"), status, a.alarm_name))
            assert sorted((r["time"], r["status"], r["message"]) for r in got) == sorted(want)
            for r in got:
                assert r["logId"] == ("" if info["classic"] else str(r["messageTagId"] - 9_000_000))
                assert r["category"] in ("Warning", "Error") and isinstance(r["messageTagId"], int)
            checked += len(got)
            dev = next(d for d in info["devices"] if d["kind"] in ("pv", "hybrid"))
            mine = sma.ok(f"/v1/devices/{dev['deviceId']}/logs", Date=day.isoformat())["logs"]
            assert mine == [r for r in got if r["deviceId"] == dev["deviceId"]]
    assert checked >= 5


def test_cli_starts_and_answers():
    args = ["--plants", "2", "--now", "2025-11-03T12:00:00Z", "--consented", "--bucket-size", "50"]
    with serving("sma", *args) as proc:
        lines = []
        while sum(line.startswith("owner") for line in lines) < 2:  # the banner ends with the two owners
            lines.append(proc.stdout.readline())
            assert lines[-1], "the CLI ended before its banner: " + "".join(lines)
        text = "".join(lines)
        urls = dict(re.findall(r"(SMA_\w+_URL)\s+= (\S+)", text))
        cid = re.search(r"client id\s+: (\S+)", text).group(1)
        secret = re.search(r"client secret\s+: (\S+)", text).group(1)
        assert set(urls) == {"SMA_AUTH_URL", "SMA_CONSENT_URL", "SMA_API_URL"} and "consent: Accepted" in text
        token = requests.post(
            urls["SMA_AUTH_URL"] + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(cid, secret),
            timeout=5,
        ).json()["access_token"]
        plants = requests.get(
            urls["SMA_API_URL"] + "/v1/plants", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).json()["plants"]
        assert len(plants) == 2
