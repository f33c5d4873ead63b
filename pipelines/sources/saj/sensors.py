"""SAJ's alarm sensor: a new or closed SAJ alarm reaches `alarm_history` within minutes.

Every ``SAJ_ALARM_POLL_SECONDS`` (default 180) the sensor asks ``device/alarmList`` for the pending alarms
(``status=1``, one cheap call for the whole app) and compares them with the set it saw last time, kept in
its cursor. When one appears or closes it requests one run of the alarm assets (``saj/raw_alarms`` ->
``saj/stg_alarms`` -> ``conformed/alarms`` -> ``alarm_history``) over every plant's local today, so the
occurrence, its code and its start/end land in the warehouse without waiting for the intraday schedule. The
fleet assets of the day (``saj/raw_plants``, ``saj/raw_devices`` and their staging) join the run when
today's are not landed yet.

Credentials come from the ``saj`` resource (``SAJ_APP_ID``/``SAJ_APP_SECRET``); neither they nor the
token are logged. A failed poll skips the tick and keeps the cursor: the next one compares again. With SAJ
not configured, every tick is skipped and says so.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import dagster as dg

from pipelines.core.errors import FleetError
from pipelines.core.resources import LakeResource
from pipelines.schedules import SETTINGS, _clamp, fleet_zones, intraday_days, range_request
from pipelines.sources.saj.resources import SajApiResource
from pipelines.sources.saj.settings import SajSettings

ALARM_ASSETS = (("saj", "raw_alarms"), ("saj", "stg_alarms"), ("conformed", "alarms"), ("alarm_history",))
FLEET_ASSETS = (("saj", "raw_plants"), ("saj", "raw_devices"), ("saj", "stg_plants"), ("saj", "stg_devices"))
POLL_SECONDS = SajSettings.from_env().alarm_poll_seconds

alarms_job = dg.define_asset_job(
    "saj_alarms",
    selection=dg.AssetSelection.assets(*(dg.AssetKey(list(k)) for k in (*FLEET_ASSETS, *ALARM_ASSETS))),
    description="Today's alarms (and, when missing, today's fleet), for the alarm sensor.",
)


def utc_now() -> datetime:
    """The sensor's clock (tests pin it)."""
    return datetime.now(timezone.utc)


def open_alarm_keys(rows: list | None) -> list[str]:
    """A stable key per pending alarm: device, code and start (alarmList has no alarm id)."""
    keys = set()
    for row in rows or []:
        if isinstance(row, dict):
            keys.add("|".join(str(row.get(k, "")) for k in ("deviceSn", "alarmCode", "alarmTime")))
    return sorted(keys)


@dg.sensor(
    name="saj_open_alarms",
    job=alarms_job,
    minimum_interval_seconds=POLL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING if SETTINGS.running else dg.DefaultSensorStatus.STOPPED,
    description=(
        f"Every {POLL_SECONDS} s (SAJ_ALARM_POLL_SECONDS) polls the pending SAJ alarms; when one opens or closes, "
        "materialises today's raw_alarms -> stg_alarms -> alarm_history."
    ),
)
def saj_open_alarms(context: dg.SensorEvaluationContext, saj: SajApiResource, lake: LakeResource):
    if not saj.configured:
        return dg.SkipReason("SAJ is not configured (set SAJ_APP_ID and SAJ_APP_SECRET): no alarms to poll")
    try:
        response = saj.client().alarm_list(status="1")
    except FleetError as exc:  # the client's errors carry no secret or token
        return dg.SkipReason(f"alarm poll failed ({type(exc).__name__}): {exc}")
    if not response.ok:
        return dg.SkipReason(f"alarm poll answered code {response.code}: {response.msg}")
    current = open_alarm_keys(response.data)
    previous = json.loads(context.cursor)["open"] if context.cursor else None
    if previous == current:
        return dg.SkipReason(f"{len(current)} open alarm(s), unchanged")
    opened = sorted(set(current) - set(previous or []))
    closed = sorted(set(previous or []) - set(current))
    now = utc_now()
    days = _clamp(intraday_days(now, fleet_zones(lake.lake, now), timedelta(minutes=SETTINGS.settle_minutes)), now)
    context.update_cursor(json.dumps({"open": current}))
    if not days:
        return dg.SkipReason("no partition for today (before FLEET_START_DATE?)")
    missing_fleet = any(
        not lake.lake.raw_files("saj", asset, [day]) for asset in ("raw_plants", "raw_devices") for day in days
    )
    selection = [dg.AssetKey(list(k)) for k in ((*FLEET_ASSETS, *ALARM_ASSETS) if missing_fleet else ALARM_ASSETS)]
    what = "first poll" if previous is None else f"{len(opened)} opened, {len(closed)} closed"
    context.log.info(f"alarms: {what}; {len(current)} open; refreshing {days[0]} .. {days[-1]}")
    digest = hashlib.sha256(json.dumps([current, [d.isoformat() for d in days]]).encode()).hexdigest()[:16]
    return range_request(
        days, "alarms", run_key=f"alarms-{digest}", tags={"fleet/alarms": what}, asset_selection=selection
    )


sensors = [saj_open_alarms]
