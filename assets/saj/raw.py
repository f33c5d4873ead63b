"""SAJ's raw landing: every SAJ API response of a day, verbatim, in the raw lake (lake/raw/saj/<asset>/).

Six day-partitioned raw tables, one per kind of answer, landed as one step (`raw_multi_asset` of
`pipelines.core.landing`): the fleet first, then minute data, load monitors, statistics and alarms at the same
time, each endpoint at its own limit. The fleet (plants, devices) changes slowly: its details are a snapshot, fetched
again once it is `FLEET_SNAPSHOT_HOURS` old, when the cheap paginated plant and device lists show a change,
or on demand (a run tagged `fleet/refresh_snapshot`); every other run lands the snapshot's answers.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

import dagster as dg

from pipelines.core.lake import UnsafeIdentifierError, checked_identifier
from pipelines.core.landing import DayLanding, RawTable, fresh_snapshot, raw_multi_asset, save_snapshot
from pipelines.core.partitions import days_of, local_day_window, plant_zone
from pipelines.core.resources import LakeResource
from pipelines.core.settings import FleetSettings
from pipelines.sources.saj.client import SajClient, SajResponse
from pipelines.sources.saj.fleet import Plant, devices_flagged_with_alarms, devices_with_open_alarms, load_fleet
from pipelines.sources.saj.resources import SajApiResource

VENDOR = "saj"
ALARM_HISTORY_DAYS = 90  # how far back getDeviceAlarmList lists recovered alarms


def _snapshot(context, lake: LakeResource, asset: str, endpoint: str, keys: set[str], key_of) -> list | None:
    """The snapshot's answers of `endpoint` as [(plant_id, response)] when it is fresh and covers exactly `keys`
    (what the paginated list shows now); None when the details must be fetched again."""
    rows = fresh_snapshot(context, lake.lake, VENDOR, asset, FleetSettings.from_env().fleet_snapshot_hours)
    answers = [r for r in rows or [] if r["endpoint"] == endpoint]
    if not answers or {key_of(r) for r in answers} != keys:
        return None
    context.log.info(f"{VENDOR}/{asset}: the fleet snapshot is fresh and complete: {len(answers)} answers reused")
    return [(r["plant_id"], SajResponse.from_row(r)) for r in answers]


def _fetched(client: SajClient, lake: LakeResource, asset: str, fetch, ids, day: date) -> list:
    """Fetch the details of every id; a complete fetch becomes the asset's new snapshot."""
    outcomes = client.fan_out(fetch, ids)
    if not any(isinstance(o, BaseException) for _, o in outcomes):
        save_snapshot(lake.lake, VENDOR, asset, [(i, None, o) for i, o in outcomes], day)
    return outcomes


def _per_plant(client: SajClient, day: date, plants: Iterable[Plant], fetch: Callable[[Plant], object]) -> DayLanding:
    landing = DayLanding(day)
    for plant, outcome in client.fan_out(fetch, list(plants)):
        landing.add(plant.plant_id, None, outcome)
    return landing


