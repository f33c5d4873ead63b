"""Staging and marts over raw rows built from the contract's response shapes (docs/simulator.md) and the
real captured responses in tests/fixtures: quirks, time zones and daylight-saving days, without HTTP."""

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import duckdb
import pytest

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
                "buyPower": v(100),
                "chargePower": v(200),
                "dataTime": stamp,
                "dischargePower": v(0),
                "loadPower": v(1000),
                "pvPower": v(watts),
                "selfUsePower": v(900),
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


@pytest.mark.parametrize(
    "tz,day,hours",
    [
        ("Europe/Berlin", date(2025, 10, 26), 25),
        ("Europe/Berlin", date(2025, 3, 30), 23),
        ("Australia/Sydney", date(2025, 4, 6), 25),
        ("Australia/Sydney", date(2025, 10, 5), 23),
        ("PRC", date(2025, 10, 26), 24),
        ("Asia/Kuala_Lumpur", date(2025, 6, 1), 24),
    ],
)
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
    assert daily[3] == pytest.approx(1.1 / 1.2) and daily[4] == pytest.approx(0.9)


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
    for day, body, at in [(d1, alarm, FETCHED), (d2, closed, FETCHED + timedelta(days=1))]:
        land(tmp_path, "raw_plants", day, [("10000000001", None, details("10000000001", "Europe/Berlin"))])
        land(
            tmp_path,
            "raw_devices",
            day,
            [
                (
                    "10000000001",
                    None,
                    resp(
                        "plant/getPlantAllDeviceList",
                        {"plantId": "10000000001"},
                        {
                            "code": 200,
                            "data": [{"deviceType": 1, "sn": "", "inverterData": {"deviceSn": "H1T1", "type": 1}}],
                        },
                    ),
                )
            ],
        )
        land(
            tmp_path,
            "raw_alarms",
            day,
            [
                (
                    None,
                    None,
                    resp(
                        "device/alarmList", {}, listing if day == d1 else {"code": 0, "data": []}, code=0, fetched_at=at
                    ),
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
            "SELECT alarm_id, alarm_code, status, started_at, ended_at, duration_minutes, "
            "first_seen_day, last_seen_day FROM alarm_history"
        ).fetchall()
        assert len(rows) == 1
        assert rows[0][:3] == ("A1", 1001, "closed") or days == [d1] and rows[0][2] == "open"
    assert rows[0][5] == 210 and rows[0][6] == d1 and rows[0][7] == d2
