"""Raw landing: every SAJ API response of a day, verbatim, in one Parquet file per asset and day.

The raw layer is the system of record. Models are rebuilt from it without calling the API again, so
each response is kept exactly as received, with what was asked and when. A device or plant that still
fails after the client's retries does not vanish: what succeeded is landed, the failures are listed in
the logs and metadata, and the run fails so that the partition shows as failed and is fetched again.

A plant or device that no retry can heal (an id that is not a plain identifier, a time zone nobody can
read) is refused by name: the asset's `nothing_refused` check fails with ERROR severity and names it,
while the rest of the fleet flows on to the warehouse.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import dagster as dg
import pyarrow.parquet as pq

from pipelines import lake as lakefiles
from pipelines.client import ApiResponse, SajClient
from pipelines.fleet import Plant, devices_flagged_with_alarms, devices_with_open_alarms, load_fleet
from pipelines.partitions import daily_partitions, days_of, local_day_window, plant_zone
from pipelines.resources import LakeResource, SajApiResource

RAW_ASSET = dict(
    group_name="raw",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"parquet"},
    owners=["team:solar-data"],
    tags={"layer": "raw", "source": "saj_elekeeper"},
)
ALARM_HISTORY_DAYS = 90  # how far back getDeviceAlarmList lists recovered alarms
RAW_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("partition_date", "date", description="the plant-local day"),
        dg.TableColumn("plant_id", "string"),
        dg.TableColumn("device_sn", "string"),
        dg.TableColumn("endpoint", "string", description="e.g. device/uploadData"),
        dg.TableColumn("request_params", "string", description="query parameters as JSON, no secrets"),
        dg.TableColumn("fetched_at", "timestamp", description="UTC"),
        dg.TableColumn("http_status", "int"),
        dg.TableColumn("api_code", "int", description="code or errCode of the envelope"),
        dg.TableColumn("api_msg", "string"),
        dg.TableColumn("attempts", "int"),
        dg.TableColumn("body", "string", description="the response body exactly as received"),
    ]
)


@dataclass
class DayLanding:
    """The responses and failures of one asset for one day."""

    day: date
    rows: list[tuple[str | None, str | None, ApiResponse]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def refuse(self, problems: Iterable[object]) -> None:
        self.refused += [f"{self.day}: {problem}" for problem in problems]

    def add(self, plant_id: str | None, device_sn: str | None, outcome: object) -> None:
        if isinstance(outcome, BaseException):
            who = " ".join(part for part in (f"plant {plant_id}" if plant_id else "", f"device {device_sn}" if device_sn else "") if part)
            self.failures.append(f"{self.day} {who or 'fleet'}: {outcome}")
            response = getattr(outcome, "response", None)
            if response is not None:
                self.rows.append((plant_id, device_sn, response))
            return
        for response in outcome if isinstance(outcome, list) else [outcome]:
            self.rows.append((plant_id, device_sn, response))


def _counter_total(value: object) -> int:
    if isinstance(value, dict):
        return sum(_counter_total(v) for v in value.values())
    return int(value) if isinstance(value, (int, float)) else 0


def _lineage(context: dg.AssetExecutionContext) -> dict[str, str]:
    """Which attempt this is: a re-execution keeps its root run, a re-executed backfill its root backfill."""
    tags = context.run.tags
    return {
        "saj.run_id": context.run.run_id,
        "saj.root_run_id": context.run.root_run_id or tags.get("dagster/root_run_id") or context.run.run_id,
        "saj.root_backfill_id": tags.get("dagster/root_backfill_id") or tags.get("dagster/backfill") or "",
    }


def _raw_asset(**kwargs):
    """A raw landing asset, with its check that nothing was refused."""

    def decorate(fn):
        check = dg.AssetCheckSpec(
            "nothing_refused",
            asset=fn.__name__,
            description="Every plant and device could be asked for: none was refused for an unusable id or time zone.",
        )
        return dg.asset(**RAW_ASSET, **kwargs, check_specs=[check])(fn)

    return decorate


def _landed_earlier_in_lineage(path, lineage: dict[str, str]) -> bool:
    """True when an earlier attempt of the same run (or backfill) landed this day with no failure.

    Resuming a failed range (re-execute from failure, or re-execute a backfill's failed runs) then fetches
    only the days that failed; a new run (a schedule tick, a new backfill) always fetches again.
    """
    if not path.exists():
        return False
    try:
        meta = {k.decode(): v.decode() for k, v in (pq.read_schema(path).metadata or {}).items()}
    except (OSError, ValueError):
        return False
    if meta.get("saj.complete") != "1" or meta.get("saj.run_id") == lineage["saj.run_id"]:
        return False
    same_run = meta.get("saj.root_run_id") == lineage["saj.root_run_id"]
    same_backfill = bool(lineage["saj.root_backfill_id"]) and meta.get("saj.root_backfill_id") == lineage["saj.root_backfill_id"]
    return same_run or same_backfill


def _land(
    context: dg.AssetExecutionContext,
    asset_name: str,
    lake_resource: LakeResource,
    client: SajClient,
    fetch_day: Callable[[date], DayLanding],
) -> dg.MaterializeResult:
    started = time.monotonic()
    before = dict(client.stats)
    lineage = _lineage(context)
    # One day at a time: a long range holds one day of responses in memory, never the whole range.
    failures: list[str] = []
    refused: list[str] = []
    rows, plants, devices, skipped = 0, set(), set(), []
    days = days_of(context)
    for day in days:
        path = lakefiles.partition_path(lake_resource.root, "raw", asset_name, day)
        if _landed_earlier_in_lineage(path, lineage):
            skipped.append(day.isoformat())
            continue
        landing = fetch_day(day)
        table = lakefiles.raw_table(landing.day, landing.rows)
        receipt = {**lineage, "saj.complete": "0" if landing.failures else "1"}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in receipt.items()}})
        lakefiles.write_partition(lake_resource.root, "raw", asset_name, landing.day, table)
        failures += landing.failures
        refused += landing.refused
        rows += len(landing.rows)
        plants |= {p for p, _, _ in landing.rows if p}
        devices |= {d for _, d, _ in landing.rows if d}
        del landing, table
    if skipped:
        context.log.info(
            f"{asset_name}: {len(skipped)} day(s) already landed completely by an earlier attempt of this run "
            f"(root run {lineage['saj.root_run_id']}); not fetched again: {', '.join(skipped)}"
        )
    after = dict(client.stats)
    metadata = {
        "dagster/row_count": rows,
        "dagster/column_schema": RAW_COLUMNS,
        "days": len(days),
        "days_resumed": len(skipped),
        "plants": len(plants),
        "devices": len(devices),
        "api_calls": _counter_total(after.get("calls")) - _counter_total(before.get("calls")),
        "retries": _counter_total(after.get("retries")) - _counter_total(before.get("retries")),
        "rate_rejections": _counter_total(after.get("rate_rejections")) - _counter_total(before.get("rate_rejections")),
        "failures": len(failures),
        "refused": len(refused),
        "seconds": round(time.monotonic() - started, 2),
        "path": dg.MetadataValue.path(str(lakefiles.partition_path(lake_resource.root, "raw", asset_name, days[-1]).parent.parent)),
    }
    if failures:
        listing = "\n".join(failures[:200]) + ("\n..." if len(failures) > 200 else "")
        context.log.error(f"{asset_name}: {len(failures)} call(s) failed after retries; landed the rest.\n{listing}")
        # The description is what the run page and the CLI show: name the first problems there, since some
        # (a refused identifier, an unknown time zone) need a fix, not just another run.
        first = "; ".join(failures[:3]) + (f"; and {len(failures) - 3} more (see 'failed')" if len(failures) > 3 else "")
        raise dg.Failure(
            description=f"{asset_name}: {len(failures)} plant/device call(s) failed after retries or were refused: "
            f"{first}. What succeeded is landed; fix what is named, then re-materialise these days to fetch the rest.",
            metadata={**metadata, "failed": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures[:200]))},
        )
    if refused:
        context.log.error(f"{asset_name}: refused {len(refused)} plant(s)/device(s); the rest is landed.\n" + "\n".join(refused[:200]))
    context.log.info(f"{asset_name}: landed {rows} responses for {len(days) - len(skipped)} day(s)")
    check = dg.AssetCheckResult(
        check_name="nothing_refused",
        passed=not refused,
        severity=dg.AssetCheckSeverity.ERROR,
        description=("Refused (fix at the source, then re-materialise): " + "; ".join(refused[:5])) if refused else None,
        metadata={"refused": dg.MetadataValue.md("\n".join(f"- {r}" for r in refused[:200]) or "none")},
    )
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


def _per_plant(client: SajClient, day: date, plants: Iterable[Plant], fetch: Callable[[Plant], object]) -> DayLanding:
    landing = DayLanding(day)
    for plant, outcome in client.fan_out(fetch, list(plants)):
        landing.add(plant.plant_id, None, outcome)
    return landing


@_raw_asset()
def raw_plants(context: dg.AssetExecutionContext, saj: SajApiResource, lake: LakeResource) -> dg.MaterializeResult:
    """The plants authorised to the app: developer/plant/page and plant/details of each plant.

    plant/details gives each plant's time zone, which defines its local day for every other asset.
    The API only tells the fleet as it is now; a range of days lands the same answers for each day.
    """
    client = saj.client()
    pages = client.plant_page()
    plant_ids, problems = [], []
    for page in pages:
        for row in page.rows or []:
            try:
                plant_ids.append(lakefiles.checked_identifier(row.get("plantId"), "plant id"))
            except lakefiles.UnsafeIdentifierError as exc:
                problems.append(exc)
    if not plant_ids and not problems:
        context.log.warning("raw_plants: the SAJ app sees no plants (developer/plant/page is empty): every table of "
                            "these days will be empty. Check that the plants are still authorised to the app.")
    details = client.fan_out(client.plant_details, plant_ids)
    for plant_id, outcome in details:
        if isinstance(outcome, ApiResponse):
            try:
                plant_zone((outcome.data or {}).get("timeZone"), plant_id)
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

    return _land(context, "raw_plants", lake, client, fetch_day)


@_raw_asset(deps=[raw_plants])
def raw_devices(context: dg.AssetExecutionContext, saj: SajApiResource, lake: LakeResource) -> dg.MaterializeResult:
    """The devices: developer/device/page and plant/getPlantAllDeviceList of each plant.

    getPlantAllDeviceList tells each inverter's type (0 grid-tied, 1 storage, 2 AC-coupled);
    device/page only gives a model name in its deviceType field.
    """
    client = saj.client()
    pages = client.device_page()
    fleets = {day: load_fleet(lake.root, day, with_devices=False) for day in days_of(context)}
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

    return _land(context, "raw_devices", lake, client, fetch_day)


@_raw_asset(deps=[raw_plants, raw_devices])
def raw_upload_data(context: dg.AssetExecutionContext, saj: SajApiResource, lake: LakeResource) -> dg.MaterializeResult:
    """device/uploadData of every inverter for its plant's local day.

    Minute data (timeUnit 0, 5-minute samples of PV, load, grid and battery) for 00:00:00-23:59:59
    local, and the device's own day total (timeUnit 1) to reconcile the hourly sums against.
    """
    client = saj.client()

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.root, day)
        landing = DayLanding(day)
        landing.refuse(fleet.problems)
        start, end = local_day_window(day)

        def fetch(device) -> list[ApiResponse]:
            return [*client.upload_data(device.sn, start, end, 0), *client.upload_data(device.sn, start, end, 1)]

        for device, outcome in client.fan_out(fetch, fleet.devices):
            landing.add(device.plant_id, device.sn, outcome)
        return landing

    return _land(context, "raw_upload_data", lake, client, fetch_day)


@_raw_asset(deps=[raw_plants])
def raw_sec_data(context: dg.AssetExecutionContext, saj: SajApiResource, lake: LakeResource) -> dg.MaterializeResult:
    """device/secData minute data (load monitor: PV, load, grid buy and sell) of each plant that has one.

    Plants without a load monitor (plant/details isInstallMeter 0) are not asked: the API would only
    answer that the plant is not bound with load monitoring.
    """
    client = saj.client()

    def fetch_day(day: date) -> DayLanding:
        start, end = local_day_window(day)
        fleet = load_fleet(lake.root, day, with_devices=False)
        plants = [plant for plant in fleet.plants if plant.has_load_monitor]
        landing = _per_plant(client, day, plants, lambda plant: client.sec_data(plant.plant_id, start, end, 0))
        landing.refuse(fleet.problems)
        return landing

    return _land(context, "raw_sec_data", lake, client, fetch_day)


@_raw_asset(deps=[raw_plants])
def raw_plant_statistics(
    context: dg.AssetExecutionContext, saj: SajApiResource, lake: LakeResource
) -> dg.MaterializeResult:
    """plant/getPlantStatisticsData of each plant at the end of its local day (or now, for today).

    The today*/month*/year*/total* counters the SAJ portal shows, to reconcile the models against.
    """
    client = saj.client()

    def fetch_day(day: date) -> DayLanding:
        def fetch(plant: Plant) -> ApiResponse:
            # A clientDate in the future is not asked for: today is read as of now.
            now_local = datetime.now(plant.zone).replace(tzinfo=None, microsecond=0)
            return client.plant_statistics(plant.plant_id, min(local_day_window(day)[1], now_local))

        fleet = load_fleet(lake.root, day, with_devices=False)
        landing = _per_plant(client, day, fleet.plants, fetch)
        landing.refuse(fleet.problems)
        return landing

    return _land(context, "raw_plant_statistics", lake, client, fetch_day)


@_raw_asset(deps=[raw_plants, raw_devices])
def raw_alarms(context: dg.AssetExecutionContext, saj: SajApiResource, lake: LakeResource) -> dg.MaterializeResult:
    """Alarms: device/alarmList (the 90 days up to the day, and the pending ones), then
    device/getDeviceAlarmList (open and recovered) for each device that has or had an alarm.

    Only devices named by alarmList, flagged isAlarm in the device page, or open in the previous day's
    landing are asked in detail, once per run (getDeviceAlarmList has no day: a range lands the same
    answers for each day that names the device), which keeps the per-device calls (5 QPS) to what the
    data needs.
    """
    client = saj.client()
    pending = client.alarm_list(status="1")  # the alarms open now: the same answer for every day of the run
    details: dict[str, object] = {}  # device sn -> its getDeviceAlarmList answers (or failure) in this run

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.root, day)
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
        named |= {row.get("deviceSn") for row in window.data or [] if str(row.get("alarmTime")).startswith(day.isoformat())}
        named |= devices_flagged_with_alarms(lake.root, day) | devices_with_open_alarms(lake.root, day - timedelta(days=1))
        devices = [known[sn] for sn in sorted(sn for sn in named if sn in known)]

        def fetch(device) -> list[ApiResponse]:
            return [client.device_alarm_list(device.sn, state) for state in (1, 3)]

        for device, outcome in client.fan_out(fetch, [device for device in devices if device.sn not in details]):
            details[device.sn] = outcome
        for device in devices:
            landing.add(device.plant_id, device.sn, details[device.sn])
        return landing

    return _land(context, "raw_alarms", lake, client, fetch_day)


raw_assets = [raw_plants, raw_devices, raw_upload_data, raw_sec_data, raw_plant_statistics, raw_alarms]
