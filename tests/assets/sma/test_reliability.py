"""SMA when things go wrong: a token dying mid-run, a 429 storm, late classic data, no secret anywhere, SMA beside
SAJ in the same tables, and SMA alone (SAJ's assets skip and say why)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import date, datetime, timedelta, timezone

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests
from dagster import serialize_value

from pipelines.resources import build_resources
from simulator import Faults, Fleet
from tests.assets.sma.conftest import SMA_ASSETS, SMA_RAW, materialization, run_days, sma_resources
from tests.support import query, select

DAY = date(2025, 11, 1)
HOURLY = SMA_ASSETS - dg.AssetSelection.assets("self_consumption_monthly", "alarm_history")


def _pv_days_match_truth(sma, data_dir, day=DAY, plants=None):
    """Every plant's whole day in plant_energy_hourly, its PV within 1 % of the truth."""
    daily = query(
        data_dir,
        "SELECT plant_id, count(*) AS hours, sum(pv_kwh) AS pv FROM plant_energy_hourly "
        "WHERE vendor = 'sma' AND day = $d GROUP BY ALL",
        {"d": day},
    ).set_index("plant_id")
    for index, plant in enumerate(sma.info["plants"]):
        if plants is not None and plant["plantId"] not in plants:
            continue
        truth = sma.truth_plant(index, day)
        assert daily.hours[plant["plantId"]] == len(truth) // 12
        assert daily.pv[plant["plantId"]] == pytest.approx(float(truth.pv_kwh.sum()), rel=0.01, abs=0.002)


def _metadata_sum(result, key: str) -> int:
    """`key` summed over the run's assets (a range's materialisations, one per day, repeat their run's metadata)."""
    per_asset = {
        e.asset_key: e.materialization.metadata[key].value
        for e in result.get_asset_materialization_events()
        if key in e.materialization.metadata
    }
    return sum(per_asset.values())


def test_a_token_dying_mid_run_is_refreshed_once_and_saj_alone_skips_saying_why(make_sma, tmp_path):
    sma = make_sma(consented=True)
    fleet_assets = select({"sma/raw_plants", "sma/raw_devices"})
    assert run_days(sma, tmp_path, DAY, assets=fleet_assets).success
    assert requests.post(sma.s.admin_url + "/sma/tokens/expire", timeout=5).json() == {"expired": 1}
    # the cached token has minutes to live by expires_in, but the server no longer takes it
    result = run_days(sma, tmp_path, DAY, assets=dg.AssetSelection.all())
    assert result.success and sma.s.stats()["tokens_issued"] == 2
    assert _metadata_sum(result, "retries") == 1  # one refusal, one refresh, one retry
    _pv_days_match_truth(sma, tmp_path)
    saj_plants = materialization(result, "saj/raw_plants")
    assert saj_plants.metadata["skipped"].value == (
        "saj is not configured (set SAJ_APP_ID and SAJ_APP_SECRET to land its data): skipped, nothing landed."
    )
    assert set(query(tmp_path, "SELECT DISTINCT vendor FROM plant_energy_hourly").vendor) == {"sma"}


def test_a_429_storm_is_waited_out_and_no_day_is_lost(make_sma, tmp_path):
    sma = make_sma(consented=True)
    requests.post(sma.s.admin_url + "/sma/config", json={"bucket_size": 5, "refill_s": 1}, timeout=5)
    result = run_days(sma, tmp_path, DAY, date(2025, 11, 2), assets=HOURLY)
    assert result.success
    rejected = sum(sma.s.stats()["rejected_rate"].values())
    assert rejected > 0 and _metadata_sum(result, "rate_rejections") == rejected
    print(f"\n429 storm: {rejected} calls answered 429 and retried after Retry-After; nothing lost")
    for day in (DAY, date(2025, 11, 2)):
        _pv_days_match_truth(sma, tmp_path, day)


