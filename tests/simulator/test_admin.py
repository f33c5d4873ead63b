"""The admin routes every stand-in shares: the clock a test moves, and what it reads back."""

from datetime import datetime, timedelta, timezone

import pytest
import requests

from simulator import Fleet, SimulatorServer


def test_the_clock_can_be_frozen_and_moved_over_http():
    fleet = Fleet(seed=3, plants=1, now=datetime(2025, 6, 1, 12, tzinfo=timezone.utc))
    with SimulatorServer(fleet, port=0, limits=False) as server:
        clock = server.admin_url + "/clock"
        assert requests.get(clock, timeout=5).json() == {"now": "2025-06-01T12:00:00+00:00", "frozen": True}
        moved = requests.post(clock, json={"advance_s": 300}, timeout=5).json()
        assert moved["now"] == "2025-06-01T12:05:00+00:00" and fleet.now == datetime(
            2025, 6, 1, 12, 5, tzinfo=timezone.utc
        )
        # a naive instant means UTC; an offset is honoured
        requests.post(clock, json={"now": "2025-06-02T08:00:00+02:00"}, timeout=5)
        assert fleet.now == datetime(2025, 6, 2, 6, tzinfo=timezone.utc)
        # served data follows the clock: a device's day grows as the clock moves through it
        api = server.base_url + "/open/api/"
        token = requests.get(
            api + "access_token", params={"appId": fleet.app_id, "appSecret": fleet.app_secret}, timeout=5
        ).json()["data"]["access_token"]
        sn = fleet.devices[0].sn
        zone = fleet.zone(fleet.plants[0])
        day = fleet.now.astimezone(zone).date().isoformat()

        def samples():
            body = requests.get(
                api + "device/uploadData",
                headers={"accessToken": token},
                timeout=5,
                params={"deviceSn": sn, "startTime": f"{day} 00:00:00", "endTime": f"{day} 23:59:59", "timeUnit": 0},
            ).json()
            return len(body["data"]["data"])

        before = samples()
        requests.post(clock, json={"advance_s": timedelta(hours=1).total_seconds()}, timeout=5)
        assert samples() == before + 12
        assert requests.post(clock, json={}, timeout=5).status_code == 400


def test_every_vendor_takes_the_shared_fleet_options():
    import importlib

    from simulator.__main__ import VENDORS, parser

    for vendor, module in VENDORS.items():
        assert parser(vendor, importlib.import_module(module)).parse_args(["--tou"]).tou, vendor


def test_the_truth_routes_serve_the_tou_plants_and_their_flows():
    fleet = Fleet(seed=7, plants=6, now=datetime(2025, 11, 3, 12, tzinfo=timezone.utc), tou=True)
    with SimulatorServer(fleet, port=0, limits=False) as server:
        described = requests.get(server.admin_url + "/fleet", timeout=5).json()
        tou = [p for p in described["plants"] if p["tou"]]
        assert described["tou"] and [p["plant_type"] for p in tou] == [1, 3]
        rows = requests.get(
            server.admin_url + "/truth/plant", params={"plantId": tou[0]["plant_id"], "day": "2025-01-20"}, timeout=5
        ).json()
    assert len(rows) == 288 and sum(r["grid_to_battery_w"] for r in rows) > 0
    for r in rows:
        assert r["grid_import_w"] == r["grid_to_load_w"] + r["grid_to_battery_w"]
        assert r["grid_export_w"] == r["pv_to_grid_w"] + r["battery_to_grid_w"]
        assert r["battery_to_grid_kwh"] == pytest.approx(r["battery_to_grid_w"] / 12000)
