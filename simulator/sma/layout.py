"""The fleet as SMA's Monitoring API sees it: plant and device ids, owners, portal generation, products and
measurement sets, and the test credentials.

Guarantees:
- Deterministic per fleet seed, and a pure view: nothing here changes the fleet or its truth.
- Plants with ``index % 4 == 1`` are Sunny Portal *classic* plants (GUID ids, 15-minute resolution, data
  processed in batches, empty ``logId``); all others are *ennexOS* plants (digit ids, 5 minutes).
- Two owners per fleet (``OWNERS``): plants with an even index belong to the first, odd ones to the second.
- Every plant has its PV inverters; storage (type 1) and AC-coupled (type 3) plants and plants with a load
  monitor also have an Energy Meter (SMA batteries need one), so only grid-tied plants without a monitor
  lack consumption and grid values; ennexOS plants also list their Data Manager (no measurement sets).
- One PV inverter of the first plant was replaced on ``swap_day``: the old one keeps its history up to
  that day and is then deactivated, the new one starts that day with an absurd first energy row.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..core.fleet import Fleet, Plant, _h

CLASSIC_MOD, CLASSIC_REM = 4, 1
OWNERS = ("owner-a", "owner-b")
# SMA stores canonical IANA names; the fleet's SAJ view keeps the alias
TZ_CANONICAL = {"PRC": "Asia/Shanghai"}
SWAP_AFTER_DAYS = 300  # default swap day: this many days after commissioning
CO2_FACTOR = {"DE": 400, "AU": 700, "MY": 585, "CN": 581}  # g/kWh, shown as installation.co2SavingsFactor

# (type, product family, productId, AC phases) per kind of device; productIds from the captured device list
# where the product appears there, one per family otherwise. Sunny Tripower (STP) is three-phase, Sunny Boy
# (SB) single-phase: the phases follow the product, not the fleet's SAJ model.
PV_CLASSIC = ("Solar Inverters", "STP {w}TL-20", 9098, 3)
PV_ENNEXOS = ("Solar Inverters", "SB{kw}-1AV-41", 9320, 1)
HYBRID = ("Solar Inverters", "STP{kw}-3SE-40", 9479, 3)
BATTERY = ("Battery Inverter", "SBS{kw}-10", 9359, 1)
METER = ("Monitoring and control", "Energy Meter", 9307, 3)
GATEWAY = ("Monitoring and control", "EDMM-10", 9397, 1)

SETS = {
    "pv": ("EnergyAndPowerPv", "PowerDc", "PowerAc"),
    "hybrid": ("EnergyAndPowerPv", "EnergyAndPowerBattery", "PowerDc", "PowerAc"),
    "battery": ("EnergyAndPowerBattery",),
    "meter": ("EnergyAndPowerInOut", "EnergyAndPowerConsumption"),
    "gateway": (),
}


@dataclass
class SmaDevice:
    device_id: str
    kind: str  # pv, hybrid, battery, meter, gateway
    name: str
    type: str
    product: str
    product_id: int
    serial: str
    sn: str | None  # the fleet device whose truth it serves (meters and gateways: None)
    plant: SmaPlant = field(repr=False)
    phases: int = 1
    generator_power: float | None = None  # W (PV-producing inverters only)
    generator_power_dc: float | None = None
    active_from: date | None = None  # first local day it exists (None: since commissioning)
    deactivated_on: date | None = None  # deactivated at 00:00 local of this day
    spike_wh: int | None = None  # the absurd first energy row of a newly added device

    @property
    def sets(self) -> tuple[str, ...]:
        return SETS[self.kind]

    def exists_on(self, day: date) -> bool:
        return self.active_from is None or day >= self.active_from

    def active_on(self, day: date) -> bool:
        return self.exists_on(day) and (self.deactivated_on is None or day < self.deactivated_on)


@dataclass
class SmaPlant:
    plant_id: str
    plant: Plant = field(repr=False)
    classic: bool
    owner: str
    devices: list = field(default_factory=list, repr=False)
    processing_phase_s: int = 0  # classic plants: offset of the batch processing runs (whole 15 minutes)
    installation_set: bool = True  # False: peakPower etc. "not configured" (0.0, orientation {})

    @property
    def slots_per_row(self) -> int:
        return 3 if self.classic else 1

    @property
    def resolution(self) -> str:
        return "FifteenMinutes" if self.classic else "FiveMinutes"

    @property
    def timezone(self) -> str:
        return TZ_CANONICAL.get(self.plant.time_zone, self.plant.time_zone)

    @property
    def has_meter(self) -> bool:
        return any(d.kind == "meter" for d in self.devices)

    @property
    def has_battery(self) -> bool:
        return self.plant.battery_kwh > 0


def credentials(seed: int) -> tuple[str, str]:
    """The fleet's client id and secret (simulator test credentials, deterministic per seed)."""
    raw = hashlib.sha256(f"sma-simulator-secret-{seed}".encode()).digest()
    return f"sim-sma-client-{seed}", str(uuid.UUID(bytes=raw[:16], version=4))


def owner_emails(seed: int) -> list[str]:
    return [f"{o}.seed{seed}@example.com" for o in OWNERS]


