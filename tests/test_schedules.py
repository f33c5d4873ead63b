"""The schedules at fixed instants, for plants whose local day ends late (UTC-10) and early (UTC+14)."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa
import pytest

from pipelines.core.lake import Lake
from pipelines.core.partitions import daily_partitions
from pipelines.core.resources import LakeResource
from pipelines.core.settings import FleetSettings
from pipelines.schedules import SETTINGS, daily_days, fleet_daily, fleet_intraday, intraday_days, refresh_job

HONOLULU, KIRITIMATI = ZoneInfo("Pacific/Honolulu"), ZoneInfo("Pacific/Kiritimati")  # UTC-10, UTC+14
SETTLE = timedelta(minutes=30)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def _land_plants(root, day: date, vendor: str, zones: dict[str, str]) -> None:
    """A vendor's conformed plants of a day (only what the schedules read: the time zones)."""
    lake = Lake(root / "lake")
    table = pa.table({"vendor": [vendor] * len(zones), "plant_id": list(zones), "time_zone": list(zones.values())})
    lake.write_file(lake.conformed_file("plants", vendor, day), table)


def _keys(data) -> tuple[str, str]:
    (request,) = data.run_requests
    return request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]


def test_intraday_days_cover_every_local_today():
    zones = [HONOLULU, KIRITIMATI]
    # 11:00 UTC: Honolulu is at 01:00 on the 10th, Kiritimati at 01:00 on the 11th
    assert intraday_days(_utc(2025, 9, 10, 11, 0), zones, SETTLE) == [date(2025, 9, 10), date(2025, 9, 11)]
    # 10:15 UTC: both just passed midnight: the days that ended 15 min ago are refreshed once more
    assert intraday_days(_utc(2025, 9, 10, 10, 15), zones, SETTLE) == [
        date(2025, 9, 9),
        date(2025, 9, 10),
        date(2025, 9, 11),
    ]
    # 03:00 UTC: Honolulu still on the 9th (17:00), Kiritimati on the 10th (17:00)
    assert intraday_days(_utc(2025, 9, 10, 3, 0), zones, SETTLE) == [date(2025, 9, 9), date(2025, 9, 10)]
    # a European fleet: one key most of the day
    assert intraday_days(_utc(2025, 9, 10, 12, 0), [ZoneInfo("Europe/Berlin")], SETTLE) == [date(2025, 9, 10)]
    # no fleet known yet: every offset from UTC-12 to UTC+14 (three dates between 10:00 and 12:00 UTC)
    assert intraday_days(_utc(2025, 9, 10, 11, 0), [], SETTLE) == [
        date(2025, 9, 9),
        date(2025, 9, 10),
        date(2025, 9, 11),
    ]


def test_daily_days_have_ended_everywhere():
    zones = [HONOLULU, KIRITIMATI]
    # 12:30 UTC on the 10th: Honolulu's 9th ended at 10:00 UTC; the 8th and 9th are refetched
    assert daily_days(_utc(2025, 9, 10, 12, 30), zones, SETTLE, 2) == [date(2025, 9, 8), date(2025, 9, 9)]
    # 10:20 UTC: Honolulu's 9th ended 20 minutes ago, less than the settle time: not yet
    assert daily_days(_utc(2025, 9, 10, 10, 20), zones, SETTLE, 2) == [date(2025, 9, 7), date(2025, 9, 8)]
    # Kiritimati alone: its 10th has ended by 10:30 UTC on the 10th
    assert daily_days(_utc(2025, 9, 10, 10, 30), [KIRITIMATI], SETTLE, 1) == [date(2025, 9, 10)]
    # unknown fleet: UTC-12 ends the 9th at 12:00 UTC on the 10th
    assert daily_days(_utc(2025, 9, 10, 12, 30), [], SETTLE, 2) == [date(2025, 9, 8), date(2025, 9, 9)]
    assert daily_days(_utc(2025, 9, 10, 12, 10), [], SETTLE, 2) == [date(2025, 9, 7), date(2025, 9, 8)]