def test_classic_plants_late_data_is_landed_by_the_next_run(make_sma, tmp_path):
    sydney = datetime(2025, 10, 30, 13, 0, tzinfo=timezone.utc)  # local midnight ending 30 October
    fleet = Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=sydney + timedelta(minutes=30))
    sma = make_sma(consented=True, fleet=fleet)
    classic = {p["plantId"] for p in sma.info["plants"] if p["classic"]}
    day = date(2025, 10, 30)
    assert run_days(sma, tmp_path, day, assets=HOURLY).success
    rows = query(
        tmp_path,
        "SELECT plant_id, count(*) AS n FROM device_samples WHERE vendor = 'sma' AND day = $d GROUP BY ALL",
        {"d": day},
    ).set_index("plant_id")
    assert all(rows.n[p] < 96 * 2 for p in classic)  # up to two hours of 15-minute rows still being processed
    fleet.set_now(sydney + timedelta(hours=3))  # the daily catch-up, hours later
    assert run_days(sma, tmp_path, day, assets=HOURLY).success
    _pv_days_match_truth(sma, tmp_path, day, plants=classic)


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s[:6] + "…" for s in secrets if s in text]


def test_no_secret_or_token_anywhere_in_a_full_debug_run(make_sma, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "pipelines", "dagster"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    sma = make_sma(consented=True, faults=Faults(seed=2, http_5xx_rate=0.05))
    instance = dg.DagsterInstance.ephemeral()
    first = run_days(sma, tmp_path, DAY, assets=SMA_RAW, instance=instance)
    requests.post(sma.s.admin_url + "/sma/tokens/expire", timeout=5)  # the next run's token is refused and replaced
    result = run_days(sma, tmp_path, DAY, instance=instance)
    assert first.success and result.success
    tokens = [json.loads(e["body"])["access_token"] for e in sma.s.served() if e["endpoint"] == "auth/oauth2/token"]
    assert len(tokens) == 2
    secret = sma.info["client_secret"]
    basic = base64.b64encode(f"{sma.info['client_id']}:{secret}".encode()).decode()
    secrets = [secret, basic, *tokens]
    out, err = capfd.readouterr()
    places = {
        "python logs": caplog.text,
        "stdout/stderr": out + err,
        "dagster event log": "\n".join(
            serialize_value(e) for r in (first, result) for e in instance.all_logs(r.run_id)
        ),
        "asset metadata": "\n".join(
            serialize_value(m.materialization.metadata) for m in result.get_asset_materialization_events()
        ),
    }
    for path in sorted((tmp_path / "lake").rglob("*.parquet")):
        places[f"parquet {path.relative_to(tmp_path)}"] = path.read_bytes().decode("latin-1") + json.dumps(
            pq.read_table(path).to_pylist(), default=str
        )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        for (table,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall():
            places[f"warehouse {table}"] = conn.execute(f'SELECT * FROM "{table}"').df().to_csv()
    leaks = {where: _leaks(text, secrets) for where, text in places.items() if _leaks(text, secrets)}
    assert not leaks, leaks
    raw = [w for w in places if w.startswith("parquet lake/raw/sma")]
    assert len(raw) == 5 + 1 and any(w.endswith("raw_devices/snapshot.parquet") for w in raw)  # the days, the snapshot
    assert len(places) >= 4 + len(raw) + 5 + 4 + 10


def test_sma_and_saj_land_in_the_same_tables(make_simulator, make_sma, tmp_path):
    saj = make_simulator(plants=2, limits=False)
    sma = make_sma(plants=2, consented=True)  # the same two plants, seen through SMA's API
    resources = build_resources(
        tmp_path,
        saj={"app_id": saj.fleet.app_id, "app_secret": saj.fleet.app_secret, "base_url": saj.base_url},
        sma=sma_resources(sma, tmp_path)["sma"].model_dump(exclude={"cache_dir"}),
    )
    result = run_days(sma, tmp_path, DAY, assets=dg.AssetSelection.all(), resources=resources)
    assert result.success
    for table in ("plants", "devices", "device_samples", "device_energy_hourly", "plant_energy_hourly",
                  "self_consumption_daily", "self_consumption_monthly"):  # fmt: skip
        assert set(query(tmp_path, f"SELECT DISTINCT vendor FROM {table}").vendor) == {"saj", "sma"}, table
    daily = query(tmp_path, "SELECT vendor, plant_id, pv_kwh, load_kwh FROM self_consumption_daily").set_index(
        ["vendor", "plant_id"]
    )
    for plant in sma.info["plants"]:  # one physical plant, two vendors' APIs, one answer
        for term in ("pv_kwh", "load_kwh"):
            saj_value = daily[term][("saj", plant["fleet_plant_id"])]
            sma_value = daily[term][("sma", plant["plantId"])]
            assert (pd.isna(saj_value) and pd.isna(sma_value)) or sma_value == pytest.approx(saj_value, rel=0.01)
