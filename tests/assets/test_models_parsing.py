"""Staging and marts over raw rows built from the contract's response shapes (docs/simulator.md) and the
real captured responses in tests/fixtures: quirks, time zones and daylight-saving days, without HTTP."""

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.dst import DST_DAYS, PLAIN_DAYS
from tests.support import build_models, land

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "saj-open-api"
FETCHED = datetime(2025, 11, 1, tzinfo=timezone.utc)


def resp(endpoint, params, body, code=200, http_status=200, fetched_at=FETCHED):
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return SimpleNamespace(
        endpoint=endpoint,
        params=params,
        fetched_at=fetched_at,
        http_status=http_status,
        code=code,
        msg="",
        attempts=1,
        body_text=text,
    )


def details(plant_id, tz, ptype=1, meter=0):
    return resp(
        "plant/details",
        {"plantId": plant_id},
        {
            "code": 200,
            "msg": "request success",
            "data": {
                "plantName": f"P{plant_id}",
                "type": ptype,
                "systemPower": "6.6",
                "timeZone": tz,
                "country": "Germany",
                "isInstallMeter": meter,
                "plantUid": "U" + plant_id,
            },
        },
    )


def local_stamps(day, tz):
    """The local stamps a device sends for a local day, in time order (a repeated hour repeats)."""
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(timezone.utc)
    out, t = [], start
    while t < end:
        out.append((t.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), t))
        t += timedelta(minutes=5)
    return out


def storage_minute_body(day, tz, watts=1200, as_strings=False):
    pts = []
    for stamp, _ in local_stamps(day, tz):
        v = (lambda x: str(x)) if as_strings else (lambda x: x)
        pts.append(
            {
                "batterySOC": v(-1) if stamp.endswith("12:00:00") else v(55),
                "buyPower": v(0),
                "chargePower": v(100),
                "dataTime": stamp,
                "dischargePower": v(0),
                "loadPower": v(1000),
                "pvPower": v(watts),
                "selfUsePower": v(1000),
                "sellPower": v(100),
            }
        )
    return {"code": 200, "msg": "request success", "data": {"deviceType": 1, "timeUnit": 0, "total": {}, "data": pts}}


def upload(sn, day, body, unit="0"):
    return resp(
        "device/uploadData",
        {"deviceSn": sn, "startTime": f"{day} 00:00:00", "endTime": f"{day} 23:59:59", "timeUnit": unit},
        body,
    )


@pytest.mark.parametrize("tz,day,hours", DST_DAYS + PLAIN_DAYS[1:3])
def test_samples_get_their_instants_and_hours_on_dst_days(tmp_path, tz, day, hours):
    land(tmp_path, "raw_plants", day, [("10000000001", None, details("10000000001", tz))])
    body = storage_minute_body(day, tz, as_strings=True)
    dup = json.loads(json.dumps(body))
    dup["data"]["data"].insert(10, dup["data"]["data"][9])  # a duplicated sample
    land(tmp_path, "raw_upload_data", day, [("10000000001", "H1T1", upload("H1T1", day, dup))])
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"))
    staged = build_models(tmp_path, [day], conn)
    samples = staged["saj/stg_device_samples"]
    expected = [utc for _, utc in local_stamps(day, tz)]
    assert len(samples) == hours * 12
    assert [s["ts_utc"] for s in samples] == expected
    assert sum(s["battery_soc_pct"] is None for s in samples) == 1 and all(s["pv_w"] == 1200 for s in samples)

    hourly = conn.execute("SELECT count(*), sum(pv_kwh), count(DISTINCT hour_utc) FROM device_energy_hourly").fetchone()
    assert hourly[0] == hours and hourly[2] == hours
    assert hourly[1] == pytest.approx(hours * 1.2)
    daily = conn.execute(
        "SELECT pv_kwh, load_kwh, self_consumed_kwh, self_consumption_rate, self_sufficiency_rate "
        "FROM self_consumption_daily"
    ).fetchone()
    assert daily[0] == pytest.approx(hours * 1.2) and daily[1] == pytest.approx(hours * 1.0)
    assert daily[2] == pytest.approx(hours * 1.1)
    # PV serves the load (1.0 kW), charges the battery (0.1), exports the rest (0.1): nothing comes from the grid
    assert daily[3] == pytest.approx(1.1 / 1.2) and daily[4] == pytest.approx(1.0)


