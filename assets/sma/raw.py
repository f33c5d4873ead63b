"""SMA's raw landing: every Monitoring API response of a day, verbatim, in the raw lake (lake/raw/sma/<asset>/).

Five day-partitioned raw tables, one per kind of answer, landed as one step (`raw_multi_asset` of
`pipelines.core.landing`): the plants, then their devices, then the energy balances, the device sets and the
logs at the same time, all paced by SMA's one budget per API key. Each plant's day is its local day (its
`timezone` in /v1/plants); a plant-local day that has not begun yet is not asked for. Classic (Sunny Portal)
plants deliver their data up to two hours late: the intraday schedule lands what there is, the daily catch-up
lands the rest.

The plant list is asked every run (an owner's consent, or its revocation, shows there first). The devices and
the sets they offer change slowly: they are a snapshot, fetched again once it is `FLEET_SNAPSHOT_HOURS` old,
when the plant list changes, or on demand (a run tagged `fleet/refresh_snapshot`); every other run lands the
snapshot's answers.
"""

import functools
from datetime import date, datetime

import dagster as dg

from pipelines.core.lake import UnsafeIdentifierError, checked_identifier
from pipelines.core.landing import DayLanding, RawTable, fresh_snapshot, raw_multi_asset, save_snapshot
from pipelines.core.partitions import days_of
from pipelines.core.resources import LakeResource
from pipelines.core.settings import FleetSettings
from pipelines.core.transport import ApiResponse
from pipelines.sources.sma.client import SmaClient
from pipelines.sources.sma.consent import HOW_TO_ASK, Requests, requests_path
from pipelines.sources.sma.fleet import Plant, load_fleet, parse_plants
from pipelines.sources.sma.logs import with_lookback
from pipelines.sources.sma.resources import SmaApiResource

VENDOR = "sma"
PLANTS = "v1/plants"
LEAN = "v1/plants/{plantId}/devices/lean"
SETS = "v1/devices/{deviceId}/measurements/sets"
BALANCE = "v1/plants/{plantId}/measurements/sets/EnergyBalance/Day"
DEVICE_SET = "v1/devices/{deviceId}/measurements/sets/{setType}/Day"
PLANT_LOGS, DEVICE_LOGS = "v1/plants/{plantId}/logs", "v1/devices/{deviceId}/logs"


def _begun(plant: Plant, day: date) -> bool:
    """The plant's local `day` has begun (a later one has no data to ask for)."""
    return day <= datetime.now(plant.zone).date()


def _day_plants(lake: LakeResource, day: date, with_devices: bool = True) -> tuple[DayLanding, list[Plant]]:
    """The day's landing, its fleet snapshot's problems already refused (named, not skipped in silence), and
    the snapshot's plants whose local day has begun: what every per-plant asset asks about."""
    fleet = load_fleet(lake.lake, day, with_devices=with_devices)
    landing = DayLanding(day)
    landing.refuse(fleet.problems)
    return landing, [plant for plant in fleet.plants if _begun(plant, day)]


