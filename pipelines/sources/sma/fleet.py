"""SMA's fleet of a day, read back from the raw lake (raw_plants, raw_devices) instead of the API.

A day may hold several landing attempts: the newest successful answer per plant (and device) wins. Plants
and devices whose ids are not plain identifiers, and plants without a usable time zone, are left out and
named in `problems` (the raw assets refuse them by name). Plant names are personal data (an owner's name and
street, as SMA's portal lets owners name plants): nothing here logs them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pipelines.core.lake import Lake, UnsafeIdentifierError, checked_identifier
from pipelines.core.partitions import plant_zone
from pipelines.sources.sma.client import DEVICE_SETS

VENDOR = "sma"


@dataclass(frozen=True)
class Device:
    device_id: str
    plant_id: str
    sets: tuple[str, ...]  # the measurement sets it offers
    deactivated_at: datetime | None  # plant-local

    def active_on(self, day: date) -> bool:
        """Listed as active for some of the plant-local `day` (deactivated devices keep their history)."""
        return self.deactivated_at is None or datetime.combine(day, datetime.min.time()) < self.deactivated_at

    @property
    def energy_sets(self) -> list[str]:
        """The sets its per-device hours need (PV, battery), among those it offers."""
        return [s for s in DEVICE_SETS if s in self.sets]


@dataclass
class Plant:
    plant_id: str
    time_zone: str | None
    devices: list[Device] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return plant_zone(self.time_zone, self.plant_id, "Sunny Portal")


@dataclass
class Fleet:
    plants: list[Plant]
    problems: list[str]  # identifiers or time zones from the API that were refused, and why

    @property
    def devices(self) -> list[Device]:
        return [device for plant in self.plants for device in plant.devices]


class FleetNotLandedError(RuntimeError):
    pass


def answers(table, endpoint: str):
    """(row, parsed body) of the successful answers of `endpoint` in a raw table, oldest first."""
    rows = sorted(
        (r for r in (table.to_pylist() if table is not None else []) if r["endpoint"] == endpoint),
        key=lambda r: r["fetched_at"],
    )
    for row in rows:
        if row["http_status"] == 200:
            try:
                yield row, json.loads(row["body"])
            except ValueError:
                continue


def _identified(items: object, key: str, what: str, problems: list[str]) -> Iterator[tuple[str, dict]]:
    """The objects of a list answer with their identifier (`key`), checked safe for paths and SQL; an unsafe
    one is named in `problems` and left out, never used."""
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        try:
            identifier = checked_identifier(item.get(key), what, VENDOR.upper())
        except UnsafeIdentifierError as exc:
            problems.append(str(exc))
            continue
        yield identifier, item


def parse_plants(body: object) -> tuple[list[Plant], list[str]]:
    """The plants of a /v1/plants answer with their time zones; refused ones named."""
    plants: dict[str, Plant] = {}
    problems: list[str] = []
    items = body.get("plants") if isinstance(body, dict) else None
    for plant_id, item in _identified(items, "plantId", "plant id", problems):
        plant = Plant(plant_id, item.get("timezone"))
        try:
            _ = plant.zone
        except ValueError as exc:  # its local day cannot be known: left out, by name, never guessed as UTC
            problems.append(str(exc))
            continue
        plants[plant_id] = plant
    return sorted(plants.values(), key=lambda p: p.plant_id), problems


def load_fleet(lake: Lake, day: date, with_devices: bool = True) -> Fleet:
    """The plants (with their time zones) and, unless told not to, their devices and sets, as landed for `day`."""
    plants_table = lake.read_raw(VENDOR, "raw_plants", day)
    devices_table = lake.read_raw(VENDOR, "raw_devices", day) if with_devices else None
    if plants_table is None or (with_devices and devices_table is None):
        which = "raw_plants and raw_devices" if with_devices else "raw_plants"
        raise FleetNotLandedError(f"sma/{which} not landed for {day}: materialise them for this day first.")
    newest = list(answers(plants_table, "v1/plants"))[-1:]
    plants, problems = parse_plants(newest[0][1] if newest else None)
    if not with_devices:
        return Fleet(plants, problems)
    sets = {
        row["device_sn"]: tuple(body.get("sets") or [])
        for row, body in answers(devices_table, "v1/devices/{deviceId}/measurements/sets")
    }
    by_plant = {row["plant_id"]: body for row, body in answers(devices_table, "v1/plants/{plantId}/devices/lean")}
    for plant in plants:
        items = (by_plant.get(plant.plant_id) or {}).get("devices")
        for device_id, item in _identified(items, "deviceId", "device id", problems):
            plant.devices.append(
                Device(device_id, plant.plant_id, sets.get(device_id, ()), _local_time(item.get("deactivatedAt")))
            )
    return Fleet(plants, problems)


def _local_time(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)).replace(tzinfo=None) if text else None
    except ValueError:
        return None
