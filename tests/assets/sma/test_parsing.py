"""SMA's staging and conformed models on real and crafted answers landed in the raw lake: the captured day with
an absurd first reading and fourteen gaps, properties SMA leaves out, a day's counters from its rows, and the
captured plant list."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from assets.sma import MODELS
from assets.sma.staging import STAGING
from pipelines.core.transport import ApiResponse
from tests.support import build_models, lake_of, shared_fixture
from tests.support import land as land_rows

SPIKE_DAY = date(2025, 7, 4)
FETCHED = datetime(2025, 7, 5, 12, tzinfo=timezone.utc)


def _answer(endpoint: str, params: dict, body: dict) -> ApiResponse:
    text = json.dumps(body)
    return ApiResponse(endpoint, params, 200, None, None, text, json.loads(text), FETCHED)


def _land_plant(data_dir, day, plant_id, devices: list[tuple[dict, list[str]]], peak_w=15000.0):
    """A plant in New York, its devices (lean items) and the sets each offers, landed as SMA answers."""
    plant = {"plantId": plant_id, "name": "x", "timezone": "America/New_York", "installation": {"peakPower": peak_w}}
    land_rows(data_dir, "raw_plants", day, [(None, None, _answer("v1/plants", {}, {"plants": [plant]}))], "sma")
    lean = _answer("v1/plants/{plantId}/devices/lean", {"plantId": plant_id}, {"devices": [d for d, _ in devices]})
    sets = [
        (
            plant_id,
            d["deviceId"],
            _answer("v1/devices/{deviceId}/measurements/sets", {"deviceId": d["deviceId"]}, {"sets": s}),
        )
        for d, s in devices
    ]
    land_rows(data_dir, "raw_devices", day, [(plant_id, None, lean), *sets], "sma")


def _conformed_samples(data_dir, day) -> pd.DataFrame:
    path = lake_of(data_dir).conformed_file("samples", "sma", day)
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute("SELECT * FROM read_parquet($p) ORDER BY ts_utc", {"p": str(path)}).df()


def test_the_captured_day_its_absurd_first_reading_rejected_and_its_gaps_spread(tmp_path):
    body = shared_fixture(
        "sma-monitoring-api", "v1_devices_EnergyAndPowerPv_Day_ReturnEnergyValues_first_row_spike_and_gaps.json"
    )
    device = {"deviceId": "7134053", "type": "Solar Inverters", "product": "STP 15000TL-30", "generatorPower": 15000.0}
    _land_plant(tmp_path, SPIKE_DAY, "7134039", [(device, ["EnergyAndPowerPv", "PowerAc"])])
    params = {"deviceId": "7134053", "setType": "EnergyAndPowerPv", "Date": "2025-07-04", "ReturnEnergyValues": "true"}
    answer = _answer("v1/devices/{deviceId}/measurements/sets/{setType}/Day", params, body)
    land_rows(tmp_path, "raw_device_sets", SPIKE_DAY, [("7134039", "7134053", answer)], "sma")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        staged = build_models(tmp_path, [SPIKE_DAY], conn)["sma/stg_device_samples"]

    rows = pd.DataFrame(staged)
    assert len(rows) == len(body["set"]) == 166
    first = rows.iloc[0]
    assert (first.ts_sent, first.pv_wh, bool(first.plausible)) == ("2025-07-04T05:25:00", 165763.0, False)
    assert rows.plausible.iloc[1:].all()
    table = STAGING.tables["stg_device_samples"]
    check = STAGING.check(table, table.checks[0], [pa.Table.from_pylist(staged)])
    assert not check.passed and check.description == "1 offending row(s): 7134053 2025-07-04"

    samples = _conformed_samples(tmp_path, SPIKE_DAY)
    assert (samples.interval_s == 300).all() and samples.ts_utc.is_unique
    assert samples.ts_local.min() == pd.Timestamp("2025-07-04 00:00") and samples.ts_local.max() == pd.Timestamp(
        "2025-07-04 20:20"
    )
    rejected = samples[samples.ts_local < pd.Timestamp("2025-07-04 05:25")]
    assert rejected.pv_kwh.isna().all() and not rejected.readable.any()  # the night the absurd row claimed: unknown
    kept = sum(r["pvGeneration"] for r in body["set"][1:])
    assert samples.pv_kwh.sum() * 1000 == pytest.approx(kept)  # every other Wh, once
    carried = samples[
        (samples.ts_local >= pd.Timestamp("2025-07-04 07:10")) & (samples.ts_local < pd.Timestamp("2025-07-04 07:20"))
    ]
    row = next(r for r in body["set"] if r["time"] == "2025-07-04T07:20:00")
    assert list(carried.pv_kwh * 1000) == [row["pvGeneration"] / 2] * 2 and not carried.readable.any()
    day = samples[samples.ts_local >= pd.Timestamp("2025-07-04 05:25")]
    assert int(day.readable.sum()) == 166 - 1 - 14  # the rows that each stand for exactly their five minutes


def test_a_property_sma_leaves_out_is_unknown_not_zero(tmp_path):
    day = date(2025, 9, 1)
    meter = {"deviceId": "21", "type": "Monitoring and control", "product": "Energy Meter"}
    inverter = {"deviceId": "22", "type": "Solar Inverters", "product": "SB5.0", "generatorPower": 5000.0}
    _land_plant(tmp_path, day, "7190000", [(meter, ["EnergyAndPowerInOut"]), (inverter, ["EnergyAndPowerPv"])])
    full = {"pvGeneration": 100.0, "totalConsumption": 50.0, "gridFeedIn": 60.0, "gridConsumption": 10.0}
    rows = [
        {"time": "2025-09-01T12:05:00", **full},
        {"time": "2025-09-01T12:10:00", **{k: v for k, v in full.items() if k != "totalConsumption"}},
        {"time": "2025-09-01T12:15:00", **full, "autarkyRate": 0.8},
    ]
    params = {"plantId": "7190000", "Date": "2025-09-01", "ReturnEnergyValues": "true"}
    answer = _answer(
        "v1/plants/{plantId}/measurements/sets/EnergyBalance/Day",
        params,
        {"setType": "EnergyBalance", "resolution": "FiveMinutes", "set": rows},
    )
    land_rows(tmp_path, "raw_energy_balance", day, [("7190000", None, answer)], "sma")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        build_models(tmp_path, [day], conn)
    samples = _conformed_samples(tmp_path, day)
    ours = samples[samples.ts_local >= pd.Timestamp("2025-09-01 12:05")].set_index("ts_local")
    missing = ours.loc[pd.Timestamp("2025-09-01 12:05")]
    assert pd.isna(missing.load_kwh) and pd.isna(missing.load_w) and not missing.readable
    assert missing.pv_kwh == 0.1 and missing.grid_export_kwh == 0.06 and missing.device_sn == "21"
    assert (
        ours.loc[pd.Timestamp("2025-09-01 12:10")].readable and ours.loc[pd.Timestamp("2025-09-01 12:10")].load_w == 600
    )
    assert set(samples.source) == {"load_monitor"} and samples.battery_charge_kwh.isna().all()  # no battery: unknown


def test_the_captured_plant_list_and_not_configured_powers(tmp_path):
    day = date(2025, 9, 1)
    body = shared_fixture("sma-monitoring-api", "v1_plants.json")
    land_rows(tmp_path, "raw_plants", day, [(None, None, _answer("v1/plants", {}, body))], "sma")
    plants = {r["plant_id"]: r for r in STAGING.build_day(lake_of(tmp_path), "stg_plants", day).to_pylist()}
    assert plants["7190000"]["peak_power_w"] == 184000.0 and plants["7190000"]["time_zone"] == "America/New_York"
    assert plants["11260000"]["peak_power_w"] is None  # "not configured" (0.0) is unknown, not zero
    assert plants["7190000"]["country_code"] == "US" and plants["7190000"]["latitude"] == 42.38
    assert set(MODELS.conformed) == {"plants", "devices", "samples", "plant_day_totals", "alarms"}


def _balance_day(day: date, until_h: int, skip: set[str], wh: dict) -> list[dict]:
    """A day's EnergyBalance rows every 5 minutes up to `until_h` local (24: the next midnight), those stamped in
    `skip` left out and their energy carried by the next row, as SMA sends them."""
    rows, carried = [], 0
    start = datetime(day.year, day.month, day.day)
    for n in range(1, until_h * 12 + 1):
        stamp = (start + pd.Timedelta(minutes=5 * n)).strftime("%Y-%m-%dT%H:%M:%S")
        carried += 1
        if stamp[11:16] not in skip:
            rows.append({"time": stamp, **{k: v * carried for k, v in wh.items()}})
            carried = 0
    return rows


def test_a_days_counters_are_its_rows_once_they_reach_midnight(tmp_path):
    """SMA's Wh are counter deltas and a row after a gap carries it: a day whose rows reach the next midnight has
    its counters (so its gap is 'counters', not 'incomplete'); a day whose rows stop earlier has none."""
    whole, cut = date(2025, 9, 1), date(2025, 9, 2)
    meter = {"deviceId": "21", "type": "Monitoring and control", "product": "Energy Meter"}
    wh = {"pvGeneration": 10.0, "totalConsumption": 20.0, "gridConsumption": 10.0, "gridFeedIn": 0.0}
    for day, until_h in ((whole, 24), (cut, 18)):
        _land_plant(tmp_path, day, "7190000", [(meter, ["EnergyAndPowerInOut"])])
        params = {"plantId": "7190000", "Date": day.isoformat(), "ReturnEnergyValues": "true"}
        body = {
            "setType": "EnergyBalance",
            "resolution": "FiveMinutes",
            "set": _balance_day(day, until_h, {"12:05", "12:10"}, wh),
        }
        answer = _answer("v1/plants/{plantId}/measurements/sets/EnergyBalance/Day", params, body)
        land_rows(tmp_path, "raw_energy_balance", day, [("7190000", None, answer)], "sma")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        build_models(tmp_path, [whole, cut], conn)
        conn.execute("SET TimeZone = 'UTC'")
        totals = conn.execute("SELECT * FROM plant_statistics_daily WHERE vendor = 'sma' ORDER BY day").df()
        daily = conn.execute("SELECT * FROM self_consumption_daily WHERE vendor = 'sma' ORDER BY day").df()
    (row,) = totals.itertuples()  # the day cut at 18:00 has no counters
    assert row.day == pd.Timestamp(whole) and row.client_date == pd.Timestamp("2025-09-02 00:00")
    assert (row.today_pv_kwh, row.today_load_kwh, row.today_grid_import_kwh, row.today_grid_export_kwh) == (
        pytest.approx(2.88),
        pytest.approx(5.76),
        pytest.approx(2.88),
        0.0,
    )
    assert pd.isna(row.today_battery_charge_kwh) and pd.isna(row.month_pv_kwh)  # not measured; not served
    first, second = daily.itertuples()
    assert (first.energy_basis, first.samples, first.expected_samples) == ("counters", 285, 288)
    assert first.pv_kwh == pytest.approx(2.88) and first.load_kwh == pytest.approx(5.76)
    assert (second.energy_basis, second.samples) == ("incomplete", 18 * 12 - 3)
