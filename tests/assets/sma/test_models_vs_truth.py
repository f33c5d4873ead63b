"""SMA end to end against the fleet's ground truth: the stand-in over HTTP, the raw lake, staging, the conformed
layer and the marts, with their checks.

Fleet seed 7, six plants: ennexOS plants (5-minute rows) in Berlin (grid-tied without a meter, whose second
inverter is replaced on 2025-10-28; a hybrid with a meter), Kuala Lumpur and Shanghai, and Sunny Portal classic
plants (15-minute rows) in Sydney. The days take in both daylight-saving changes of both hemispheres, the
replacement day, and the fleet's logger outages. One stand-in and warehouse serve the module.
"""

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import duckdb
import pandas as pd
import pytest

from simulator import Faults, Fleet
from simulator.sma import SmaServer
from tests.assets.sma.conftest import run_days
from tests.assets.sma.test_tou import flows_at
from tests.simulator.sma.conftest import Sma
from tests.support import ENERGIES, lake_of, query, truth_hours

RUNS = [
    (date(2025, 10, 25), date(2025, 10, 28)),  # Berlin 25 h on the 26th; the replaced inverter on the 28th
    (date(2025, 10, 5), date(2025, 10, 5)),  # Sydney 23 h (15-minute rows)
    (date(2025, 4, 6), date(2025, 4, 6)),  # Sydney 25 h (15-minute rows)
    (date(2025, 3, 30), date(2025, 3, 30)),  # Berlin 23 h
]
DAYS = [first + timedelta(days=n) for first, last in RUNS for n in range((last - first).days + 1)]
SWAP_DAY = date(2025, 10, 28)
NOW = datetime(2025, 11, 20, tzinfo=timezone.utc)
WH = 0.0011  # kWh: SMA sends whole Wh (a counter's deltas), so an hour is known to 1 Wh


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("sma_models")
    fleet = Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=NOW)
    with SmaServer(fleet, port=0, consented=True, faults=Faults()) as server:
        sma = Sma(server)
        results = [run_days(sma, data_dir, first, last) for first, last in RUNS]
        yield {"sma": sma, "fleet": fleet, "dir": data_dir, "results": results}


def _query(built, sql, params=None) -> pd.DataFrame:
    with duckdb.connect(str(built["dir"] / "warehouse.duckdb"), read_only=True) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return conn.execute(sql, params or {}).df()


def _conformed(built, sql) -> pd.DataFrame:
    """A query over the conformed samples SMA wrote (view `samples`)."""
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        files = str(built["dir"] / "lake" / "conformed" / "samples" / "vendor=sma" / "*" / "data.parquet")
        conn.execute(f"CREATE VIEW samples AS SELECT * FROM read_parquet('{files}')")
        return conn.execute(sql).df()


def _served_truth(truth: pd.DataFrame, model_end) -> pd.DataFrame:
    """The truth's intervals up to the end of the last sample SMA served that day (an outage reaching midnight
    is not carried into the next day: its energy is not in the API)."""
    return truth[truth.ts_utc < model_end] if model_end is not None else truth.iloc[0:0]


RESOLUTIONS = ("FiveMinutes", "FifteenMinutes")


def _stats() -> dict:
    """The worst errors seen: day totals (relative), hours (absolute kWh; relative where the hour has 0.1 kWh)."""
    return {"day_err": 0.0, "hour_abs_kwh": 0.0, "hour_rel": 0.0, "hours": 0, "exact_hours": 0}


def _compare(model_hours: pd.DataFrame, truth: pd.DataFrame, terms, model_end, who, stats):
    """Day totals within 1 % (or 2 Wh), exact hours within 3 % of the hour or 2 % of the day's peak hour (or 1 Wh)."""
    served = _served_truth(truth, model_end)
    th = truth_hours(truth)
    merged = th.merge(model_hours[model_hours.exact], on="hour_utc")
    for t in terms:
        expected = float(served[t].astype("Float64").sum())
        got = float(model_hours[t].sum())
        assert abs(got - expected) <= max(0.01 * expected, 0.002), (*who, t, got, expected)
        if expected > 0.1:
            stats["day_err"] = max(stats["day_err"], abs(got - expected) / expected)
        peak = float(th[f"{t}_all"].astype(float).max())
        err = (merged[t] - merged[f"{t}_all"].astype(float)).abs()
        allowed = (0.03 * merged[f"{t}_all"].astype(float).abs()).clip(lower=max(0.02 * peak, WH))
        assert (err <= allowed + 1e-9).all(), (*who, t, merged.loc[err > allowed, "hour_utc"].tolist())
        if len(err):
            stats["hour_abs_kwh"] = max(stats["hour_abs_kwh"], float(err.max()))
            big = merged[f"{t}_all"].astype(float) >= 0.1
            stats["hour_rel"] = max(
                stats["hour_rel"],
                float((err[big] / merged.loc[big, f"{t}_all"].astype(float)).max()) if big.any() else 0,
            )
    stats["hours"] += len(th)
    stats["exact_hours"] += len(merged)


