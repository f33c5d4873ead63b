"""Checks that bite: every asset check, on a warehouse built from the simulator, passes as built, then fails
on the defect it guards once that defect is planted, naming the plant (or device) and the day.

One warehouse is built for the module (one day of a six-plant fleet: every kind of plant); each test works on
its own copy of the warehouse file.
"""

import shutil
from datetime import date, datetime, timezone

import duckdb
import pytest

from assets.checks import CHECKS, run_check
from simulator import Fleet, SimulatorServer
from tests.support import resources, run

DAY = date(2025, 6, 17)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("checks")
    # "now" three days later: the alarm list's 90-day window holds the day's alarms
    fleet = Fleet(seed=7, plants=6, now=datetime(2025, 6, 20, 12, tzinfo=timezone.utc))
    with SimulatorServer(fleet, port=0, limits=False) as server:
        assert run(None, partition_key=DAY.isoformat(), resources=resources(server, data_dir)).success
    return data_dir / "warehouse.duckdb"


@pytest.fixture
def conn(built, tmp_path):
    shutil.copy(built, tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as c:
        c.execute("SET TimeZone = 'UTC'")
        yield c


def one(conn, sql):
    row = conn.execute(sql).fetchone()
    assert row is not None, f"nothing to plant the defect on: {sql}"
    return row


def duplicate_a_row(table):
    def plant(conn):
        conn.execute(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1")
        check = next(c for c in CHECKS if c.name == f"{table}_unique_key")
        who, when = (c.strip() for c in check.sql.split("SELECT ", 1)[1].split(",")[:2])
        return one(conn, f"SELECT {who}, {when} FROM {table} GROUP BY ALL HAVING count(*) > 1")

    return plant


def negative(table, who, when, column):
    def plant(conn):
        key = one(conn, f"SELECT {who}, {when} FROM {table} WHERE {column} > 0 ORDER BY ALL LIMIT 1")
        conn.execute(f"UPDATE {table} SET {column} = -0.5 WHERE {who} = $1 AND {when} = $2", list(key))
        return key

    return plant


def rate_above_one(table, when):
    def plant(conn):
        key = one(conn, f"SELECT plant_id, {when} FROM {table} WHERE self_consumption_rate IS NOT NULL LIMIT 1")
        conn.execute(f"UPDATE {table} SET self_consumption_rate = 1.2 WHERE plant_id = $1 AND {when} = $2", list(key))
        return key

    return plant


def hours_off_the_device_total(conn):
    # a device-day measured whole whose PV total is large enough for 5 % to exceed the 0.05 kWh floor
    sn, plant, day = one(
        conn,
        """SELECT h.device_sn, h.plant_id, h.day FROM device_energy_hourly AS h
           JOIN device_day_totals AS t USING (vendor, device_sn, day)
           GROUP BY ALL HAVING sum(h.samples) = 288 AND any_value(t.pv_kwh) > 5 ORDER BY ALL LIMIT 1""",
    )
    conn.execute("UPDATE device_energy_hourly SET pv_kwh = pv_kwh * 1.05 WHERE device_sn = $1 AND day = $2", [sn, day])
    return plant, day  # the check names the plant and day; its rows the device


def days_off_the_portal(conn):
    key = one(
        conn,
        """SELECT d.plant_id, d.day FROM self_consumption_daily AS d
           JOIN plant_statistics_daily AS s USING (vendor, plant_id, day)
           WHERE d.energy_basis = 'samples' AND s.today_pv_kwh > 5 ORDER BY ALL LIMIT 1""",
    )
    conn.execute("UPDATE self_consumption_daily SET pv_kwh = pv_kwh * 1.05 WHERE plant_id = $1 AND day = $2", list(key))
    return key


def imbalance(conn):
    key = one(
        conn,
        """SELECT plant_id, day FROM self_consumption_daily
           WHERE load_kwh > 5 AND grid_import_kwh IS NOT NULL AND battery_charge_kwh IS NOT NULL
           ORDER BY ALL LIMIT 1""",
    )
    # 5 % more load than the sources supplied
    conn.execute(
        """UPDATE self_consumption_daily SET load_kwh = load_kwh
               + 0.05 * (pv_kwh + grid_import_kwh + battery_discharge_kwh) WHERE plant_id = $1 AND day = $2""",
        list(key),
    )
    return key


def gap_not_covered(conn):
    key = one(conn, "SELECT plant_id, day FROM self_consumption_daily ORDER BY ALL LIMIT 1")
    # what the model writes for a day with samples missing and no counters to cover them
    conn.execute(
        """UPDATE self_consumption_daily SET energy_basis = 'incomplete', coverage = 0.9,
               samples = CAST(0.9 * expected_samples AS INTEGER) WHERE plant_id = $1 AND day = $2""",
        list(key),
    )
    return key


PLANTED = {
    **{c.name: duplicate_a_row(c.asset) for c in CHECKS if c.name.endswith("_unique_key")},
    "device_energy_hourly_no_negative_energy": negative("device_energy_hourly", "device_sn", "hour_local", "pv_kwh"),
    "plant_energy_hourly_no_negative_energy": negative(
        "plant_energy_hourly", "plant_id", "hour_local", "grid_to_battery_kwh"
    ),
    "self_consumption_daily_no_negative_energy": negative("self_consumption_daily", "plant_id", "day", "load_kwh"),
    "self_consumption_daily_rates_between_0_and_1": rate_above_one("self_consumption_daily", "day"),
    "self_consumption_monthly_rates_between_0_and_1": rate_above_one("self_consumption_monthly", "month"),
    "device_energy_hourly_matches_device_day_total": hours_off_the_device_total,
    "self_consumption_daily_matches_plant_statistics": days_off_the_portal,
    "self_consumption_daily_energy_balance": imbalance,
    "self_consumption_daily_measured_or_counted": gap_not_covered,
}


def test_every_check_has_a_planted_defect():
    assert sorted(PLANTED) == sorted(c.name for c in CHECKS)


@pytest.mark.parametrize("check", CHECKS, ids=[c.name for c in CHECKS])
def test_a_check_fails_on_its_defect_naming_who_and_when(conn, check):
    before = run_check(conn, check)
    who, when = (str(v) for v in PLANTED[check.name](conn))
    after = run_check(conn, check)
    assert not after.passed, f"{check.name} did not notice its defect at {who} {when}"
    assert f"{who} {when}" in after.description
    assert after.metadata["offending_rows"].value >= 1
    # it was the defect: as built, the check passed, or did not name that row
    assert before.passed or f"{who} {when}" not in before.description


@pytest.mark.parametrize("table", ["device_day_totals", "device_energy_hourly"])
def test_a_check_whose_table_is_missing_fails_and_says_which(conn, table):
    check = next(c for c in CHECKS if c.name == "device_energy_hourly_matches_device_day_total")
    conn.execute(f"DROP TABLE {table}")
    result = run_check(conn, check)
    assert not result.passed
    assert f"{table} missing from the warehouse" in result.description