def test_partitions_hold_the_local_today_of_utc_plus_14():
    now = _utc(2025, 9, 10, 11, 0)
    keys = daily_partitions.get_partition_keys(current_time=now)
    assert now.astimezone(KIRITIMATI).date().isoformat() == keys[-1] == "2025-09-11"


def test_schedules_request_one_range_run(tmp_path):
    # two vendors' plants: one in Honolulu, one in Kiritimati; the schedules read both
    _land_plants(tmp_path, date(2025, 9, 9), "saj", {"p-hnl": "Pacific/Honolulu", "p-x": "Not/AZone"})
    _land_plants(tmp_path, date(2025, 9, 8), "other", {"p-kir": "Pacific/Kiritimati"})
    resources = {"lake": LakeResource(data_dir=str(tmp_path))}
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2025, 9, 10, 11, 0), resources=resources)
    data = fleet_intraday.evaluate_tick(ctx)
    assert _keys(data) == ("2025-09-10", "2025-09-11")
    assert data.run_requests[0].tags["fleet/trigger"] == "intraday"
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2025, 9, 10, 12, 30), resources=resources)
    data = fleet_daily.evaluate_tick(ctx)
    assert _keys(data) == ("2025-09-08", "2025-09-09")
    # before any landing, the schedules assume every offset
    empty = {"lake": LakeResource(data_dir=str(tmp_path / "empty"))}
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2025, 9, 10, 11, 0), resources=empty)
    assert _keys(fleet_intraday.evaluate_tick(ctx)) == ("2025-09-09", "2025-09-11")
    # before the first partition: nothing to do
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2024, 6, 1, 11, 0), resources=empty)
    assert "FLEET_START_DATE" in fleet_intraday.evaluate_tick(ctx).skip_message


def test_schedule_targets_every_asset_and_is_running():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("fleet_refresh")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} >= {
        "saj/raw_upload_data",
        "saj/stg_device_samples",
        "conformed/samples",
        "plant_energy_hourly",
        "alarm_history",
    }
    assert fleet_intraday.cron_schedule == "*/15 * * * *" and fleet_daily.cron_schedule == "30 12 * * *"
    assert fleet_intraday.default_status == dg.DefaultScheduleStatus.RUNNING == fleet_daily.default_status
    assert refresh_job.name == "fleet_refresh"


def test_settings_from_env_with_the_old_names_still_working(monkeypatch):
    for name in ("INTRADAY_MINUTES", "DAILY_CRON", "AUTOMATION", "DATA_DIR", "START_DATE"):
        monkeypatch.delenv(f"FLEET_{name}", raising=False)
    monkeypatch.setenv("SAJ_INTRADAY_MINUTES", "5")
    monkeypatch.setenv("SAJ_DAILY_CRON", "0 14 * * *")
    monkeypatch.setenv("SAJ_AUTOMATION", "stopped")
    monkeypatch.setenv("SAJ_START_DATE", "2026-01-01")
    s = FleetSettings.from_env()
    assert (s.intraday_cron, s.daily_cron, s.running, s.start_date) == (
        "*/5 * * * *",
        "0 14 * * *",
        False,
        date(2026, 1, 1),
    )
    monkeypatch.setenv("FLEET_INTRADAY_MINUTES", "10")  # the neutral name wins
    monkeypatch.setenv("FLEET_START_DATE", "2026-02-01")
    s = FleetSettings.from_env()
    assert (s.intraday_minutes, s.start_date) == (10, date(2026, 2, 1))
    monkeypatch.setenv("FLEET_INTRADAY_MINUTES", "7")
    with pytest.raises(ValueError, match="divisor of 60"):
        FleetSettings.from_env()
    monkeypatch.setenv("FLEET_INTRADAY_MINUTES", "15")
    monkeypatch.setenv("FLEET_START_DATE", "yesterday")
    with pytest.raises(ValueError, match="FLEET_START_DATE='yesterday'"):
        FleetSettings.from_env()


def test_freshness_policy_follows_the_intraday_interval():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    policy = graph.get(dg.AssetKey("plant_energy_hourly")).freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(minutes=2 * SETTINGS.intraday_minutes)
    assert graph.get(dg.AssetKey(["saj", "raw_upload_data"])).freshness_policy is None