def test_plant_energy_matches_truth_at_5_and_15_minutes_and_on_dst_days(built):
    sma = built["sma"]
    hourly = _query(built, "SELECT * FROM plant_energy_hourly WHERE vendor = 'sma'")
    exact = _conformed(
        built,
        "SELECT plant_id, day, ts_utc - (ts_local - date_trunc('hour', ts_local)) AS hour_utc, "
        "bool_and(readable) AND sum(interval_s) = 3600 AS exact, max(ts_utc + to_seconds(interval_s)) AS end_utc "
        "FROM samples WHERE source = 'load_monitor' GROUP BY ALL",
    )
    daily = _query(built, "SELECT * FROM self_consumption_daily WHERE vendor = 'sma'")
    stats = {r: _stats() for r in RESOLUTIONS}
    bases, rate_err = Counter(), 0.0
    for day in DAYS:
        for plant in sma.info["plants"]:
            truth = sma.truth_plant(sma.info["plants"].index(plant), day)
            model = hourly[(hourly.plant_id == plant["plantId"]) & (hourly.day == pd.Timestamp(day))]
            assert len(model) == len(truth) // 12, (plant["plantId"], day)  # 23, 24 or 25 hours
            if not plant["has_meter"]:  # PV only, from the inverters (the device test compares it)
                assert set(model.source) == {"devices"}
                assert model[["load_kwh", "grid_import_kwh", "grid_export_kwh"]].isna().all().all()
                continue
            assert set(model.source) == {"load_monitor"}
            flags = exact[(exact.plant_id == plant["plantId"]) & (exact.day == pd.Timestamp(day))]
            model = model.merge(flags[["hour_utc", "exact"]], on="hour_utc")
            terms = ENERGIES if plant["has_battery"] else ENERGIES[:4]
            _compare(model, truth, terms, flags.end_utc.max(), (plant["plantId"], day), stats[plant["resolution"]])
            (row,) = daily[(daily.plant_id == plant["plantId"]) & (daily.day == pd.Timestamp(day))].itertuples()
            bases[row.energy_basis] += 1
            served = _served_truth(truth, flags.end_utc.max())
            for t in terms:  # the day: measured whole, or SMA's counters where its rows carried a gap
                expected = float(served[t].astype("Float64").sum())
                assert abs(getattr(row, t) - expected) <= max(0.01 * expected, 0.002), (plant["plantId"], day, t)
            if row.energy_basis == "samples":  # the rates of the truth's terms split per SMA's interval
                interval = 300 if plant["resolution"] == "FiveMinutes" else 900
                split = flows_at(truth.fillna({"battery_charge_kwh": 0, "battery_discharge_kwh": 0}), interval)
                pv, load = float(truth.pv_kwh.sum()), float(truth.load_kwh.sum())
                rates = (
                    (split["pv_to_load_kwh"] + split["pv_to_battery_kwh"]) / pv if pv else None,
                    (split["pv_to_load_kwh"] + split["battery_to_load_kwh"]) / load,
                )
                assert (row.self_consumption_rate, row.self_sufficiency_rate) == pytest.approx(rates, abs=2e-3)
                rate_err = max(
                    rate_err,
                    *(abs(a - b) for a, b in zip(rates, (row.self_consumption_rate, row.self_sufficiency_rate)) if b),
                )
    for resolution, figures in stats.items():  # both resolutions compared, and not vacuously
        assert figures["hours"] > 100 and figures["exact_hours"] >= 0.9 * figures["hours"], resolution
    assert bases["samples"] > 20 and bases["counters"] >= 2 and not bases["incomplete"], bases
    print(f"\nSMA plants: {stats}; days by energy basis {dict(bases)}; worst rate error {rate_err:.2e}")


