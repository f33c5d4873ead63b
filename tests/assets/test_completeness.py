"""Completeness against the simulator's truth: a day with a gap the counters cover, one they do not, a month of
days with and without the data a rate needs, and a complete day re-fetched during an outage.

Fleet seed 7: plant 91189644365 is a storage plant in Berlin (one hybrid inverter, the portal counts every
term), 36365493668 a grid-tied plant in China with a load monitor, 52587476425 a grid-tied plant in Berlin
with two inverters (PV only).
"""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.compute as pc
import pytest

from assets.checks import CHECKS, run_check
from simulator import Faults
from tests.support import ENERGIES, lake_of, materialize, query, raw, resources, run

DAY = date(2025, 6, 17)
STORAGE, MONITORED, GRID_TIED = "91189644365", "36365493668", "52587476425"
HYBRID = "H2T5449J2271E97499"  # the storage plant's inverter
NOW = datetime(2025, 6, 20, 12, tzinfo=timezone.utc)
TABLES = ("plant_energy_hourly", "self_consumption_daily", "self_consumption_monthly", "device_energy_hourly")


def local_span(tz: str, day: date, start_h: int, end_h: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return start + timedelta(hours=start_h), start + timedelta(hours=end_h)


def daily(data_dir, plant_id, day=DAY) -> dict:
    rows = query(
        data_dir, "SELECT * FROM self_consumption_daily WHERE plant_id = $p AND day = $d", {"p": plant_id, "d": day}
    )
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def truth_day(fleet, plant_id, day=DAY) -> pd.Series:
    return fleet.plant_day(plant_id, day)[ENERGIES].astype("Float64").sum()


def test_a_gap_the_counters_cover_takes_their_energy_and_says_so(make_simulator, tmp_path):
    # the hybrid inverter's logger is down 11:00-14:00 local: 36 of its 288 samples never arrive
    server = make_simulator(
        limits=False, now=NOW, faults=Faults(offline={HYBRID: [local_span("Europe/Berlin", DAY, 11, 14)]})
    )
    assert materialize(server, tmp_path, DAY).success
    row, truth = daily(tmp_path, STORAGE), truth_day(server.fleet, STORAGE)
    assert row["energy_basis"] == "counters"
    assert (row["samples"], row["expected_samples"], row["coverage"]) == (252, 288, pytest.approx(252 / 288))
    for term in ENERGIES:  # the portal's day counters (rounded to 0.01 kWh), not the 21 hours measured
        assert row[term] == pytest.approx(truth[term], abs=0.011), term
    hours = query(
        tmp_path,
        "SELECT sum(pv_kwh) AS pv, sum(samples) AS n FROM plant_energy_hourly WHERE plant_id = $p",
        {"p": STORAGE},
    )
    assert hours.n[0] == 252 and hours.pv[0] < truth["pv_kwh"] - 1  # the hours stay as measured
    assert 0 <= row["self_consumption_rate"] <= 1 and 0 <= row["self_sufficiency_rate"] <= 1
    month = query(tmp_path, "SELECT * FROM self_consumption_monthly WHERE plant_id = $p", {"p": STORAGE}).iloc[0]
    assert (month.days, month.days_counters, month.days_complete, month.days_incomplete) == (1, 1, 0, 0)
    # nothing is left incomplete: the completeness check passes
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        assert run_check(conn, next(c for c in CHECKS if c.name.endswith("measured_or_counted"))).passed


def test_a_gap_nothing_covers_is_marked_incomplete_and_the_check_names_it(make_simulator, tmp_path):
    server = make_simulator(
        limits=False, now=NOW, faults=Faults(offline={HYBRID: [local_span("Europe/Berlin", DAY, 11, 14)]})
    )
    assert materialize(server, tmp_path, DAY, assets=dg.AssetSelection.groups("saj_raw")).success
    # The API never gave this plant's counters: its statistics and its inverter's day totals are not in the lake
    # (an attempt landed without them in place of the day's).
    lake = lake_of(tmp_path)
    for asset, unwanted in [
        ("raw_plant_statistics", pc.equal(pc.field("plant_id"), STORAGE)),
        (
            "raw_upload_data",
            (pc.field("device_sn") == HYBRID) & pc.match_substring(pc.field("request_params"), '"timeUnit": 1'),
        ),
    ]:
        kept = raw(tmp_path, asset, DAY).filter(~unwanted)
        lake.add_part(lake.day_dir("raw", "saj", asset, day=DAY), kept, supersedes=True)
    result = run(
        dg.AssetSelection.all() - dg.AssetSelection.groups("saj_raw"),
        partition_key=DAY.isoformat(),
        resources=resources(server, tmp_path),
    )
    assert result.success

    row = daily(tmp_path, STORAGE)
    frame = server.fleet.plant_day(STORAGE, DAY)
    measured = frame[frame.reported][ENERGIES].astype("Float64").sum()
    assert row["energy_basis"] == "incomplete" and row["samples"] == 252 and row["expected_samples"] == 288
    for term in ENERGIES:  # what arrived, exactly: too low, and said to be
        assert row[term] == pytest.approx(measured[term], abs=1e-6), term
    assert row["pv_kwh"] < truth_day(server.fleet, STORAGE)["pv_kwh"] - 1
    month = query(tmp_path, "SELECT * FROM self_consumption_monthly WHERE plant_id = $p", {"p": STORAGE}).iloc[0]
    assert month.days_incomplete == 1
    failed = [e for e in result.get_asset_check_evaluations() if e.check_name.endswith("measured_or_counted")]
    assert len(failed) == 1 and not failed[0].passed
    assert f"{STORAGE} {DAY}" in failed[0].description


def test_a_month_rate_uses_only_the_days_that_have_its_terms(make_simulator, tmp_path):
    # the plant's load monitor is down the whole of 17 June: that day knows its PV but not its load
    server = make_simulator(limits=False, now=NOW)
    plant = server.fleet.plant(MONITORED)
    server.set_faults(Faults(offline={plant.module_sn: [local_span("PRC", DAY, 0, 24)]}))
    days = [DAY - timedelta(days=1), DAY]
    for day in days:
        assert materialize(server, tmp_path, day).success
    before, gap = daily(tmp_path, MONITORED, days[0]), daily(tmp_path, MONITORED, days[1])
    assert gap["load_kwh"] is None or pd.isna(gap["load_kwh"])
    assert pd.isna(gap["self_consumption_rate"]) and pd.isna(gap["self_sufficiency_rate"])
    month = query(tmp_path, "SELECT * FROM self_consumption_monthly WHERE plant_id = $p", {"p": MONITORED}).iloc[0]
    assert (month.days, month.rated_days_pv, month.rated_days_load) == (2, 1, 1)
    assert month.pv_kwh == pytest.approx(before["pv_kwh"] + gap["pv_kwh"])
    # the month's rates are those of the day that has both terms, and that day's are the truth's flows
    assert month.self_consumption_rate == pytest.approx(before["self_consumption_rate"])
    assert month.self_sufficiency_rate == pytest.approx(before["self_sufficiency_rate"])
    truth = server.fleet.plant_day(MONITORED, days[0])
    pv_to_load = truth[["pv_kwh", "load_kwh"]].astype(float).min(axis=1).sum()  # no battery: PV serves the load
    assert before["self_consumption_rate"] == pytest.approx(pv_to_load / truth.pv_kwh.sum(), abs=1e-6)
    assert before["self_sufficiency_rate"] == pytest.approx(pv_to_load / truth.load_kwh.sum(), abs=1e-6)


def _tables(data_dir) -> dict[str, pd.DataFrame]:
    out = {}
    for table in TABLES + ("plants", "devices", "device_samples", "plant_statistics_daily", "alarm_history"):
        frame = query(data_dir, f"SELECT * FROM {table}")
        frame = frame.drop(columns=[c for c in ("updated_at", "fetched_at", "observed_at") if c in frame.columns])
        out[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


@pytest.mark.parametrize("outage", ["some calls fail", "the API is down"])
def test_a_complete_day_refetched_during_an_outage_keeps_what_the_lake_held(make_simulator, tmp_path, outage):
    server = make_simulator(plants=3, limits=False, now=NOW)
    assert materialize(server, tmp_path, DAY).success
    before = _tables(tmp_path)
    files = {a: len(lake_of(tmp_path).raw_files("saj", a, [DAY])) for a in ("raw_upload_data", "raw_alarms")}

    if outage == "some calls fail":
        server.set_faults(Faults(seed=4, http_5xx_rate=0.8))  # about one call in four fails six times running
    else:
        server.stop()
    again = materialize(server, tmp_path, DAY, raise_on_error=False, tags={"fleet/refresh_snapshot": "1"})
    assert not again.success

    # the models rebuilt from the lake are the same: the partial attempt was added beside the complete one
    assert run(
        dg.AssetSelection.all() - dg.AssetSelection.groups("saj_raw"),
        partition_key=DAY.isoformat(),
        resources=resources(server, tmp_path),
    ).success
    after = _tables(tmp_path)
    for table in before:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)
    for asset, n in files.items():
        assert len(lake_of(tmp_path).raw_files("saj", asset, [DAY])) >= n
