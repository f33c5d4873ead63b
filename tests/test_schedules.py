"""The schedules at fixed instants, for plants whose local day ends late (UTC-10) and early (UTC+14)."""

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from pipelines import lake as lakefiles
from pipelines.client import ApiResponse
from pipelines.partitions import daily_partitions
from pipelines.resources import LakeResource
from pipelines.schedules import (
    SETTINGS, ScheduleSettings, daily_days, intraday_days, refresh_job, saj_daily, saj_intraday,
)

HONOLULU, KIRITIMATI = ZoneInfo("Pacific/Honolulu"), ZoneInfo("Pacific/Kiritimati")  # UTC-10, UTC+14
SETTLE = timedelta(minutes=30)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def _land_plants(root, day: date, zones: dict[str, str]) -> None:
    """A raw_plants landing with one plant/details answer per plant, as the raw asset writes it."""
    responses = []
    for plant_id, zone in zones.items():
        body = json.dumps({"code": 0, "msg": "", "data": {"plantId": plant_id, "timeZone": zone, "type": 1}})
        responses.append((plant_id, None, ApiResponse("plant/details", {"plantId": plant_id}, 200, 0, "", body,
                                                      json.loads(body), _utc(2025, 9, 1))))
    lakefiles.write_partition(root, "raw", "raw_plants", day, lakefiles.raw_table(day, responses))


def _keys(data) -> tuple[str, str]:
    (request,) = data.run_requests
    return request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]


def test_intraday_days_cover_every_local_today():
    zones = [HONOLULU, KIRITIMATI]
    # 11:00 UTC: Honolulu is at 01:00 on the 10th, Kiritimati at 01:00 on the 11th
    assert intraday_days(_utc(2025, 9, 10, 11, 0), zones, SETTLE) == [date(2025, 9, 10), date(2025, 9, 11)]
    # 10:15 UTC: both just passed midnight: the days that ended 15 min ago are refreshed once more
    assert intraday_days(_utc(2025, 9, 10, 10, 15), zones, SETTLE) == [date(2025, 9, 9), date(2025, 9, 10), date(2025, 9, 11)]
    # 03:00 UTC: Honolulu still on the 9th (17:00), Kiritimati on the 10th (17:00)
    assert intraday_days(_utc(2025, 9, 10, 3, 0), zones, SETTLE) == [date(2025, 9, 9), date(2025, 9, 10)]
    # a European fleet: one key most of the day
    assert intraday_days(_utc(2025, 9, 10, 12, 0), [ZoneInfo("Europe/Berlin")], SETTLE) == [date(2025, 9, 10)]
    # no fleet known yet: every offset from UTC-12 to UTC+14 (three dates between 10:00 and 12:00 UTC)
    assert intraday_days(_utc(2025, 9, 10, 11, 0), [], SETTLE) == [date(2025, 9, 9), date(2025, 9, 10), date(2025, 9, 11)]


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
    _land_plants(tmp_path, date(2025, 9, 9), {"p-hnl": "Pacific/Honolulu", "p-kir": "Pacific/Kiritimati"})
    resources = {"lake": LakeResource(data_dir=str(tmp_path))}
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2025, 9, 10, 11, 0), resources=resources)
    data = saj_intraday.evaluate_tick(ctx)
    assert _keys(data) == ("2025-09-10", "2025-09-11")
    assert data.run_requests[0].tags["saj/trigger"] == "intraday"
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2025, 9, 10, 12, 30), resources=resources)
    data = saj_daily.evaluate_tick(ctx)
    assert _keys(data) == ("2025-09-08", "2025-09-09")
    # before any landing, the schedules assume every offset
    empty = {"lake": LakeResource(data_dir=str(tmp_path / "empty"))}
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2025, 9, 10, 11, 0), resources=empty)
    assert _keys(saj_intraday.evaluate_tick(ctx)) == ("2025-09-09", "2025-09-11")
    # before the first partition: nothing to do
    ctx = dg.build_schedule_context(scheduled_execution_time=_utc(2024, 6, 1, 11, 0), resources=empty)
    assert saj_intraday.evaluate_tick(ctx).skip_message


def test_schedule_targets_every_asset_and_is_running():
    from pipelines.definitions import defs

    job = defs.resolve_job_def("saj_refresh")
    assert {k.path[-1] for k in job.asset_layer.executable_asset_keys} >= {"raw_upload_data", "stg_device_samples", "plant_energy_hourly", "alarm_history"}
    assert saj_intraday.cron_schedule == "*/15 * * * *" and saj_daily.cron_schedule == "30 12 * * *"
    assert saj_intraday.default_status == dg.DefaultScheduleStatus.RUNNING == saj_daily.default_status
    assert refresh_job.name == "saj_refresh"


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("SAJ_INTRADAY_MINUTES", "5")
    monkeypatch.setenv("SAJ_DAILY_CRON", "0 14 * * *")
    monkeypatch.setenv("SAJ_AUTOMATION", "stopped")
    s = ScheduleSettings.from_env()
    assert (s.intraday_cron, s.daily_cron, s.default_status) == ("*/5 * * * *", "0 14 * * *", dg.DefaultScheduleStatus.STOPPED)
    monkeypatch.setenv("SAJ_INTRADAY_MINUTES", "7")
    with pytest.raises(ValueError, match="divisor of 60"):
        ScheduleSettings.from_env()


def test_freshness_policy_follows_the_intraday_interval():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    policy = graph.get(dg.AssetKey("plant_energy_hourly")).freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(minutes=2 * SETTINGS.intraday_minutes)
    assert graph.get(dg.AssetKey("raw_upload_data")).freshness_policy is None
