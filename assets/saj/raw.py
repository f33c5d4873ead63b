"""SAJ's raw landing: every SAJ API response of a day, verbatim, in the raw lake (lake/raw/saj/<asset>/).

Six day-partitioned assets, one per kind of answer; the landing itself (files per attempt, lineage, failures,
refusals, the `nothing_refused` check, skipping an unconfigured vendor) is the core's
(`pipelines.core.landing`).
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

import dagster as dg

from pipelines.core.lake import UnsafeIdentifierError, checked_identifier
from pipelines.core.landing import DayLanding, land, raw_check_spec, skip_reason, skipped
from pipelines.core.partitions import daily_partitions, days_of, local_day_window, plant_zone
from pipelines.core.resources import LakeResource, VendorsResource
from pipelines.sources.saj.client import SajClient, SajResponse
from pipelines.sources.saj.fleet import Plant, devices_flagged_with_alarms, devices_with_open_alarms, load_fleet
from pipelines.sources.saj.resources import SajApiResource

VENDOR = "saj"
ALARM_HISTORY_DAYS = 90  # how far back getDeviceAlarmList lists recovered alarms


def _raw_asset(**kwargs):
    """A SAJ raw landing asset (key saj/<name>, group saj_raw), with its check that nothing was refused. The
    decorated function returns the day fetcher; landing it, or skipping an unconfigured SAJ, is done here."""

    def decorate(fn: Callable[[dg.AssetExecutionContext, SajClient, LakeResource], Callable[[date], DayLanding]]):
        key = dg.AssetKey([VENDOR, fn.__name__])

        @dg.asset(
            key=key,
            group_name=f"{VENDOR}_raw",
            partitions_def=daily_partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            kinds={"parquet"},
            owners=["team:solar-data"],
            tags={"layer": "raw", "vendor": VENDOR},
            check_specs=[raw_check_spec(key)],
            description=fn.__doc__,
            deps=[dg.AssetKey([VENDOR, d]) for d in kwargs.pop("deps", ())],
            **kwargs,
        )
        def _asset(
            context: dg.AssetExecutionContext, saj: SajApiResource, lake: LakeResource, vendors: VendorsResource
        ) -> dg.MaterializeResult:
            reason = skip_reason(context, vendors, VENDOR)
            if reason is not None:
                return skipped(reason)
            client = saj.client()
            return land(context, lake.lake, VENDOR, fn.__name__, lambda: client.stats, fn(context, client, lake))

        return _asset

    return decorate


def _per_plant(client: SajClient, day: date, plants: Iterable[Plant], fetch: Callable[[Plant], object]) -> DayLanding:
    landing = DayLanding(day)
    for plant, outcome in client.fan_out(fetch, list(plants)):
        landing.add(plant.plant_id, None, outcome)
    return landing


@_raw_asset()
def raw_plants(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    """The plants authorised to the app: developer/plant/page and plant/details of each plant.

    plant/details gives each plant's time zone, which defines its local day for every other asset.
    The API only tells the fleet as it is now; a range of days lands the same answers for each day.
    """
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
    details = client.fan_out(client.plant_details, plant_ids)
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


@_raw_asset(deps=["raw_plants"])
def raw_devices(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    """The devices: developer/device/page and plant/getPlantAllDeviceList of each plant.

    getPlantAllDeviceList tells each inverter's type (0 grid-tied, 1 storage, 2 AC-coupled);
    device/page only gives a model name in its deviceType field.
    """
    pages = client.device_page()
    fleets = {day: load_fleet(lake.lake, day, with_devices=False) for day in days_of(context)}
    plant_ids = {plant.plant_id for fleet in fleets.values() for plant in fleet.plants}
    device_lists = client.fan_out(client.plant_devices, sorted(plant_ids))

    def fetch_day(day: date) -> DayLanding:
        landing = DayLanding(day)
        landing.refuse(fleets[day].problems)
        for page in pages:
            landing.add(None, None, page)
        for plant_id, outcome in device_lists:
            landing.add(plant_id, None, outcome)
        return landing

    return fetch_day


@_raw_asset(deps=["raw_plants", "raw_devices"])
def raw_upload_data(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    """device/uploadData of every inverter for its plant's local day.

    Minute data (timeUnit 0, 5-minute samples of PV, load, grid and battery) for 00:00:00-23:59:59
    local, and the device's own day total (timeUnit 1) to reconcile the hourly sums against.
    """

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


@_raw_asset(deps=["raw_plants"])
def raw_sec_data(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    """device/secData minute data (load monitor: PV, load, grid buy and sell) of each plant that has one.

    Plants without a load monitor (plant/details isInstallMeter 0) are not asked: the API would only
    answer that the plant is not bound with load monitoring.
    """

    def fetch_day(day: date) -> DayLanding:
        start, end = local_day_window(day)
        fleet = load_fleet(lake.lake, day, with_devices=False)
        plants = [plant for plant in fleet.plants if plant.has_load_monitor]
        landing = _per_plant(client, day, plants, lambda plant: client.sec_data(plant.plant_id, start, end, 0))
        landing.refuse(fleet.problems)
        return landing

    return fetch_day


@_raw_asset(deps=["raw_plants"])
def raw_plant_statistics(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    """plant/getPlantStatisticsData of each plant at the end of its local day (or now, for today).

    The today*/month*/year*/total* counters the SAJ portal shows, to reconcile the models against.
    """

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


@_raw_asset(deps=["raw_plants", "raw_devices"])
def raw_alarms(context: dg.AssetExecutionContext, client: SajClient, lake: LakeResource):
    """Alarms: device/alarmList (the 90 days up to the day, and the pending ones), then
    device/getDeviceAlarmList (open and recovered) for each device that has or had an alarm.

    Only devices named by alarmList, flagged isAlarm in the device page, or open in the previous day's
    landing are asked in detail, once per run (getDeviceAlarmList has no day: a range lands the same
    answers for each day that names the device), which keeps the per-device calls (5 QPS) to what the
    data needs.
    """
    pending = client.alarm_list(status="1")  # the alarms open now: the same answer for every day of the run
    details: dict[str, object] = {}  # device sn -> its getDeviceAlarmList answers (or failure) in this run

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.lake, day)
        landing = DayLanding(day)
        landing.refuse(fleet.problems)
        # One alarmList over the 90 days getDeviceAlarmList's recovered list covers: alarmList is the only
        # source of alarm codes. Only the devices whose alarms started this day are then asked in detail.
        history_start = local_day_window(day - timedelta(days=ALARM_HISTORY_DAYS - 1))[0]
        window = client.alarm_list(start=history_start, end=local_day_window(day)[1])
        for response in (window, pending):
            landing.add(None, None, response)
        known = {device.sn: device for device in fleet.devices}
        named = {row.get("deviceSn") for row in pending.data or []}
        named |= {
            row.get("deviceSn") for row in window.data or [] if str(row.get("alarmTime")).startswith(day.isoformat())
        }
        named |= devices_flagged_with_alarms(lake.lake, day) | devices_with_open_alarms(
            lake.lake, day - timedelta(days=1)
        )
        devices = [known[sn] for sn in sorted(sn for sn in named if sn in known)]

        def fetch(device) -> list[SajResponse]:
            return [client.device_alarm_list(device.sn, state) for state in (1, 3)]

        for device, outcome in client.fan_out(fetch, [device for device in devices if device.sn not in details]):
            details[device.sn] = outcome
        for device in devices:
            landing.add(device.plant_id, device.sn, details[device.sn])
        return landing

    return fetch_day


raw_assets = [raw_plants, raw_devices, raw_upload_data, raw_sec_data, raw_plant_statistics, raw_alarms]
