"""SMA's raw landing against the stand-in: every answer kept once and verbatim, per plant-local day; consent's
empty fleet said in the run and the UI; the calls a day costs; hostile ids refused by name."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import date

import dagster as dg
import pytest

from pipelines.sources.sma.consent import Requests, ask, requests_path
from tests.assets.sma.conftest import SMA_ASSETS, SMA_RAW, materialization, run_days, sma_resources
from tests.support import query, raw, refusals

DAY = date(2025, 11, 1)
RAW = ("raw_plants", "raw_devices", "raw_energy_balance", "raw_device_sets", "raw_logs")


def _landed(data_dir, day=DAY) -> list[dict]:
    return [{**row, "asset": a} for a in RAW for row in (raw(data_dir, a, day, vendor="sma") or []).to_pylist()]


def _monitoring_calls(sma) -> Counter:
    return Counter(e["endpoint"] for e in sma.s.served() if e["endpoint"].startswith("monitoring/"))


def test_every_answer_is_landed_once_verbatim_with_what_was_asked(make_sma, tmp_path):
    sma = make_sma(consented=True)
    assert run_days(sma, tmp_path, DAY, assets=SMA_RAW).success
    served = sorted(e["body"] for e in sma.s.served() if e["endpoint"].startswith("monitoring/"))
    rows = _landed(tmp_path)
    assert sorted(r["body"].encode() for r in rows) == served
    parts = sorted(p.relative_to(tmp_path / "lake").parts[:4] for p in (tmp_path / "lake").rglob("part-*.parquet"))
    assert {p[:3] for p in parts} == {("raw", "sma", a) for a in RAW} and {p[3] for p in parts} == {"date=2025-11-01"}
    balance = [r for r in rows if r["asset"] == "raw_energy_balance"]
    guid = next(p["plantId"] for p in sma.info["plants"] if p["classic"])  # Sunny Portal classic: a GUID
    assert {r["plant_id"] for r in balance} == {p["plantId"] for p in sma.info["plants"]}
    params = json.loads(next(r["request_params"] for r in balance if r["plant_id"] == guid))
    assert params == {"plantId": guid, "Date": "2025-11-01", "ReturnEnergyValues": "true"}
    sets = [r for r in rows if r["asset"] == "raw_device_sets"]
    assert all(r["device_sn"] == json.loads(r["request_params"])["deviceId"] for r in sets)


def test_the_calls_a_day_costs(make_sma, tmp_path):
    sma = make_sma(consented=True)
    run_days(sma, tmp_path, DAY, assets=SMA_RAW)
    one_day = _monitoring_calls(sma)
    sma.s.reset_stats()
    run_days(sma, tmp_path, date(2025, 10, 29), date(2025, 10, 31), assets=SMA_RAW)
    three_days = _monitoring_calls(sma)
    plants, devices = len(sma.info["plants"]), sum(len(p["devices"]) for p in sma.info["plants"])
    per_run = (
        "monitoring/v1/plants",
        "monitoring/v1/plants/{id}/devices/lean",
        "monitoring/v1/devices/{id}/measurements/sets",
    )
    assert [one_day[e] for e in per_run] == [1, plants, devices]
    assert [three_days[e] for e in per_run] == [1, 0, 0]  # the plant list asked again, the device snapshot reused
    balance = "monitoring/v1/plants/{id}/measurements/sets/EnergyBalance/Day"
    assert one_day[balance] == plants and three_days[balance] == 3 * plants
    sets = sum(1 for p in sma.info["plants"] for d in p["devices"] if d["kind"] in ("pv", "hybrid", "battery"))
    assert one_day["monitoring/v1/devices/{id}/measurements/sets/EnergyAndPowerPv/Day"] <= sets
    assert sma.s.stats()["rejected_rate"] == {}  # paced under the bucket
    print(f"\nSMA calls for one day ({plants} plants, {devices} devices): {sum(one_day.values())} {dict(one_day)}")
    print(f"SMA calls for three more days in one run, devices from the snapshot: {sum(three_days.values())}")


def test_without_consent_the_run_says_so_and_how_to_ask_then_accepted_plants_appear(make_sma, tmp_path):
    sma = make_sma(consented=False)
    owner_a, owner_b = sma.info["owners"]
    client = sma_resources(sma, tmp_path)["sma"].client()
    requests = Requests(requests_path(tmp_path))
    assert ask(client, requests, owner_a)[0] == "Pending"
    instance = dg.DagsterInstance.ephemeral()
    result = run_days(sma, tmp_path, DAY, assets=SMA_ASSETS, instance=instance)
    assert result.success
    plants = materialization(result, "sma/raw_plants")
    warning = plants.metadata["warning"].value
    assert "no plant owner has consented yet" in warning and "python3 run.py sma-consent OWNER_EMAIL" in warning
    assert "1 request(s) made from here are still pending" in warning
    logged = [e for e in instance.all_logs(result.run_id) if "no plant owner has consented yet" in e.user_message]
    assert [e.level for e in logged] == [logging.WARNING]
    assert query(tmp_path, "SELECT count(*) AS n FROM plants").n[0] == 0

    sma.owner_decides(owner_a, "accept")
    assert run_days(sma, tmp_path, DAY, assets=SMA_ASSETS).success
    plants = query(tmp_path, "SELECT plant_id FROM plants WHERE vendor = 'sma'")
    assert sorted(plants.plant_id) == sorted(sma.info["owners"][owner_a]) and owner_b
    hours = query(tmp_path, "SELECT count(DISTINCT plant_id) AS n FROM plant_energy_hourly WHERE vendor = 'sma'")
    assert hours.n[0] == len(sma.info["owners"][owner_a])


@pytest.mark.parametrize("bad", ["../../outside", "1234'; DROP TABLE plants; --", "a/b", ".."])
def test_a_hostile_plant_id_is_refused_by_name_and_the_rest_is_landed(make_sma, tmp_path, bad):
    sma = make_sma(plants=2, consented=True)
    original = sma.s._monitoring

    def with_a_stranger(method, parts, params, headers):
        status, obj, hdrs = original(method, parts, params, headers)
        if parts == ["plants"]:
            obj["plants"].append({"plantId": bad, "name": "x", "timezone": "Europe/Berlin"})
        return status, obj, hdrs

    sma.s._monitoring = with_a_stranger
    result = run_days(sma, tmp_path / "data", DAY, assets=SMA_RAW, raise_on_error=False)
    assert result.success
    message = refusals(result)["sma/raw_plants"]
    assert repr(bad) in message and "not a plain identifier" in message
    balance = {r["plant_id"] for r in raw(tmp_path / "data", "raw_energy_balance", DAY, vendor="sma").to_pylist()}
    assert balance == {p["plantId"] for p in sma.info["plants"]}
    assert not any(bad in e["endpoint"] or bad in json.dumps(e["params"]) for e in sma.s.served())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