def raw_plants(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    pages = client.plant_page()
    plant_ids, problems = [], []
    for page in pages:
        for row in page.rows or []:
            try:
                plant_ids.append(checked_identifier(row.get("plantId"), "plant id", "SAJ"))
            except UnsafeIdentifierError as exc:
                problems.append(exc)
    if not plant_ids and not problems:
        context.log.warning(
            "raw_plants: the SAJ app sees no plants (developer/plant/page is empty): every table of "
            "these days will be empty. Check that the plants are still authorised to the app."
        )
    details = _snapshot(context, lake, "raw_plants", "plant/details", set(plant_ids), lambda r: r["plant_id"])
    if details is None:
        details = _fetched(client, lake, "raw_plants", client.plant_details, plant_ids, days_of(context)[-1])
    for plant_id, outcome in details:
        if isinstance(outcome, SajResponse):
            try:
                plant_zone((outcome.data or {}).get("timeZone"), plant_id, "the SAJ portal")
            except ValueError as exc:
                problems.append(exc)

    def fetch_day(day: date) -> DayLanding:
        landing = DayLanding(day)
        for page in pages:
            landing.add(None, None, page)
        for plant_id, outcome in details:
            landing.add(plant_id, None, outcome)
        landing.refuse(problems)
        return landing

    return fetch_day


def raw_devices(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    pages = client.device_page()
    fleets = {day: load_fleet(lake.lake, day, with_devices=False) for day in days_of(context)}
    plant_ids = sorted({plant.plant_id for fleet in fleets.values() for plant in fleet.plants})
    # the snapshot stands while it lists every plant and the device page shows the same devices in them
    paged = {(row.get("plantId"), row.get("deviceSn")) for page in pages for row in page.rows}
    device_lists = _snapshot(
        context, lake, "raw_devices", "plant/getPlantAllDeviceList", set(plant_ids), lambda r: r["plant_id"]
    )
    if device_lists is not None and _listed_devices(device_lists) != paged:
        device_lists = None
    if device_lists is None:
        device_lists = _fetched(client, lake, "raw_devices", client.plant_devices, plant_ids, days_of(context)[-1])

    def fetch_day(day: date) -> DayLanding:
        landing = DayLanding(day)
        landing.refuse(fleets[day].problems)
        for page in pages:
            landing.add(None, None, page)
        for plant_id, outcome in device_lists:
            landing.add(plant_id, None, outcome)
        return landing

    return fetch_day


def _listed_devices(device_lists) -> set[tuple[str, str]]:
    """(plant id, device sn) of the inverters in getPlantAllDeviceList answers."""
    out = set()
    for plant_id, response in device_lists:
        for item in (response.data or []) if isinstance(response, SajResponse) else []:
            if isinstance(item, dict) and isinstance(item.get("inverterData"), dict):
                out.add((plant_id, item["inverterData"].get("deviceSn")))
    return out


def raw_upload_data(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.lake, day)
        landing = DayLanding(day)
        landing.refuse(fleet.problems)
        start, end = local_day_window(day)

        def fetch(device) -> list[SajResponse]:
            return [*client.upload_data(device.sn, start, end, 0), *client.upload_data(device.sn, start, end, 1)]

        for device, outcome in client.fan_out(fetch, fleet.devices):
            landing.add(device.plant_id, device.sn, outcome)
        return landing

    return fetch_day


def raw_sec_data(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):

    def fetch_day(day: date) -> DayLanding:
        start, end = local_day_window(day)
        fleet = load_fleet(lake.lake, day, with_devices=False)
        plants = [plant for plant in fleet.plants if plant.has_load_monitor]
        landing = _per_plant(client, day, plants, lambda plant: client.sec_data(plant.plant_id, start, end, 0))
        landing.refuse(fleet.problems)
        return landing

    return fetch_day


def raw_plant_statistics(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):

    def fetch_day(day: date) -> DayLanding:
        def fetch(plant: Plant) -> SajResponse:
            # A clientDate in the future is not asked for: today is read as of now.
            now_local = datetime.now(plant.zone).replace(tzinfo=None, microsecond=0)
            return client.plant_statistics(plant.plant_id, min(local_day_window(day)[1], now_local))

        fleet = load_fleet(lake.lake, day, with_devices=False)
        landing = _per_plant(client, day, fleet.plants, fetch)
        landing.refuse(fleet.problems)
        return landing

    return fetch_day


def raw_alarms(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    pending = client.alarm_list(status="1")  # the alarms open now: the same answer for every day of the run
    pending_sns = {row.get("deviceSn") for row in pending.data or []}
    details: dict[tuple[str, int], object] = {}  # (device sn, alarmCommonState) -> its answer in this run

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.lake, day)
        landing = DayLanding(day)
        landing.refuse(fleet.problems)
        # One alarmList over the 90 days getDeviceAlarmList's recovered list covers: alarmList is the only
        # source of alarm codes, and says which devices have alarms open (status 1) or closed (4).
        history_start = local_day_window(day - timedelta(days=ALARM_HISTORY_DAYS - 1))[0]
        window = client.alarm_list(start=history_start, end=local_day_window(day)[1])
        for response in (window, pending):
            landing.add(None, None, response)
        was_open = devices_with_open_alarms(lake.lake, day) | devices_with_open_alarms(
            lake.lake, day - timedelta(days=1)
        )
        flagged = devices_flagged_with_alarms(lake.lake, day)
        wanted = alarm_details_needed(day, fleet, window.data or [], pending_sns, flagged, was_open)
        asks = sorted(k for k in wanted if k not in details)
        for key, outcome in client.fan_out(lambda k: client.device_alarm_list(*k), asks):
            details[key] = outcome
        for sn, state in sorted(wanted):
            landing.add(wanted[(sn, state)].plant_id, sn, details[(sn, state)])
        return landing

    return fetch_day


def alarm_details_needed(day: date, fleet, window: list, pending: set, flagged: set, was_open: set) -> dict:
    """{(device sn, alarmCommonState): device} of the getDeviceAlarmList calls the day's alarm history needs.

    State 1 (open alarms, with their ids and UTC starts) for the devices with an alarm pending now. State 3
    (alarms recovered in the last 90 days, with their ends) for a day that has ended in the plant's zone: every
    device with a closed alarm in the window, so alarm_history holds each closed occurrence alarmList shows;
    for the plant's today (the intraday refresh): only where something may have closed since the last landing
    (an alarm started today and closed, or one open before and no longer pending), which keeps a 15-minute
    refresh of a large fleet at a few calls per alarm instead of two per alarmed device.
    """
    devices = {d.sn: d for d in fleet.devices}
    zones = {p.plant_id: p.zone for p in fleet.plants}
    now = datetime.now().astimezone()

    def today(sn: str) -> bool:
        return now.astimezone(zones[devices[sn].plant_id]).date() <= day

    closed = {row.get("deviceSn") for row in window if str(row.get("status")) == "4"}
    closed_today = {
        row.get("deviceSn")
        for row in window
        if str(row.get("status")) == "4" and str(row.get("alarmTime", "")).startswith(day.isoformat())
    }
    out = {(sn, 1): devices[sn] for sn in (pending | flagged) if sn in devices}
    recovered = {sn for sn in closed if sn in devices and not today(sn)} | closed_today | (was_open - pending)
    out.update({(sn, 3): devices[sn] for sn in recovered if sn in devices})
    return out


TABLES = [
    RawTable(
        "raw_plants",
        ("developer/plant/page", "plant/details"),
        raw_plants,
        description="The plants authorised to the app: developer/plant/page and plant/details of each plant. "
        "plant/details gives each plant's time zone, which defines its local day for every other asset. The API "
        "only tells the fleet as it is now; a range of days lands the same answers for each day.",
    ),
    RawTable(
        "raw_devices",
        ("developer/device/page", "plant/getPlantAllDeviceList"),
        raw_devices,
        reads=("raw_plants",),
        description="The devices: developer/device/page and plant/getPlantAllDeviceList of each plant. "
        "getPlantAllDeviceList tells each inverter's type (0 grid-tied, 1 storage, 2 AC-coupled); device/page only "
        "gives a model name in its deviceType field.",
    ),
    RawTable(
        "raw_upload_data",
        ("device/uploadData",),
        raw_upload_data,
        reads=("raw_plants", "raw_devices"),
        description="device/uploadData of every inverter for its plant's local day: minute data (timeUnit 0, "
        "5-minute samples of PV, load, grid and battery) for 00:00:00-23:59:59 local, and the device's own day "
        "total (timeUnit 1) to reconcile the hourly sums against.",
    ),
    RawTable(
        "raw_sec_data",
        ("device/secData",),
        raw_sec_data,
        reads=("raw_plants",),
        description="device/secData minute data (load monitor: PV, load, grid buy and sell) of each plant that has "
        "one. Plants without a load monitor (plant/details isInstallMeter 0) are not asked: the API would only "
        "answer that the plant is not bound with load monitoring.",
    ),
    RawTable(
        "raw_plant_statistics",
        ("plant/getPlantStatisticsData",),
        raw_plant_statistics,
        reads=("raw_plants",),
        description="plant/getPlantStatisticsData of each plant at the end of its local day (or now, for today): "
        "the today*/month*/year*/total* counters the SAJ portal shows, to reconcile the models against.",
    ),
    RawTable(
        "raw_alarms",
        ("device/alarmList", "device/getDeviceAlarmList"),
        raw_alarms,
        reads=("raw_plants", "raw_devices"),
        description="Alarms: device/alarmList (the 90 days up to the day, and the pending ones), then "
        "device/getDeviceAlarmList where the history needs it: the open alarms of devices with one pending, the "
        "recovered ones of devices with a closed alarm (for the plant's today, only where one closed since the "
        "last landing); asked once per run (getDeviceAlarmList has no day: a range lands the same answers for each "
        "day that needs them), which keeps the per-device calls (5 QPS) to what the data needs.",
    ),
]

saj_raw = raw_multi_asset(VENDOR, TABLES, "saj", SajApiResource.client)
raw_assets = [saj_raw]
