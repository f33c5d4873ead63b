"""SMA's raw landing: every Monitoring API response of a day, verbatim, in the raw lake (lake/raw/sma/<asset>/).

Five day-partitioned assets, one per kind of answer; the landing itself (files per attempt, lineage, failures,
refusals, the `nothing_refused` check, skipping an unconfigured vendor) is the core's
(`pipelines.core.landing`). Each plant's day is its local day (its `timezone` in /v1/plants); a plant-local day
that has not begun yet is not asked for. Classic (Sunny Portal) plants deliver their data up to two hours late:
the intraday schedule lands what there is, the daily catch-up lands the rest.
"""

import functools
from collections.abc import Callable
from datetime import date, datetime

import dagster as dg

from pipelines.core.lake import UnsafeIdentifierError, checked_identifier
from pipelines.core.landing import DayLanding, land, raw_check_spec, skip_reason, skipped
from pipelines.core.partitions import daily_partitions, days_of
from pipelines.core.resources import LakeResource, VendorsResource
from pipelines.sources.sma.client import SmaClient
from pipelines.sources.sma.consent import HOW_TO_ASK, Requests, requests_path
from pipelines.sources.sma.fleet import Plant, load_fleet, parse_plants
from pipelines.sources.sma.logs import with_lookback
from pipelines.sources.sma.resources import SmaApiResource

VENDOR = "sma"


def _raw_asset(**kwargs):
    """An SMA raw landing asset (key sma/<name>, group sma_raw), with its check that nothing was refused. The
    decorated function returns the day fetcher; landing it, or skipping an unconfigured SMA, is done here."""

    def decorate(fn: Callable[[dg.AssetExecutionContext, SmaClient, LakeResource], Callable[[date], DayLanding]]):
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
            context: dg.AssetExecutionContext, sma: SmaApiResource, lake: LakeResource, vendors: VendorsResource
        ) -> dg.MaterializeResult:
            reason = skip_reason(context, vendors, VENDOR)
            if reason is not None:
                return skipped(reason)
            client = sma.client()
            return land(context, lake.lake, VENDOR, fn.__name__, lambda: client.stats, fn(context, client, lake))

        return _asset

    return decorate


def _begun(plant: Plant, day: date) -> bool:
    """The plant's local `day` has begun (a later one has no data to ask for)."""
    return day <= datetime.now(plant.zone).date()


@_raw_asset()
def raw_plants(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    """/v1/plants: the plants of every owner who consented, with their time zone (which defines each plant's
    local day for every other asset), peak power and location.

    Without consent the list is simply empty (not an error): the run then says so, and how to ask the owners.
    The API only tells the fleet as it is now: asked once per run, the same answer landed for each day.
    """

    @functools.cache  # once per run, from inside the landing (which counts the calls)
    def fleet():
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
            context.add_asset_metadata({"warning": dg.MetadataValue.md(message)})
        return response, problems

    def fetch_day(day: date) -> DayLanding:
        response, problems = fleet()
        landing = DayLanding(day)
        landing.add(None, None, response)
        landing.refuse(problems)
        return landing

    return fetch_day


@_raw_asset(deps=["raw_plants"])
def raw_devices(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    """Each plant's devices (/v1/plants/{plantId}/devices/lean, deactivated ones too: they keep their history)
    and the measurement sets each offers (/v1/devices/{deviceId}/measurements/sets: only those can be asked).

    Asked once per run, whatever the range: the API tells the devices as they are now.
    """
    fleets = {day: load_fleet(lake.lake, day, with_devices=False) for day in days_of(context)}

    @functools.cache  # once per run, from inside the landing (which counts the calls)
    def devices():
        plant_ids = sorted({plant.plant_id for fleet in fleets.values() for plant in fleet.plants})
        lists = dict(client.fan_out(client.devices, plant_ids))
        device_ids, problems = {}, []
        for plant_id, outcome in lists.items():
            payload = None if isinstance(outcome, BaseException) else outcome.payload
            items = payload.get("devices") if isinstance(payload, dict) else None
            for item in items if isinstance(items, list) else []:
                if not isinstance(item, dict):
                    continue
                try:
                    device_ids[checked_identifier(item.get("deviceId"), "device id", "SMA")] = plant_id
                except UnsafeIdentifierError as exc:
                    problems.append(exc)
        return lists, device_ids, dict(client.fan_out(client.device_sets, sorted(device_ids))), problems

    def fetch_day(day: date) -> DayLanding:
        lists, device_ids, sets, problems = devices()
        landing = DayLanding(day)
        landing.refuse([*fleets[day].problems, *problems])
        wanted = {plant.plant_id for plant in fleets[day].plants}
        for plant_id in sorted(wanted):
            landing.add(plant_id, None, lists[plant_id])
        for device_id, plant_id in sorted(device_ids.items()):
            if plant_id in wanted:
                landing.add(plant_id, device_id, sets[device_id])
        return landing

    return fetch_day


@_raw_asset(deps=["raw_plants"])
def raw_energy_balance(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    """Each plant's EnergyBalance of its local day (/v1/plants/{plantId}/measurements/sets/EnergyBalance/Day),
    at the best resolution SMA keeps (5 minutes on ennexOS, 15 on classic plants), as energy values (Wh in each
    row's interval; `time` is the interval's end): PV, consumption, grid feed-in and purchase, battery charge,
    discharge and state of charge, each where the plant measures it.
    """

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.lake, day, with_devices=False)
        landing = DayLanding(day)
        landing.refuse(fleet.problems)
        plants = [plant for plant in fleet.plants if _begun(plant, day)]
        for plant, outcome in client.fan_out(lambda plant: client.energy_balance(plant.plant_id, day), plants):
            landing.add(plant.plant_id, None, outcome)
        return landing

    return fetch_day


@_raw_asset(deps=["raw_plants", "raw_devices"])
def raw_device_sets(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    """Each inverter's EnergyAndPowerPv and EnergyAndPowerBattery sets of its plant's local day
    (/v1/devices/{deviceId}/measurements/sets/{set}/Day, energy values), for the per-device hours: only the sets
    a device offers, only devices active that day. The Energy Meter's sets are not asked: the plant's
    EnergyBalance carries the same consumption and grid terms.
    """

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.lake, day)
        landing = DayLanding(day)
        landing.refuse(fleet.problems)
        asks = [
            (device, set_type)
            for plant in fleet.plants
            if _begun(plant, day)
            for device in plant.devices
            if device.active_on(day)
            for set_type in device.energy_sets
        ]
        for (device, _), outcome in client.fan_out(lambda ask: client.device_set(ask[0].device_id, ask[1], day), asks):
            landing.add(device.plant_id, device.device_id, outcome)
        return landing

    return fetch_day


@_raw_asset(deps=["raw_plants", "raw_devices"])
def raw_logs(context: dg.AssetExecutionContext, client: SmaClient, lake: LakeResource):
    """The logs of each plant and of its inverters for the local day (/v1/plants/{plantId}/logs,
    /v1/devices/{deviceId}/logs): an entry when a fault began and one when it ended.

    A fault that ends this day but began earlier: the earlier days' logs are landed with this day's, back to its
    beginning (at most 14 days; pipelines.sources.sma.logs), so it stays one occurrence in alarm_history.
    """

    def fetch_day(day: date) -> DayLanding:
        fleet = load_fleet(lake.lake, day)
        landing = DayLanding(day)
        landing.refuse(fleet.problems)
        plants = [plant for plant in fleet.plants if _begun(plant, day)]
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


raw_assets = [raw_plants, raw_devices, raw_energy_balance, raw_device_sets, raw_logs]