def gridtied_minute_body(day, tz, watts=600):
    """A grid-tied inverter's day with its todayEnergy counter (kWh since local midnight, at each interval's end)."""
    pts = [
        {"dataTime": stamp, "power": watts, "todayEnergy": round((n + 1) * watts / 12000, 2)}
        for n, (stamp, _) in enumerate(local_stamps(day, tz))
    ]
    return {"code": 200, "msg": "", "data": {"deviceType": 0, "timeUnit": 0, "data": pts}}


@pytest.mark.parametrize("order", ["time", "local-string", "local-string-reversed-copies"])
def test_a_fall_back_day_is_read_the_same_whatever_the_order_of_its_repeated_hour(tmp_path, order):
    """300 samples and 25 hours, each sample at its own instant, whether the API sends the repeated hour in time
    order or sorted by local time (copies adjacent), even with a repeated stamp's copies swapped: the grid-tied
    inverter's todayEnergy then says which copy came first."""
    day, tz = date(2025, 10, 26), "Europe/Berlin"
    land(tmp_path, "raw_plants", day, [("10000000001", None, details("10000000001", tz, ptype=0))])
    storage, gridtied = storage_minute_body(day, tz), gridtied_minute_body(day, tz)
    for body in (storage, gridtied):
        if order != "time":
            body["data"]["data"].sort(key=lambda p: p["dataTime"])  # stable: each stamp's earlier copy first
    if order == "local-string-reversed-copies":
        points = gridtied["data"]["data"]
        for i in range(len(points) - 1):
            if points[i]["dataTime"] == points[i + 1]["dataTime"] and i % 2 == 0:
                points[i], points[i + 1] = points[i + 1], points[i]
    land(
        tmp_path,
        "raw_upload_data",
        day,
        [("10000000001", "H1T1", upload("H1T1", day, storage)), ("10000000001", "R5X1", upload("R5X1", day, gridtied))],
    )
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"))
    staged = build_models(tmp_path, [day], conn)
    expected = [utc for _, utc in local_stamps(day, tz)]
    for sn in ("H1T1", "R5X1"):
        samples = [s for s in staged["saj/stg_device_samples"] if s["device_sn"] == sn]
        assert [s["ts_utc"] for s in samples] == expected, (order, sn)
        assert not any(s["fold_ambiguous"] for s in samples)
    counters = [s["today_energy_kwh"] for s in staged["saj/stg_device_samples"] if s["device_sn"] == "R5X1"]
    assert counters == sorted(counters)  # each copy at its instant: the counter grows through the repeated hour
    hours = conn.execute(
        "SELECT device_sn, count(*), sum(pv_kwh), min(samples) FROM device_energy_hourly GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert hours == [("H1T1", 25, pytest.approx(30.0), 12), ("R5X1", 25, pytest.approx(15.0), 12)]


def test_a_repeated_stamp_sent_once_is_flagged_and_its_hour_incomplete(tmp_path):
    day, tz = date(2025, 10, 26), "Europe/Berlin"
    land(tmp_path, "raw_plants", day, [("10000000001", None, details("10000000001", tz))])
    body = storage_minute_body(day, tz)
    points = body["data"]["data"]
    first_copy = next(i for i, p in enumerate(points) if p["dataTime"].endswith("02:10:00"))
    del points[first_copy]  # the logger lost one copy of 02:10
    land(tmp_path, "raw_upload_data", day, [("10000000001", "H1T1", upload("H1T1", day, body))])
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"))
    staged = build_models(tmp_path, [day], conn)
    (single,) = [s for s in staged["saj/stg_device_samples"] if s["fold_ambiguous"]]
    assert single["ts_local"] == datetime(2025, 10, 26, 2, 10)
    # both 02:00 hours are flagged: the first lacks its 02:10, the second's 02:10 may be the first's
    incomplete = conn.execute(
        "SELECT hour_local, samples FROM device_energy_hourly WHERE samples < 12 ORDER BY hour_utc"
    ).fetchall()
    assert incomplete == [(datetime(2025, 10, 26, 2, 0), 11)] * 2
    assert conn.execute("SELECT sum(pv_kwh) FROM device_energy_hourly").fetchone()[0] == pytest.approx(299 * 0.1)


def test_quirks_fixtures_errors_and_sentinels(tmp_path):
    day = date(2025, 9, 2)
    land(tmp_path, "raw_plants", day, [("23225181132", None, details("23225181132", "Asia/Kuala_Lumpur", 0))])
    minute = (FIXTURES / "open_device_uploadData_timeUnit0_minute.json").read_text()
    daily = (FIXTURES / "open_device_uploadData_timeUnit1_day.json").read_text().replace("2025-08-27", "2025-09-02")
    land(
        tmp_path,
        "raw_upload_data",
        day,
        [
            ("23225181132", "M2S4182G2349E02268", upload("M2S4182G2349E02268", day, minute)),
            ("23225181132", "M2S4182G2349E02268", upload("M2S4182G2349E02268", day, daily, unit="1")),
            (
                "23225181132",
                "BROKEN",
                resp(
                    "device/uploadData",
                    {"deviceSn": "BROKEN", "timeUnit": "0"},
                    '{"code": 200, "data": {"da',
                    code=None,
                ),
            ),
        ],
    )
    land(
        tmp_path,
        "raw_sec_data",
        day,
        [
            (
                "23225181132",
                None,
                resp(
                    "device/secData",
                    {"plantId": "23225181132", "timeUnit": "0"},
                    {"code": 10021, "msg": "plant has not been bound with load monitoring", "data": None},
                    code=10021,
                ),
            )
        ],
    )
    stats = {
        "errCode": 0,
        "errMsg": "",
        "data": {"todayPvEnergy": "12.5", "todayLoadEnergy": "", "totalPvEnergy": "3081.9", "todayChargeEnergy": "0"},
    }
    land(
        tmp_path,
        "raw_plant_statistics",
        day,
        [
            (
                "23225181132",
                None,
                resp(
                    "plant/getPlantStatisticsData",
                    {"plantId": "23225181132", "clientDate": "2025-09-02 23:59:59"},
                    stats,
                    code=0,
                ),
            )
        ],
    )
    out = build_models(tmp_path, [day], duckdb.connect(str(tmp_path / "wh.duckdb")))
    (sample,) = out["saj/stg_device_samples"]
    assert sample["pv_w"] == 1774 and sample["pv1_volt"] == 368.5 and sample["load_w"] is None
    assert sample["ts_utc"] == datetime(2025, 9, 2, 2, 0, tzinfo=timezone.utc)
    assert out["saj/stg_device_day_totals"][0]["pv_kwh"] == 22.56
    assert out["saj/stg_load_monitor_samples"] == []
    (st,) = out["saj/stg_plant_statistics"]
    assert st["today_pv_kwh"] == 12.5 and st["today_load_kwh"] is None and st["total_pv_kwh"] == 3081.9


def land_one_hybrid(data_dir, day):
    """The fleet of the alarm tests: plant 10000000001 in Berlin with one hybrid inverter, H1T1."""
    land(data_dir, "raw_plants", day, [("10000000001", None, details("10000000001", "Europe/Berlin"))])
    devices = {"code": 200, "data": [{"deviceType": 1, "sn": "", "inverterData": {"deviceSn": "H1T1", "type": 1}}]}
    listing = resp("plant/getPlantAllDeviceList", {"plantId": "10000000001"}, devices)
    land(data_dir, "raw_devices", day, [("10000000001", None, listing)])


def test_alarm_open_then_closed_is_one_row(tmp_path):
    d1, d2 = date(2025, 6, 1), date(2025, 6, 2)
    conn = duckdb.connect(str(tmp_path / "wh.duckdb"))
    alarm = {
        "serialNumber": 1,
        "alarmID": "A1",
        "alarmName": "Grid Over-Voltage",
        "deviceSn": "H1T1",
        "alarmLevel": 2,
        "alarmState": 1,
        "alarmStartTime": "2025-06-01T21:50:00Z",
        "alarmUpdateTime": "2025-06-01T22:00:00Z",
        "alarmDuration": "10 minutes",
    }
    closed = {**alarm, "alarmState": 4, "alarmUpdateTime": "2025-06-02T01:20:00Z", "alarmDuration": "210 minutes"}
    listing = {
        "code": 0,
        "msg": "",
        "data": [
            {
                "deviceSn": "H1T1",
                "alarmCode": 1001,
                "alarmName": "Grid Over-Voltage",
                "alarmLevel": 2,
                "status": 1,
                "alarmTime": "2025-06-01 23:50:00",
            }
        ],
    }
    # the next day's alarmList (90 days of starts) shows it again, closed
    listing_closed = {**listing, "data": [{**listing["data"][0], "status": 4}]}
    for day, body, at in [(d1, alarm, FETCHED), (d2, closed, FETCHED + timedelta(days=1))]:
        land_one_hybrid(tmp_path, day)
        land(
            tmp_path,
            "raw_alarms",
            day,
            [
                (
                    None,
                    None,
                    resp("device/alarmList", {}, listing if day == d1 else listing_closed, code=0, fetched_at=at),
                ),
                (
                    "10000000001",
                    "H1T1",
                    resp(
                        "device/getDeviceAlarmList",
                        {"alarmCommonState": 1},
                        {"code": 0, "data": [body] if day == d1 else []},
                        code=0,
                        fetched_at=at,
                    ),
                ),
                (
                    "10000000001",
                    "H1T1",
                    resp(
                        "device/getDeviceAlarmList",
                        {"alarmCommonState": 3},
                        {"code": 0, "data": [] if day == d1 else [body]},
                        code=0,
                        fetched_at=at,
                    ),
                ),
            ],
        )
    for days in ([d1], [d2], [d1], [d1, d2]):  # re-running the older day never undoes the later one
        build_models(tmp_path, days, conn, marts={"alarm_history"})
        rows = conn.execute(
            "SELECT vendor_alarm_id, alarm_code, status, started_at, ended_at, duration_minutes, "
            "first_seen_day, last_seen_day, alarm_id FROM alarm_history"
        ).fetchall()
        assert len(rows) == 1
        assert rows[0][:3] == ("A1", 1001, "closed") or days == [d1] and rows[0][2] == "open"
    assert rows[0][5] == 210 and rows[0][6] == d1 and rows[0][7] == d2
    assert rows[0][8] == "H1T1@2025-06-01T21:50:00Z/Grid Over-Voltage"  # the occurrence, whichever answer shows it


@pytest.mark.parametrize(
    "start,update",
    [
        ("2025-06-01T21:50:00Z", "2025-06-03T10:40:00Z"),  # UTC, as the reference shows
        ("2025-06-01 23:50:00+02:00", "2025-06-03 12:40:00+02:00"),  # with an offset
        ("2025-06-01 23:50:00", "2025-06-03 12:40:00"),  # plant-local wall-clock time (Berlin, UTC+2)
    ],
    ids=["utc", "offset", "local"],
)
def test_alarm_times_with_and_without_a_zone_and_whole_durations(tmp_path, start, update):
    day = date(2025, 6, 3)
    alarm = {
        "alarmID": "A7",
        "alarmName": "Grid Over-Voltage",
        "deviceSn": "H1T1",
        "alarmLevel": 2,
        "alarmState": 4,
        "alarmStartTime": start,
        "alarmUpdateTime": update,
        "alarmDuration": "1 days 12 hours 50 minutes",
    }
    listing = {
        "deviceSn": "H1T1",
        "alarmCode": 1001,
        "alarmName": "Grid Over-Voltage",
        "alarmLevel": 2,
        "status": 4,
        "alarmTime": "2025-06-01 23:50:00",
    }
    land_one_hybrid(tmp_path, day)
    land(
        tmp_path,
        "raw_alarms",
        day,
        [
            (None, None, resp("device/alarmList", {}, {"code": 0, "data": [listing]}, code=0)),
            (
                "10000000001",
                "H1T1",
                resp("device/getDeviceAlarmList", {"alarmCommonState": 3}, {"code": 0, "data": [alarm]}, code=0),
            ),
        ],
    )
    out = build_models(tmp_path, [day], duckdb.connect(str(tmp_path / "wh.duckdb")))
    (row,) = out["saj/stg_alarms"]
    assert row["started_at"] == datetime(2025, 6, 1, 21, 50, tzinfo=timezone.utc)
    assert row["ended_at"] == datetime(2025, 6, 3, 10, 40, tzinfo=timezone.utc)
    assert row["duration_minutes"] == row["reported_duration_minutes"] == 36 * 60 + 50
    assert (row["alarm_code"], row["vendor_alarm_id"], row["status"]) == (1001, "A7", "closed")
