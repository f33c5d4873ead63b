"""SAJ's fleet of a day, read back from the raw lake (raw_plants, raw_devices) instead of the API.

A day may hold several landing attempts: the newest successful answer per plant wins."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from pipelines.core.lake import Lake, UnsafeIdentifierError, checked_identifier
from pipelines.core.partitions import plant_zone
from pipelines.sources.saj.envelope import SUCCESS_CODES

VENDOR = "saj"


@dataclass(frozen=True)
class Device:
    sn: str
    plant_id: str
    device_type: int  # 0 grid-tied, 1 storage/hybrid, 2 AC-coupled
    model: str | None


@dataclass
class Plant:
    plant_id: str
    name: str | None
    time_zone: str | None
    plant_type: int | None
    has_load_monitor: bool
    devices: list[Device] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return plant_zone(self.time_zone, self.plant_id, "the SAJ portal")


class FleetNotLandedError(RuntimeError):
    pass


def _data_rows(table, endpoint: str):
    """The successful answers of `endpoint`, oldest first (so a later answer about the same plant wins)."""
    rows = sorted(
        (r for r in table.to_pylist() if r["endpoint"] == endpoint and r["api_code"] in SUCCESS_CODES),
        key=lambda r: r["fetched_at"],
    )
    for row in rows:
        yield row, json.loads(row["body"])


@dataclass
class Fleet:
    plants: list[Plant]
    problems: list[str]  # identifiers from the API that were refused, and why

    @property
    def devices(self) -> list[Device]:
        return [device for plant in self.plants for device in plant.devices]


def load_fleet(lake: Lake, day: date, with_devices: bool = True) -> Fleet:
    """Plants (with their time zone and load-monitor flag) and, unless told not to, their inverters,
    as landed for `day`."""
    assets = ("raw_plants", "raw_devices") if with_devices else ("raw_plants",)
    plants_table, devices_table = (lake.read_raw(VENDOR, asset, day) for asset in ("raw_plants", "raw_devices"))
    if plants_table is None or (with_devices and devices_table is None):
        raise FleetNotLandedError(f"{' and '.join(assets)} not landed for {day}: materialise them for this day first.")
    plants: dict[str, Plant] = {}
    problems: list[str] = []
    for row, body in _data_rows(plants_table, "plant/details"):
        details = body.get("data") or {}
        try:
            plant_id = checked_identifier(row["plant_id"], "plant id", "SAJ")
        except UnsafeIdentifierError as exc:
            problems.append(str(exc))
            continue
        plants[plant_id] = Plant(
            plant_id=plant_id,
            name=details.get("plantName"),
            time_zone=details.get("timeZone"),
            plant_type=_int_or_none(details.get("type")),
            has_load_monitor=_int_or_none(details.get("isInstallMeter")) == 1,
        )
    lists = (
        {row["plant_id"]: body for row, body in _data_rows(devices_table, "plant/getPlantAllDeviceList")}
        if with_devices
        else {}
    )
    for plant_id, body in lists.items():
        plant = plants.get(plant_id)
        if plant is None:
            continue
        for wrapper in body.get("data") or []:
            inverter = wrapper.get("inverterData")
            if not inverter:
                continue
            try:
                sn = checked_identifier(inverter.get("deviceSn"), "device sn", "SAJ")
            except UnsafeIdentifierError as exc:
                problems.append(str(exc))
                continue
            plant.devices.append(
                Device(
                    sn=sn,
                    plant_id=plant.plant_id,
                    device_type=_int_or_none(inverter.get("type")) or 0,
                    model=inverter.get("deviceModel"),
                )
            )
    usable = []
    for plant in sorted(plants.values(), key=lambda p: p.plant_id):
        try:
            _ = plant.zone
        except ValueError as exc:  # its local day cannot be known: left out, by name, never guessed as UTC
            problems.append(str(exc))
            continue
        usable.append(plant)
    return Fleet(usable, problems)


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def devices_flagged_with_alarms(lake: Lake, day: date) -> set[str]:
    """Devices the device page of `day` flags with isAlarm = 1."""
    table = lake.read_raw(VENDOR, "raw_devices", day)
    if table is None:
        return set()
    return {
        str(row.get("deviceSn"))
        for _, body in _data_rows(table, "developer/device/page")
        for row in body.get("rows") or []
        if _int_or_none(row.get("isAlarm")) == 1
    }


def devices_with_open_alarms(lake: Lake, day: date) -> set[str]:
    """Devices that had an open alarm in the alarms landed for `day` (so a later day sees them close)."""
    table = lake.read_raw(VENDOR, "raw_alarms", day)
    if table is None:
        return set()
    return {
        row["device_sn"]
        for row, body in _data_rows(table, "device/getDeviceAlarmList")
        if row["device_sn"]
        and json.loads(row["request_params"]).get("alarmCommonState") in (1, "1")
        and body.get("data")
    }
