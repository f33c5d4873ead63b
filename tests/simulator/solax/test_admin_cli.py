"""What a test of the pipeline needs from the stand-in: the sites CSV, the token, the dongles, the CLI
(`python -m simulator solax --dongles N`), and answers fast enough to walk days of polls."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
import requests

from simulator import Fleet
from simulator.solax import SolaxServer, token_for
from simulator.solax.cli import fleet_size
from tests.cli import serving

from .conftest import Cloud


def test_sites_csv_is_one_row_per_registration_number(make_solax):
    s = make_solax()
    r = requests.get(s.admin_url + "/solax/sites.csv", timeout=5)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.text.splitlines()[0] == "wifi_sn,plant_id,plant_name,time_zone,system_power_kwp"
    fl = s.fleet
    assert len(rows) == len(fl.devices) and len({row["wifi_sn"] for row in rows}) == len(rows)
    for row, dev in zip(rows, fl.devices):
        p = fl.plant(dev.plant_id)
        assert (row["plant_id"], row["plant_name"], row["time_zone"], float(row["system_power_kwp"])) == (
            p.plant_id,
            p.name,
            p.time_zone,
            p.system_power_kwp,
        )
        assert len(row["wifi_sn"]) == 10 and row["wifi_sn"].startswith("S")
    assert {row["time_zone"] for row in rows} >= {"PRC", "Europe/Berlin"}
    assert s.sites_csv() == r.text
    # several dongles for one plant (grid-tied with two inverters, AC-coupled)
    per_plant = {}
    for row in rows:
        per_plant[row["plant_id"]] = per_plant.get(row["plant_id"], 0) + 1
    assert max(per_plant.values()) == 2


def test_dongles_describe_the_mapping(make_solax):
    s = make_solax()
    got = Cloud(s).admin("/solax/dongles")
    assert [g["device_sn"] for g in got] == [d.sn for d in s.fleet.devices]
    kinds = {(g["role"], g["model"], g["inverterType"]) for g in got}
    assert ("hybrid", "X1-Hybrid-G4", "15") in kinds and ("ac_battery", "X1-AC", "9") in kinds
    assert all(len(g["inverterSN"]) == 14 and g["inverterSN"] != g["wifiSn"] for g in got)
    for p in s.fleet.plants:
        meters = [g for g in got if g["plant_id"] == p.plant_id and g["meter"]]
        # every storage and AC-coupled plant has one grid meter; a grid-tied one when it has a load monitor
        assert len(meters) == (1 if p.plant_type != 0 or p.has_load_monitor else 0)
    assert len({g["phase_s"] for g in got}) > 1 and all(0 <= g["phase_s"] < 300 for g in got)


def test_token_is_deterministic_per_seed():
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    a, b, c = (Fleet(seed=x, plants=2, now=now) for x in (7, 7, 8))
    assert token_for(a) == token_for(b) != token_for(c)
    tok = token_for(a)
    assert len(tok) == 23 and tok.isdigit() and datetime.strptime(tok[:14], "%Y%m%d%H%M%S") < datetime(2025, 1, 1)
    with SolaxServer(a, port=0) as s1, SolaxServer(b, port=0) as s2:
        assert [d.wifi_sn for d in s1.dongles] == [d.wifi_sn for d in s2.dongles]
        assert s1.sites_csv() == s2.sites_csv()


@pytest.mark.parametrize("dongles", [1, 2, 3, 4, 5, 8, 12, 34])
def test_fleet_size_from_dongles(dongles):
    plants, devices = fleet_size(dongles, None)
    fleet = Fleet(seed=1, plants=plants, devices=devices, now=datetime(2025, 6, 1, tzinfo=timezone.utc))
    assert len(fleet.devices) == dongles
    assert fleet_size(dongles, 2) == (2, dongles)


def test_cli_serves_until_stopped():
    args = ["--dongles", "4", "--seed", "3", "--now", "2025-06-01T12:00:00Z", "--upload-time-zone", "utc", "--tou"]
    with serving("solax", *args) as proc:
        lines = [proc.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("SolaX Cloud simulator serving 4 dongles on 3 plants (seed 3)"), lines
        field = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip() for ln in lines[1:]}
        base, token = field["base URL"], field["tokenId"].split()[0]
        assert "test credential" in lines[3]
        sites = list(csv.DictReader(io.StringIO(requests.get(field["sites"], timeout=5).text)))
        assert len(sites) == 4
        assert requests.get(base + "/admin/fleet", timeout=5).json()["tou"] is True  # the shared fleet options
        for row in sites:
            body = requests.post(
                base + "/api/v2/dataAccess/realtimeInfo/get",
                headers={"tokenId": token},
                json={"wifiSn": row["wifi_sn"]},
                timeout=5,
            ).json()
            assert body["success"] is True and body["code"] == 0
            assert body["result"]["uploadTime"].replace(" ", "T") + "Z" == body["result"]["utcDateTime"]
            assert body["result"]["utcDateTime"] < "2025-06-01T12:00:00Z"
    assert proc.returncode == 0