class SmaLayout:
    """SMA's ids and devices for every plant of `fleet`. swap_day: the day the first plant's last PV inverter
    was replaced (default commissioning + 300 days; None: never)."""

    def __init__(self, fleet: Fleet, swap_day: date | None | str = "default"):
        self.fleet = fleet
        seed = fleet.seed
        self.client_id, self.client_secret = credentials(seed)
        emails = owner_emails(seed)
        if swap_day == "default":
            swap_day = fleet.start_date + timedelta(days=SWAP_AFTER_DAYS)
        self.swap_day = swap_day if swap_day is None or swap_day > fleet.start_date else None
        self.plants: list[SmaPlant] = []
        self._plants: dict[str, SmaPlant] = {}
        self._devices: dict[str, SmaDevice] = {}
        used: set[int] = set()
        for p in fleet.plants:
            k = 0
            while True:  # a numeric base per plant, 100 ids apart, so that its device ids never collide
                base = 7_000_000 + 100 * (_h(seed, "sma-plant", p.plant_id, k) % 89_999)
                if base not in used:
                    used.add(base)
                    break
                k += 1
            classic = p.index % CLASSIC_MOD == CLASSIC_REM
            pid = (
                str(
                    uuid.UUID(int=_h(seed, "sma-guid", p.plant_id) << 64 | _h(seed, "sma-guid2", p.plant_id), version=4)
                )
                if classic
                else str(base)
            )
            sp = SmaPlant(
                plant_id=pid,
                plant=p,
                classic=classic,
                owner=emails[p.index % 2],
                processing_phase_s=900 * int(_h(seed, "sma-proc", p.plant_id) % 8),
                installation_set=p.index % 8 != 5,
            )
            self._add_devices(sp, base)
            self.plants.append(sp)
            self._plants[pid] = sp
        self.owners = {e: [sp.plant_id for sp in self.plants if sp.owner == e] for e in emails}

    # ------------------------------------------------------------------ building
    def _serial(self, *parts) -> str:
        return str(3_000_000_000 + _h(self.fleet.seed, "sma-serial", *parts) % 999_999_999)

    def _add_devices(self, sp: SmaPlant, base: int):
        p = sp.plant
        n = 0

        def add(kind, spec, sn, name, rated=None, dc=None, **kw):
            nonlocal n
            n += 1
            typ, fam, pid, phases = spec
            kwv = f"{(rated or 0) / 1000:.1f}"
            product = fam.format(w=int(round((rated or 0) / 1000.0)) * 1000, kw=kwv)
            serial = self._serial(p.plant_id, n)
            dev = SmaDevice(
                device_id=str(base + n),
                kind=kind,
                name=name if not sp.classic else f"SN: {serial}",
                type=typ,
                product=product,
                product_id=pid,
                serial=serial,
                sn=sn,
                plant=sp,
                phases=phases,
                generator_power=float(rated) if dc is not None else None,
                generator_power_dc=float(round(dc)) if dc is not None else None,
                **kw,
            )
            sp.devices.append(dev)
            self._devices[dev.device_id] = dev
            return dev

        pvs = [d for d in p.devices if d.device_type == 0]
        for i, d in enumerate(pvs, 1):
            spec = PV_CLASSIC if sp.classic else PV_ENNEXOS
            dc = p.system_power_kwp * 1000.0 * (d.pv_fraction if p.plant_type == 0 else 1.0)
            if p.index == 0 and d is pvs[-1] and self.swap_day is not None:
                add("pv", spec, d.sn, f"Inverter {i}", d.rated_w, dc, deactivated_on=self.swap_day)
                spike = int(d.rated_w * (150 + 250 * (_h(self.fleet.seed, "sma-spike") % 1000) / 1000.0))
                add("pv", spec, d.sn, f"Inverter {i} (new)", d.rated_w, dc, active_from=self.swap_day, spike_wh=spike)
            else:
                add("pv", spec, d.sn, f"Inverter {i}", d.rated_w, dc)
        for d in p.devices:
            if d.device_type == 1:
                add("hybrid", HYBRID, d.sn, "Hybrid Inverter", d.rated_w, p.system_power_kwp * 1000.0)
            elif d.device_type == 2:
                add("battery", BATTERY, d.sn, "Battery", d.rated_w)
        if p.plant_type in (1, 3) or p.has_load_monitor:
            add("meter", METER, None, "Energy Meter")
        if not sp.classic:
            add("gateway", GATEWAY, None, "Data Manager")

    # ------------------------------------------------------------------ lookups
    def plant(self, plant_id: str) -> SmaPlant:
        return self._plants[plant_id]

    def device(self, device_id: str) -> SmaDevice:
        return self._devices[device_id]

    def describe(self) -> dict:
        """The mapping a test needs: ids on both sides, owners, classic plants, devices and their sets."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "owners": self.owners,
            "swap_day": self.swap_day.isoformat() if self.swap_day else None,
            "plants": [
                {
                    "plantId": sp.plant_id,
                    "fleet_plant_id": sp.plant.plant_id,
                    "owner": sp.owner,
                    "classic": sp.classic,
                    "resolution": sp.resolution,
                    "timezone": sp.timezone,
                    "has_meter": sp.has_meter,
                    "has_battery": sp.has_battery,
                    "installation_set": sp.installation_set,
                    "devices": [
                        {
                            "deviceId": d.device_id,
                            "kind": d.kind,
                            "fleet_sn": d.sn,
                            "product": d.product,
                            "sets": list(d.sets),
                            "active_from": d.active_from.isoformat() if d.active_from else None,
                            "deactivated_on": d.deactivated_on.isoformat() if d.deactivated_on else None,
                            "spike_wh": d.spike_wh,
                        }
                        for d in sp.devices
                    ],
                }
                for sp in self.plants
            ],
        }