def raw_plants(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    @functools.cache  # once per run, from inside the landing (which counts the calls)
    def fleet() -> tuple[ApiResponse, list[str]]:
        response = client.plants()
        plants, problems = parse_plants(response.payload)
        if not plants and not problems:
            pending = Requests(requests_path(lake.data_dir)).pending()
            message = (
                "SMA shows no plant to these client credentials: no plant owner has consented yet (or every owner "
                f"revoked it), so every SMA table of these days is empty. To fix it, {HOW_TO_ASK}."
                + (f" {len(pending)} request(s) made from here are still pending." if pending else "")
            )
            context.log.warning(message)
            context.add_asset_metadata(
                {"warning": dg.MetadataValue.md(message)}, asset_key=dg.AssetKey([VENDOR, "raw_plants"])
            )
        return response, problems

    def fetch_day(day: date) -> DayLanding:
        response, problems = fleet()
        landing = DayLanding(day)
        landing.add(None, None, response)
        landing.refuse(problems)
        return landing

    return fetch_day


def raw_devices(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    fleets = {day: load_fleet(lake.lake, day, with_devices=False) for day in days_of(context)}
    plant_ids = sorted({plant.plant_id for fleet in fleets.values() for plant in fleet.plants})

    @functools.cache  # once per run, from inside the landing (which counts the calls)
    def answers() -> tuple[list[tuple[str, str | None, object]], list[Exception]]:
        """(plant id, device id or None, answer or failure) of every device list and set list."""
        rows = fresh_snapshot(context, lake.lake, VENDOR, "raw_devices", FleetSettings.from_env().fleet_snapshot_hours)
        snapshot = [(r["plant_id"], r["device_sn"], ApiResponse.from_row(r)) for r in rows or []]
        if snapshot and {p for p, d, _ in snapshot if d is None} == set(plant_ids):
            context.log.info(
                f"{VENDOR}/raw_devices: the device snapshot is fresh and complete: {len(snapshot)} answers"
            )
            return snapshot, _device_ids(snapshot)[1]
        lists = [(p, None, outcome) for p, outcome in client.fan_out(client.devices, plant_ids)]
        device_ids, problems = _device_ids(lists)
        sets = [(device_ids[d], d, outcome) for d, outcome in client.fan_out(client.device_sets, sorted(device_ids))]
        if not any(isinstance(o, BaseException) for _, _, o in lists + sets):
            save_snapshot(lake.lake, VENDOR, "raw_devices", lists + sets, days_of(context)[-1])
        return lists + sets, problems

    def fetch_day(day: date) -> DayLanding:
        outcomes, problems = answers()
        landing = DayLanding(day)
        landing.refuse([*fleets[day].problems, *problems])
        wanted = {plant.plant_id for plant in fleets[day].plants}
        for plant_id, device_id, outcome in outcomes:
            if plant_id in wanted:
                landing.add(plant_id, device_id, outcome)
        return landing

    return fetch_day


def _device_ids(lists) -> tuple[dict[str, str], list[Exception]]:
    """{device id: plant id} of the devices in /devices/lean answers, and the ids refused."""
    device_ids, problems = {}, []
    for plant_id, device_id, outcome in lists:
        payload = None if device_id is not None or isinstance(outcome, BaseException) else outcome.payload
        items = payload.get("devices") if isinstance(payload, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                try:
                    device_ids[checked_identifier(item.get("deviceId"), "device id", "SMA")] = plant_id
                except UnsafeIdentifierError as exc:
                    problems.append(exc)
    return device_ids, problems


def raw_energy_balance(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    def fetch_day(day: date) -> DayLanding:
        landing, plants = _day_plants(lake, day, with_devices=False)
        for plant, outcome in client.fan_out(lambda plant: client.energy_balance(plant.plant_id, day), plants):
            landing.add(plant.plant_id, None, outcome)
        return landing

    return fetch_day


def raw_device_sets(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    def fetch_day(day: date) -> DayLanding:
        landing, plants = _day_plants(lake, day)
        asks = [
            (device, set_type)
            for plant in plants
            for device in plant.devices
            if device.active_on(day)
            for set_type in device.energy_sets
        ]
        for (device, _), outcome in client.fan_out(lambda ask: client.device_set(ask[0].device_id, ask[1], day), asks):
            landing.add(device.plant_id, device.device_id, outcome)
        return landing

    return fetch_day


def raw_logs(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    def fetch_day(day: date) -> DayLanding:
        landing, plants = _day_plants(lake, day)
        logs: list = [(plant.plant_id, None, lambda d, p=plant.plant_id: client.plant_logs(p, d)) for plant in plants]
        logs += [
            (plant.plant_id, device.device_id, lambda d, i=device.device_id: client.device_logs(i, d))
            for plant in plants
            for device in plant.devices
            if device.active_on(day) and device.energy_sets
        ]
        answers = client.fan_out(lambda log: with_lookback(log[2], day), logs)
        for (plant_id, device_id, _), outcome in answers:
            landing.add(plant_id, device_id, outcome)
        return landing

    return fetch_day


TABLES = [
    RawTable(
        "raw_plants",
        (PLANTS,),
        raw_plants,
        description="/v1/plants: the plants of every owner who consented, with their time zone (which defines each "
        "plant's local day for every other asset), peak power and location. Without consent the list is simply "
        "empty (not an error): the run then says so, and how to ask the owners. Asked every run; a range of days "
        "lands the same answer for each day.",
    ),
    RawTable(
        "raw_devices",
        (LEAN, SETS),
        raw_devices,
        reads=("raw_plants",),
        description="Each plant's devices (/v1/plants/{plantId}/devices/lean, deactivated ones too: they keep their "
        "history) and the measurement sets each offers (/v1/devices/{deviceId}/measurements/sets: only those can be "
        "asked); a snapshot reused until FLEET_SNAPSHOT_HOURS old or the plant list changes.",
    ),
    RawTable(
        "raw_energy_balance",
        (BALANCE,),
        raw_energy_balance,
        reads=("raw_plants",),
        description="Each plant's EnergyBalance of its local day, at the best resolution SMA keeps (5 minutes on "
        "ennexOS, 15 on classic plants), as energy values (Wh in each row's interval; `time` is the interval's "
        "end): PV, consumption, grid feed-in and purchase, battery charge, discharge and state of charge, each "
        "where the plant measures it.",
    ),
    RawTable(
        "raw_device_sets",
        (DEVICE_SET,),
        raw_device_sets,
        reads=("raw_plants", "raw_devices"),
        description="Each inverter's EnergyAndPowerPv and EnergyAndPowerBattery sets of its plant's local day "
        "(energy values), for the per-device hours: only the sets a device offers, only devices active that day. "
        "The Energy Meter's sets are not asked: the plant's EnergyBalance carries the same consumption and grid "
        "terms.",
    ),
    RawTable(
        "raw_logs",
        (PLANT_LOGS, DEVICE_LOGS),
        raw_logs,
        reads=("raw_plants", "raw_devices"),
        description="The logs of each plant and of its inverters for the local day: an entry when a fault began "
        "and one when it ended. For a fault that ends this day but began earlier, the earlier days' logs are "
        "landed with this day's, back to its beginning (at most 14 days), so it stays one occurrence in "
        "alarm_history.",
    ),
]

sma_raw = raw_multi_asset(VENDOR, TABLES, "sma", SmaApiResource.client)
raw_assets = [sma_raw]