def test_device_energy_matches_truth(built):
    sma, fleet = built["sma"], built["fleet"]
    hourly = _query(built, "SELECT * FROM device_energy_hourly WHERE vendor = 'sma'")
    ends = _query(
        built,
        "SELECT device_sn, day, max(ts_utc + to_seconds(interval_s)) AS end_utc, any_value(interval_s) AS interval_s "
        "FROM device_samples WHERE vendor = 'sma' GROUP BY ALL",
    )
    stats = {r: _stats() for r in RESOLUTIONS}
    for day in DAYS:
        for plant in sma.info["plants"]:
            for dev in plant["devices"]:
                if dev["kind"] not in ("pv", "hybrid", "battery"):
                    continue
                model = hourly[(hourly.device_sn == dev["deviceId"]) & (hourly.day == pd.Timestamp(day))]
                active = (dev["active_from"] or "") <= day.isoformat() < (dev["deactivated_on"] or "9999")
                if not active:
                    assert model.empty, (dev["deviceId"], day)
                    continue
                end = ends[(ends.device_sn == dev["deviceId"]) & (ends.day == pd.Timestamp(day))]
                interval = 900 if plant["classic"] else 300
                assert set(end.interval_s) == {interval}  # 5- and 15-minute sets as SMA serves them
                model = model.assign(exact=model.samples == 3600 // interval)
                terms = {"pv": ["pv_kwh"], "battery": ENERGIES[4:], "hybrid": ["pv_kwh", *ENERGIES[4:]]}[dev["kind"]]
                truth = fleet.device_day(dev["fleet_sn"], day)
                if dev["spike_wh"] and day == SWAP_DAY:  # its first reading is rejected: a dawn interval unknown
                    truth = truth.assign(
                        pv_kwh=truth.pv_kwh.where(truth.ts_utc >= model.hour_utc.min() + timedelta(hours=1), 0)
                    )
                _compare(model, truth, terms, end.end_utc.max(), (dev["deviceId"], day), stats[plant["resolution"]])
                if dev["kind"] == "pv":
                    assert model[["load_kwh", "grid_import_kwh", "battery_charge_kwh"]].isna().all().all()
    for resolution, figures in stats.items():
        assert figures["hours"] > 100 and figures["exact_hours"] >= 0.9 * figures["hours"], resolution
    print(f"\nSMA devices: {stats}")


def test_the_replaced_inverters_absurd_first_reading_is_rejected_and_named(built):
    new = next(d for d in built["sma"].plant(0)["devices"] if d["spike_wh"])
    plant = built["sma"].plant(0)["plantId"]
    results = {first: result for (first, _), result in zip(RUNS, built["results"])}
    checks = {e.check_name: e for e in results[date(2025, 10, 25)].get_asset_check_evaluations()}
    device_check = checks["stg_device_samples_pv_plausible"]
    assert not device_check.passed and device_check.severity.value == "WARN"
    assert device_check.description == f"1 offending row(s): {new['deviceId']} {SWAP_DAY}"
    plant_check = checks["stg_energy_balance_pv_plausible"]
    assert not plant_check.passed and plant_check.description == f"1 offending row(s): {plant} {SWAP_DAY}"
    for first, result in results.items():  # every other day: nothing rejected
        if first != date(2025, 10, 25):
            assert all(e.passed for e in result.get_asset_check_evaluations() if e.check_name.endswith("plausible"))
    pv = _query(
        built,
        "SELECT sum(pv_kwh) AS pv, max(pv_kwh) AS top FROM device_energy_hourly WHERE device_sn = $d AND day = $day",
        {"d": new["deviceId"], "day": SWAP_DAY},
    )
    assert pv.top[0] < 3.0 and pv.pv[0] == pytest.approx(
        float(built["fleet"].device_day(new["fleet_sn"], SWAP_DAY).pv_kwh.sum()), rel=0.01
    )


def test_checks_pass_keys_are_unique_and_the_days_are_whole(built):
    """Every check passes but those the replaced inverter's absurd first reading fails: its plausibility checks,
    and the day of its plant that is then incomplete (that interval's PV is unknown, and no counter covers it:
    the plant's EnergyBalance booked the same reading). That day is built by the first run; the check reads the
    whole table, so every run names it."""
    plant = built["sma"].plant(0)["plantId"]
    for result in built["results"]:
        assert result.success
        failed = {e.check_name: e.description for e in result.get_asset_check_evaluations() if not e.passed}
        assert failed.pop("self_consumption_daily_measured_or_counted") == f"1 offending row(s): {plant} {SWAP_DAY}"
        assert all(name.endswith("pv_plausible") for name in failed), failed
    counts = _query(
        built,
        "SELECT p.time_zone, h.plant_id, h.day, count(*) AS n FROM plant_energy_hourly h "
        "JOIN plants p USING (vendor, plant_id) WHERE vendor = 'sma' GROUP BY ALL",
    )
    hours = {(r.time_zone, r.day.date()): r.n for r in counts.itertuples()}
    assert hours[("Europe/Berlin", date(2025, 10, 26))] == 25 and hours[("Europe/Berlin", date(2025, 3, 30))] == 23
    assert hours[("Australia/Sydney", date(2025, 10, 5))] == 23 and hours[("Australia/Sydney", date(2025, 4, 6))] == 25


def test_plants_and_devices_as_sma_lists_them(built):
    sma = built["sma"]
    plants = _query(built, "SELECT * FROM plants WHERE vendor = 'sma'").set_index("plant_id")
    for p in sma.info["plants"]:
        row = plants.loc[p["plantId"]]
        fleet_plant = built["fleet"].plant(p["fleet_plant_id"])
        assert row.time_zone == p["timezone"] and bool(row.has_load_monitor) == p["has_meter"]
        assert row.plant_type == fleet_plant.plant_type
        expected_kwp = fleet_plant.system_power_kwp if p["installation_set"] else None  # "not configured": unknown
        assert (pd.isna(row.system_power_kwp) and expected_kwp is None) or row.system_power_kwp == pytest.approx(
            expected_kwp
        )
    devices = _query(built, "SELECT * FROM devices WHERE vendor = 'sma'").set_index("device_sn")
    kinds = {"pv": (0, False), "hybrid": (1, True), "battery": (2, True)}
    for p in sma.info["plants"]:
        for d in p["devices"]:
            if d["kind"] in kinds:
                assert (devices.loc[d["deviceId"]].device_type, devices.loc[d["deviceId"]].has_battery) == kinds[
                    d["kind"]
                ]
            else:  # meters and Data Managers are not inverters
                assert d["deviceId"] not in devices.index


def test_log_faults_become_one_alarm_each_across_days(built):
    sma, fleet = built["sma"], built["fleet"]
    first, last = RUNS[0]
    by_sn = {}
    for p in sma.info["plants"]:
        for d in p["devices"]:
            if d["fleet_sn"]:
                by_sn.setdefault(d["fleet_sn"], []).append((p, d))
    expected = {}
    for alarm in fleet.alarms():
        for p, d in by_sn.get(alarm.device_sn, []):
            zone = fleet.zone(fleet.plant(p["fleet_plant_id"]))
            began = alarm.started_at.astimezone(zone).date()
            ended = alarm.ended_at.astimezone(zone).date() if alarm.ended_at else None
            active = (d["active_from"] or "") <= began.isoformat() < (d["deactivated_on"] or "9999")
            if active and (first <= began <= last or (ended and first <= ended <= last)):
                closed = ended is not None and ended <= last
                expected[(d["deviceId"], alarm.started_at)] = (alarm.ended_at if closed else None, alarm.alarm_name)
    history = _query(built, "SELECT * FROM alarm_history WHERE vendor = 'sma'")
    got = {
        (r.device_sn, r.started_at.to_pydatetime()): (
            None if pd.isna(r.ended_at) else r.ended_at.to_pydatetime(),
            r.alarm_name,
        )
        for r in history.itertuples()
        if r.last_seen_day.date() <= last and r.first_seen_day.date() >= first
    }
    assert len(expected) >= 5 and got == expected
    assert history.alarm_id.is_unique
    assert set(history.status) == {"open", "closed"}


def test_utc_stamps_give_the_same_warehouse_as_local_ones(built, make_sma, tmp_path, monkeypatch):
    """SMA's FAQ says `time` is UTC, the captures show plant-local time: SMA_TIME_BASIS reads either alike."""
    day = date(2025, 10, 26)  # Berlin's 25-hour day: local stamps repeat an hour, UTC ones do not
    sma = make_sma(consented=True, time_basis="utc", fleet=built["fleet"])
    monkeypatch.setenv("SMA_TIME_BASIS", "utc")
    assert run_days(sma, tmp_path, day).success
    for table, order in (
        ("plant_energy_hourly", "plant_id, hour_utc"),
        ("device_energy_hourly", "device_sn, hour_utc"),
    ):
        sql = f"SELECT * FROM {table} WHERE vendor = 'sma' AND day = $d ORDER BY {order}"
        local, utc = _query(built, sql, {"d": day}), query(tmp_path, sql, {"d": day})
        assert len(utc) > 140 and (table != "plant_energy_hourly" or len(utc) == 6 * 24 + 2)  # Berlin's 25 hours
        pd.testing.assert_frame_equal(local, utc)
    observed = []  # the day's fault occurrences, as the conformed layer has them
    for data_dir in (built["dir"], tmp_path):
        path = lake_of(data_dir).conformed_file("alarms", "sma", day)
        observed.append(pd.read_parquet(path, columns=["alarm_id", "started_at", "ended_at", "status"]))
    assert len(observed[1]) > 0
    pd.testing.assert_frame_equal(*observed)
