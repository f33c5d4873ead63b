"""The simulated fleet: plants, devices, alarms and their ground truth, all derived from one seed.

Vendor-neutral: every vendor's stand-in serves views of a `Fleet` (SAJ's ids and device types are the
fleet's own; other vendors map them to theirs), so every API is checked against the same physics.

With `tou=True` the plants `TOU_INDEXES` picks (a storage and an AC-coupled plant in every six) run a
time-of-use dispatch (physics.py); with it off (the default) every plant's truth is bit-identical to the
self-consumption fleet's. The truth frames carry each interval's energy flows (`physics.flows`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from . import physics
from .physics import BLOCK_DAYS, FLOWS, SLOTS, STEP_S, PlantPhysics, TzCalendar, Weather

# The fleet's countries: (time zone as served, country, countryCode, climate, annual kWh range, tilt, tz name).
REGIONS = {
    "DE": ("Europe/Berlin", "Germany", "DE", "temperate", (3200, 6000), 35,
           "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
    "AU": ("Australia/Sydney", "Australia", "AU", "subtropical", (4500, 8000), 22,
           "(UTC+10:00) Canberra, Melbourne, Sydney"),
    "MY": ("Asia/Kuala_Lumpur", "Malaysia", "MY", "tropical", (4000, 8000), 10, "(UTC+08:00) Kuala Lumpur, Singapore"),
    "CN": ("PRC", "China", "CN", "humid_subtropical", (3500, 7000), 18,
           "(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi"),
}  # fmt: skip
# Plant i stands at site i % 8 (a city of a country above): (country, city, lat, lon, expected kWh/kWp).
CITIES = [
    ("DE", "Berlin", 52.52, 13.40, 1010),
    ("AU", "Sydney", -33.87, 151.21, 1380),
    ("MY", "Kuala Lumpur", 3.14, 101.69, 1080),
    ("CN", "Guangzhou", 23.13, 113.26, 1020),
    ("DE", "Munich", 48.14, 11.58, 1080),
    ("AU", "Newcastle", -32.93, 151.78, 1380),
    ("MY", "George Town", 5.41, 100.33, 1080),
    ("CN", "Shenzhen", 22.54, 114.06, 1020),
]
# The sites as the fleet reads them: (time zone as served, country, countryCode, city, lat, lon, climate, annual kWh
# range, expected kWh/kWp, tilt, tz name)
SITES = [
    (tz, country, cc, city, lat, lon, climate, annual, yld, tilt, tzname)
    for region, city, lat, lon, yld in CITIES
    for tz, country, cc, climate, annual, tilt, tzname in [REGIONS[region]]
]
# (plant type, has load monitor): every combination appears within the first six plants
COMBOS = [(0, False), (1, True), (3, False), (0, True), (1, False), (3, True)]
# plants (index % 6) on a time-of-use tariff when the fleet has them: a storage plant without a load monitor
# and an AC-coupled one with it (Munich and Newcastle in the first six: daylight saving in both hemispheres)
TOU_INDEXES = (4, 5)
SURNAMES = [
    "Schmidt",
    "Nguyen",
    "Tan",
    "Chen",
    "Weber",
    "Smith",
    "Lim",
    "Wang",
    "Fischer",
    "Brown",
    "Lee",
    "Zhang",
    "Wagner",
    "Wilson",
    "Ong",
    "Liu",
    "Becker",
    "Taylor",
    "Abdullah",
    "Huang",
]
MODEL_PREFIX = {"R5": "R5X", "R6": "R6I", "H2": "H2T", "HS2": "HSS", "AS1": "AS1"}
STRING_MODELS = {"R6"}  # models whose minute uploadData numbers come as strings

ALARM_HORIZON_S = 3600.0  # how far ahead of now the alarm timeline is generated (Fleet.alarms)
ALARM_CODES = [  # (code, name, level, battery only)
    (1001, "Grid Over-Voltage", 1, False),
    (1002, "Grid Under-Voltage", 1, False),
    (1005, "Grid Over-Frequency", 1, False),
    (1010, "Grid Lost", 2, False),
    (2003, "PV Insulation Resistance Low", 2, False),
    (2011, "PV String Reverse Connection", 2, False),
    (3001, "Inverter Over-Temperature", 2, False),
    (3007, "DC Injection High", 2, False),
    (4001, "Relay Check Fault", 3, False),
    (4010, "Fan Fault", 1, False),
    (4021, "Inverter Hardware Fault", 3, False),
    (5002, "Meter Communication Lost", 1, False),
    (6001, "Battery Over-Temperature", 2, True),
    (6005, "BMS Communication Fault", 2, True),
    (6010, "Battery Under-Voltage", 1, True),
]

COLUMNS = [
    "ts_local",
    "ts_utc",
    "pv_w",
    "load_w",
    "grid_import_w",
    "grid_export_w",
    "battery_charge_w",
    "battery_discharge_w",
    "battery_soc_pct",
    "pv_kwh",
    "load_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
    "battery_charge_kwh",
    "battery_discharge_kwh",
    *(f"{f}_w" for f in FLOWS),
    *(f"{f}_kwh" for f in FLOWS),
    "reported",
]
_W = ["pv_w", "load_w", "grid_import_w", "grid_export_w", "battery_charge_w", "battery_discharge_w"]
KEYS = ["pv", "load", "imp", "exp", "chg", "dis"]
FLOW_KEYS = list(FLOWS)  # the flows of the truth's day arrays and daily sums (`physics.flows`)


def _h(*parts) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def _u(*parts) -> float:
    return _h(*parts) / 2.0**64


@dataclass
class Device:
    sn: str
    plant_id: str
    device_type: int  # 0 grid-tied, 1 storage/hybrid, 2 AC-coupled
    model: str
    battery_kwh: float
    index: int = field(default=0, repr=False)
    pv_fraction: float = field(default=1.0, repr=False)  # share of the plant's PV this inverter produces
    rated_w: int = field(default=5000, repr=False)
    phases: int = field(default=1, repr=False)


@dataclass
class Plant:
    plant_id: str
    name: str
    time_zone: str
    country: str
    latitude: float
    longitude: float
    system_power_kwp: float
    plant_type: int
    has_load_monitor: bool
    module_sn: str | None
    devices: list
    battery_kwh: float
    index: int = field(default=0, repr=False)
    country_code: str = field(default="", repr=False)
    city: str = field(default="", repr=False)
    time_zone_name: str = field(default="", repr=False)
    plant_uid: str = field(default="", repr=False)
    plant_no: str = field(default="", repr=False)
    nmi: str = field(default="", repr=False)
    annual_kwh: float = field(default=0.0, repr=False)
    tilt_deg: float = field(default=0.0, repr=False)
    azimuth_deg: float = field(default=180.0, repr=False)
    grid_price: float = field(default=0.3, repr=False)
    currency: str = field(default="EUR", repr=False)
    tou: bool = field(default=False, repr=False)  # runs the time-of-use dispatch (grid charging, export)


@dataclass
class Alarm:
    alarm_id: str
    device_sn: str
    plant_id: str
    alarm_code: int
    alarm_name: str
    alarm_level: int
    started_at: datetime
    ended_at: datetime | None


class Fleet:
    """A deterministic fleet. ``now``: a fixed aware UTC datetime, or None for the real clock; ``tou``: the
    plants of `TOU_INDEXES` run a time-of-use dispatch."""

    def __init__(
        self,
        seed: int = 7,
        plants: int = 6,
        start_date: date = date(2025, 1, 1),
        now: datetime | None = None,
        gaps: bool = True,
        devices: int | None = None,
        tou: bool = False,
    ):
        if now is not None:
            if now.tzinfo is None:
                raise ValueError("now must be timezone-aware")
            now = now.astimezone(timezone.utc)
        self.seed = int(seed)
        self.start_date = start_date
        self._now = now
        self.gaps = gaps
        self.tou = bool(tou)
        self.app_id = f"sim-app-{self.seed}"
        self.app_secret = hashlib.sha256(f"saj-simulator-secret-{self.seed}".encode()).hexdigest()[:32].upper()
        self._lock = threading.RLock()
        # service-side state pushed by the server (offline gaps and lateness from its faults)
        self.offline: dict[str, list[tuple[datetime, datetime]]] = {}
        self.late_s = 0.0
        self._build(plants, devices)
        self._cals = {tz: TzCalendar(tz, start_date) for tz in {p.time_zone for p in self.plants}}
        self._phys = []
        for p in self.plants:
            pv_frac = tuple(d.pv_fraction for d in p.devices if d.device_type == 0) or (1.0,)
            ph = PlantPhysics(
                index=p.index,
                tz=p.time_zone,
                lat=p.latitude,
                lon=p.longitude,
                tilt_deg=p.tilt_deg,
                azimuth_deg=p.azimuth_deg,
                kwp=p.system_power_kwp,
                ac_max_w=sum(d.rated_w for d in p.devices if d.device_type in (0, 1)),
                annual_kwh=p.annual_kwh,
                climate=SITES[p.index % len(SITES)][6],
                battery_wh=p.battery_kwh * 1000.0,
                battery_pmax_w=min(max(2500.0, 500.0 * p.battery_kwh), 5000.0),
                pv_fractions=pv_frac,
                tou=p.tou,
            )
            ph._weather = Weather(self.seed, ph, start_date)
            self._phys.append(ph)
        P = len(self.plants)
        self._cap = np.array([ph.battery_wh for ph in self._phys])
        self._pmax = np.array([ph.battery_pmax_w for ph in self._phys])
        self._blocks_done = 0
        self._dev_plant_idx = np.array([self.plant(d.plant_id).index for d in self.devices], dtype=np.int64)
        self._multi_pv = [
            (p, [d for d in p.devices if d.device_type == 0])
            for p in self.plants
            if sum(1 for d in p.devices if d.device_type == 0) > 1
        ]
        self._e_state = self._cap * 0.5
        self._daily = {k: np.zeros((P, 0), dtype=np.int64) for k in KEYS + FLOW_KEYS}
        self._dev_pv_daily = np.zeros((len(self.devices), 0), dtype=np.int64)
        self._e_start = np.zeros((P, 0))
        self._store_slots = P * 400 <= 12000  # keep slot-level results of small fleets in memory
        self._slot_store: dict[int, dict] = {}
        self._inputs_cache: OrderedDict = OrderedDict()
        self._day_cache: OrderedDict = OrderedDict()
        # two days of every plant (today and yesterday, asked in turn by plant): a smaller cache evicted each
        # plant's day before its next request needed it, and the server recomputed it for every request
        self._day_cache_size = max(256, 2 * P)
        self._alarms_cache = None
        self._alarm_timeline: tuple[float, list] | None = None  # (generated up to, the timeline)

    # ------------------------------------------------------------------ fleet layout
    def _build(self, n: int, devices: int | None = None):
        rng = np.random.default_rng([self.seed, 0xF1EE7])
        self.plants: list[Plant] = []
        self.devices: list[Device] = []
        used_ids = set()
        inverters = self._grid_inverters(n, devices) if devices is not None else {}
        for i in range(n):
            site = SITES[i % len(SITES)]
            tz, country, cc, city, lat, lon, clim, arange, yld, tilt, tzname = site
            ptype, monitor = COMBOS[i % len(COMBOS)]
            while True:
                pid = str(int(rng.integers(10_000_000_000, 99_999_999_999)))
                if pid not in used_ids:
                    used_ids.add(pid)
                    break
            annual = float(rng.uniform(*arange))
            kwp = round(annual / yld * float(rng.uniform(0.94, 1.06)), 2)
            bat = (
                round(annual / 1000.0 * float(rng.uniform(*((0.95, 1.12) if clim == "temperate" else (0.85, 1.02)))), 1)
                if ptype in (1, 3)
                else 0.0
            )
            name = f"{city} {SURNAMES[int(rng.integers(len(SURNAMES)))]} {'Home' if i % 3 else 'Residence'}"
            south = lat >= 0
            plant = Plant(
                plant_id=pid,
                name=name,
                time_zone=tz,
                country=country,
                latitude=round(lat + float(rng.uniform(-0.15, 0.15)), 4),
                longitude=round(lon + float(rng.uniform(-0.15, 0.15)), 4),
                system_power_kwp=kwp,
                plant_type=ptype,
                has_load_monitor=monitor,
                module_sn=None,
                devices=[],
                battery_kwh=bat,
                index=i,
                country_code=cc,
                city=city,
                time_zone_name=tzname,
                plant_uid="".join(f"{int(x):X}" for x in rng.integers(0, 16, 32)),
                plant_no="".join("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[int(x)] for x in rng.integers(0, 32, 6)),
                nmi=f"NMI{int(rng.integers(10**9, 10**10 - 1))}" if cc == "AU" else "",
                annual_kwh=annual,
                tilt_deg=round(tilt + float(rng.uniform(-5, 5)), 1),
                azimuth_deg=round((180.0 if south else 0.0) + float(rng.uniform(-35, 35)), 1),
                grid_price={"DE": 0.38, "AU": 0.32, "MY": 0.55, "CN": 0.6}[cc],
                currency={"DE": "EUR", "AU": "AUD", "MY": "MYR", "CN": "CNY"}[cc],
                tou=self.tou and ptype in (1, 3) and i % len(COMBOS) in TOU_INDEXES,
            )
            if monitor:
                plant.module_sn = self._module_sn(rng)
            ac_w = kwp * 1000.0 / 1.1
            if ptype == 0:
                two = i == 0 or float(rng.random()) < 0.25
                if i in inverters:  # a fleet of a given size: commercial rooftops with several inverters
                    weights = [1.0 + 0.3 * _u(self.seed, "split", i, j) for j in range(inverters[i])]
                    fractions = [round(w / sum(weights), 3) for w in weights[:-1]]
                    fractions.append(round(1.0 - sum(fractions), 3))
                    specs = [("R5" if j % 2 == 0 else "R6", f) for j, f in enumerate(fractions)]
                elif two:
                    f0 = round(float(rng.uniform(0.45, 0.65)), 3)
                    specs = [("R5", f0), ("R6", 1.0 - f0)]
                else:
                    specs = [("R6" if float(rng.random()) < 0.3 else "R5", 1.0)]
                for model, f in specs:
                    self._add_device(plant, rng, 0, model, 0.0, f, ac_w * f)
            elif ptype == 1:
                self._add_device(plant, rng, 1, "H2" if float(rng.random()) < 0.6 else "HS2", bat, 1.0, ac_w)
            else:
                self._add_device(plant, rng, 0, "R5", 0.0, 1.0, ac_w)
                self._add_device(plant, rng, 2, "AS1", bat, 0.0, min(max(2500.0, 500.0 * bat), 5000.0))
            self.plants.append(plant)
        self._plant_by_id = {p.plant_id: p for p in self.plants}
        self._dev_by_sn = {d.sn: d for d in self.devices}

    @staticmethod
    def _grid_inverters(n: int, devices: int) -> dict[int, int]:
        """How many inverters each grid-tied plant gets so that the fleet has `devices` devices in all."""
        kinds = [COMBOS[i % len(COMBOS)][0] for i in range(n)]
        grid = [i for i, kind in enumerate(kinds) if kind == 0]
        fixed = sum(1 if kind == 1 else 2 for kind in kinds if kind != 0)
        spare = devices - fixed
        if not grid or spare < len(grid):
            raise ValueError(f"{n} plants need at least {fixed + len(grid)} devices (asked for {devices})")
        return {i: spare // len(grid) + (k < spare % len(grid)) for k, i in enumerate(grid)}

    def _module_sn(self, rng) -> str:
        return "M537%d%s%04d%06d" % (
            int(rng.integers(0, 10)),
            "ABCDEFGHJ"[int(rng.integers(9))],
            int(rng.integers(2100, 2452)),
            int(rng.integers(0, 10**6)),
        )

    def _add_device(self, plant, rng, dtype, model, bat, frac, rated_w):
        while True:
            sn = "%s%04d%s%04d%s%05d" % (
                MODEL_PREFIX[model],
                int(rng.integers(1000, 9999)),
                "JYGK"[int(rng.integers(4))],
                int(rng.integers(2101, 2452)),
                "E" if dtype else "E",
                int(rng.integers(0, 100000)),
            )
            if sn not in {d.sn for d in self.devices}:
                break
        dev = Device(
            sn=sn,
            plant_id=plant.plant_id,
            device_type=dtype,
            model=model,
            battery_kwh=bat,
            index=len(self.devices),
            pv_fraction=frac,
            rated_w=int(round(rated_w / 100.0) * 100),
            phases=3 if rated_w > 7000 else 1,
        )
        plant.devices.append(dev)
        self.devices.append(dev)

    # ------------------------------------------------------------------ lookups
    def plant(self, plant_id: str) -> Plant:
        return self._plant_by_id[str(plant_id)]

    def device(self, sn: str) -> Device:
        return self._dev_by_sn[str(sn)]

    def plant_of(self, sn: str) -> Plant:
        return self._plant_by_id[self._dev_by_sn[sn].plant_id]

    @property
    def now(self) -> datetime:
        return self._now if self._now is not None else datetime.now(timezone.utc)

    @property
    def frozen(self) -> bool:
        """True when the clock is fixed (``now`` given, or set by ``set_now``)."""
        return self._now is not None

    def set_now(self, now: datetime | None) -> None:
        """Freeze the clock at `now` (aware), or None for the real clock. Tests walk a day of polls with it."""
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        with self._lock:
            self._now = None if now is None else now.astimezone(timezone.utc)
            self._alarms_cache = None

    def zone(self, plant: Plant) -> ZoneInfo:
        return self._cals[plant.time_zone].zone

    def local_today(self, plant: Plant) -> date:
        return self.now.astimezone(self.zone(plant)).date()

    def day_index(self, plant: Plant, day: date) -> int:
        return (day - self.start_date).days

    # ------------------------------------------------------------------ bulk simulation
    def _ensure_days(self, n_days: int):
        with self._lock:
            while self._blocks_done * BLOCK_DAYS < n_days:
                self._run_block(self._blocks_done)
                self._blocks_done += 1

    def _plant_inputs(self, idxs: list[int], block: int):
        """PV and load (len(idxs), BLOCK_DAYS, SLOTS) for plants, computed per time zone group, and their
        time-of-use days (None when none of them has a tariff)."""
        P = len(idxs)
        pv = np.zeros((P, BLOCK_DAYS, SLOTS), dtype=np.int64)
        load = np.zeros((P, BLOCK_DAYS, SLOTS), dtype=np.int64)
        groups: dict[str, list[int]] = {}
        for r, i in enumerate(idxs):
            groups.setdefault(self.plants[i].time_zone, []).append(r)
        tou = None
        if any(self.plants[i].tou for i in idxs):
            tou = physics.TouDay(
                mode=np.zeros((P, BLOCK_DAYS, SLOTS), dtype=np.int8),
                charge_w=np.zeros(P),
                target_wh=np.zeros((P, BLOCK_DAYS)),
                discharge_w=np.zeros(P),
                floor_wh=np.zeros(P),
            )
        for tz, rows in groups.items():
            ph = [self._phys[idxs[r]] for r in rows]
            a, b = physics.block_inputs(self.seed, ph, self._cals[tz], block)
            pv[rows] = a
            load[rows] = b
            if tou is not None:
                t = physics.tou_block(self.seed, ph, self._cals[tz], block)
                for f in dataclasses.fields(t):
                    getattr(tou, f.name)[rows] = getattr(t, f.name)
        return pv, load, tou

    def _split_pv(self, pv: np.ndarray, fracs: tuple) -> list[np.ndarray]:
        out = []
        rest = pv
        for f in fracs[:-1]:
            part = np.floor(pv * f + 0.5).astype(np.int64)
            part = np.minimum(part, rest)
            out.append(part)
            rest = rest - part
        out.append(rest)
        return out

    def _run_block(self, block: int):
        P = len(self.plants)
        pv, load, tou = self._plant_inputs(list(range(P)), block)
        n0 = block * BLOCK_DAYS
        for k in KEYS + FLOW_KEYS:
            self._daily[k] = np.concatenate([self._daily[k], np.zeros((P, BLOCK_DAYS), dtype=np.int64)], axis=1)
        self._dev_pv_daily = np.concatenate(
            [self._dev_pv_daily, np.zeros((len(self.devices), BLOCK_DAYS), dtype=np.int64)], axis=1
        )
        self._e_start = np.concatenate([self._e_start, np.zeros((P, BLOCK_DAYS))], axis=1)
        store = {} if self._store_slots else None
        if store is not None:
            store = {k: np.zeros((P, BLOCK_DAYS, SLOTS), dtype=np.int32) for k in KEYS}
            store["soc"] = np.zeros((P, BLOCK_DAYS, SLOTS), dtype=np.int16)
        for j in range(BLOCK_DAYS):
            d = n0 + j
            self._e_start[:, d] = self._e_state
            res = self._day_physics(
                pv[:, j], load[:, j], self._e_state, self._cap, self._pmax, None if tou is None else tou.day(j)
            )
            self._e_state = res["e_end"]
            for k in KEYS:
                self._daily[k][:, d] = res[k].sum(axis=1)
                if store is not None:
                    store[k][:, j] = res[k]
            for k, f in physics.flows(res["pv"], res["load"], res["chg"], res["dis"], daily=True).items():
                self._daily[k][:, d] = f
            if store is not None:
                store["soc"][:, j] = res["soc"]
            self._dev_pv_daily[:, d] = self._daily["pv"][self._dev_plant_idx, d]
            for p, pvs in self._multi_pv:
                parts = self._split_pv(res["pv"][p.index], tuple(dv.pv_fraction for dv in pvs))
                for dv, part in zip(pvs, parts):
                    self._dev_pv_daily[dv.index, d] = part.sum()
        if store is not None:
            self._slot_store[block] = store

    @staticmethod
    def _day_physics(pv, load, e0, cap, pmax, tou=None):
        chg, dis, E, e_end = physics.dispatch_day(pv, load, e0, cap, pmax, tou)
        net = pv + dis - load - chg
        imp = np.maximum(-net, 0)
        exp = np.maximum(net, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            soc = np.where(cap[:, None] > 0, np.rint(E / np.where(cap > 0, cap, 1.0)[:, None] * 100.0), 0)
        return {
            "pv": pv,
            "load": load,
            "imp": imp,
            "exp": exp,
            "chg": chg,
            "dis": dis,
            "soc": soc.astype(np.int64),
            "e_end": e_end,
        }

    def _plant_slots(self, p: int, d: int) -> dict:
        """Slot-level physics of plant p on local day index d (padded to SLOTS)."""
        self._ensure_days(d + 1)
        block, j = divmod(d, BLOCK_DAYS)
        st = self._slot_store.get(block)
        if st is not None:
            out = {k: st[k][p, j].astype(np.int64) for k in KEYS}
            out["soc"] = st["soc"][p, j].astype(np.int64)
            return out
        key = (p, block)
        with self._lock:
            if key in self._inputs_cache:
                self._inputs_cache.move_to_end(key)
                pv, load, tou = self._inputs_cache[key]
            else:
                pv, load, tou = self._inputs_cache[key] = self._plant_inputs([p], block)
                if len(self._inputs_cache) > 32:
                    self._inputs_cache.popitem(last=False)
        res = self._day_physics(
            pv[:, j],
            load[:, j],
            self._e_start[[p], d],
            self._cap[[p]],
            self._pmax[[p]],
            None if tou is None else tou.day(j),
        )
        return {k: res[k][0] for k in KEYS + ["soc"]}

    # ------------------------------------------------------------------ day detail
    def _day(self, plant: Plant, day: date) -> dict | None:
        """Cached plant day: local/UTC stamps and per-slot arrays (unpadded) for the plant and its devices."""
        d = (day - self.start_date).days
        if d < 0:
            return None
        key = (plant.index, d)
        with self._lock:
            hit = self._day_cache.get(key)
            if hit is not None:
                self._day_cache.move_to_end(key)
                return hit
        cal = self._cals[plant.time_zone]
        n = cal.day_len(d)
        t0 = cal.day_start(d)
        utc = t0 + STEP_S * np.arange(n, dtype=np.int64)
        raw = self._plant_slots(plant.index, d)
        arr = {k: v[:n] for k, v in raw.items()}
        arr.update(physics.flows(arr["pv"], arr["load"], arr["chg"], arr["dis"]))
        zone = cal.zone
        idx = pd.DatetimeIndex(pd.to_datetime(utc, unit="s", utc=True)).tz_convert(zone).tz_localize(None)
        local = idx.strftime("%Y-%m-%d %H:%M:%S").tolist()
        out = {"n": n, "utc": utc, "local": local, "local_naive": idx, "plant": arr, "devices": {}}
        pvs = [dv for dv in plant.devices if dv.device_type == 0]
        parts = self._split_pv(arr["pv"], tuple(dv.pv_fraction for dv in pvs)) if plant.plant_type == 0 else None
        for dv in plant.devices:
            if dv.device_type == 0:
                pv = parts[pvs.index(dv)] if parts is not None else arr["pv"]
                out["devices"][dv.sn] = {"pv": pv}
            else:
                out["devices"][dv.sn] = dict(arr)
        # intrinsic logger outages (deterministic per device and day)
        gaps = {}
        for dv in plant.devices:
            m = np.zeros(n, dtype=bool)
            if self.gaps and _u(self.seed, "gap", dv.sn, d) < 1 / 45:
                s0 = int(_u(self.seed, "gap0", dv.sn, d) * n)
                ln = 6 + int(_u(self.seed, "gapl", dv.sn, d) * 55)
                m[s0 : s0 + ln] = True
            gaps[dv.sn] = m
        out["gaps"] = gaps
        with self._lock:
            self._day_cache[key] = out
            if len(self._day_cache) > self._day_cache_size:
                self._day_cache.popitem(last=False)
        return out

    def reported_mask(self, sn: str, day_data: dict, now: datetime | None = None) -> np.ndarray:
        """Which samples of a device-day the API serves: logger up, not offline, interval ended by now-late."""
        now = now or self.now
        cutoff = now.timestamp() - self.late_s
        utc = day_data["utc"]
        m = (utc + STEP_S <= cutoff) & ~day_data["gaps"].get(sn, np.zeros(len(utc), dtype=bool))
        for a, b in self.offline.get(sn, []):
            m &= ~((utc + STEP_S > a.timestamp()) & (utc < b.timestamp()))
        return m

    def _frame(self, day_data: dict, vals: dict, reported: np.ndarray, pv_only: bool) -> pd.DataFrame:
        """A truth frame (COLUMNS), built in one go: inserting column by column costs pandas more than the day."""
        n = day_data["n"]
        na = pd.array([pd.NA] * n, dtype="Int64")
        watts = dict(zip(_W, KEYS)) | {"battery_soc_pct": "soc"} | {f"{k}_w": k for k in FLOW_KEYS}
        cols = {
            "ts_local": day_data["local_naive"].to_numpy(),
            "ts_utc": pd.to_datetime(day_data["utc"], unit="s", utc=True),
        }
        for c, k in watts.items():
            cols[c] = na if pv_only and k != "pv" else pd.array(vals[k], dtype="Int64")
        for c in _W + [f"{k}_w" for k in FLOW_KEYS]:
            cols[c[:-2] + "_kwh"] = cols[c].astype("Float64") * (STEP_S / 3600.0 / 1000.0)
        cols["reported"] = reported
        return pd.DataFrame({c: cols[c] for c in COLUMNS})

    def device_day(self, sn: str, day: date) -> pd.DataFrame:
        dev = self.device(sn)
        plant = self.plant(dev.plant_id)
        dd = self._day(plant, day)
        if dd is None:
            return pd.DataFrame(columns=COLUMNS)
        vals = dd["devices"][sn]
        return self._frame(dd, vals, self.reported_mask(sn, dd), pv_only=dev.device_type == 0)

    def plant_reported_mask(self, plant: Plant, day_data: dict, now: datetime | None = None) -> np.ndarray:
        """Which intervals of a plant-day every device of the plant and its load monitor reported."""
        rep = np.ones(day_data["n"], dtype=bool)
        for dv in plant.devices:
            rep &= self.reported_mask(dv.sn, day_data, now)
        if plant.module_sn:
            rep &= self.reported_mask(plant.module_sn, day_data, now)
        return rep

    def plant_day(self, plant_id: str, day: date) -> pd.DataFrame:
        plant = self.plant(plant_id)
        dd = self._day(plant, day)
        if dd is None:
            return pd.DataFrame(columns=COLUMNS)
        return self._frame(dd, dd["plant"], self.plant_reported_mask(plant, dd), pv_only=False)

    # ------------------------------------------------------------------ daily energies (Wh*12 units = W-slots)
    def daily_sums(self, plant: Plant, d0: int, d1: int) -> dict:
        """Sum of W over slots for plant days [d0, d1) (full days of physical truth): the six terms and the
        flows."""
        d0 = max(d0, 0)
        if d1 <= d0:
            return {k: 0 for k in KEYS + FLOW_KEYS}
        self._ensure_days(d1)
        return {k: int(self._daily[k][plant.index, d0:d1].sum()) for k in KEYS + FLOW_KEYS}

    def device_daily_pv(self, dev: Device, d0: int, d1: int) -> np.ndarray:
        d0 = max(d0, 0)
        if d1 <= d0:
            return np.zeros(0, dtype=np.int64)
        self._ensure_days(d1)
        return self._dev_pv_daily[dev.index, d0:d1]

    def daily_array(self, plant: Plant, key: str, d0: int, d1: int) -> np.ndarray:
        d0 = max(d0, 0)
        if d1 <= d0:
            return np.zeros(0, dtype=np.int64)
        self._ensure_days(d1)
        return self._daily[key][plant.index, d0:d1]

    # ------------------------------------------------------------------ alarms
    def alarms(self) -> list[Alarm]:
        """Every alarm begun before now, ended_at None while it lasts (oldest first)."""
        t_now = self.now.timestamp()
        key = int(t_now)  # a real clock cuts the timeline again at most once a second
        if self._alarms_cache is None or self._alarms_cache[0] != key:
            if self._alarm_timeline is None or t_now >= self._alarm_timeline[0]:
                # The timeline is generated ALARM_HORIZON_S ahead and cut at `now` on each call: generating
                # it costs ~1 s for 2,000 devices, which per second of a real clock starved the server.
                horizon = t_now + ALARM_HORIZON_S
                self._alarm_timeline = (horizon, self.alarm_timeline(horizon))
            begun = []
            for t0, end, a in self._alarm_timeline[1]:
                if t0 < t_now:
                    begun.append(a if end <= t_now else dataclasses.replace(a, ended_at=None))  # not ended yet
            self._alarms_cache = (key, begun)
        return list(self._alarms_cache[1])

    def alarm_timeline(self, until: float) -> list[tuple[float, float, Alarm]]:
        """Every alarm that begins before `until` (epoch seconds), as (when it began, unrounded; when it ends;
        the alarm as it is once ended), oldest first. The timeline does not depend on the clock: a timeline to
        a later horizon begins with the same alarms."""
        out = []
        t_start = datetime.combine(self.start_date, time(0), tzinfo=timezone.utc).timestamp()
        for dev in self.devices:
            plant = self.plant(dev.plant_id)
            rng = np.random.default_rng([self.seed, dev.index, 0xA1A2])
            codes = [c for c in ALARM_CODES if dev.device_type != 0 or not c[3]]
            t = t_start + float(rng.exponential(20 * 86400))
            events = []
            while t < until:
                code = codes[int(rng.integers(len(codes)))]
                r = float(rng.random())
                if r < 0.6:
                    dur = float(rng.uniform(5, 90)) * 60
                elif r < 0.9:
                    dur = float(rng.uniform(1, 20)) * 3600
                else:
                    dur = float(rng.uniform(1, 4)) * 86400
                events.append((t, dur, code))
                t += dur + float(rng.exponential(25 * 86400))
            if dev.index % 3 == 0 or _u(self.seed, "open", dev.sn) < 0.2:
                # Long-lasting faults on a fixed timeline (every ~4 days, 1-3.5 days long), so that at any
                # moment some alarms are open, and the same ones on every run: they close in time, never vanish.
                k, period = 0, 4 * 86400.0
                while (st := t_start + k * period + _u(self.seed, "openst", dev.sn, k) * period) < until:
                    code = codes[_h(self.seed, "opencode", dev.sn, k) % len(codes)]
                    events.append((st, (1 + 2.5 * _u(self.seed, "opendur", dev.sn, k)) * 86400, code))
                    k += 1
            for t0, dur, code in events:
                st = float(int(t0 // 60) * 60)
                started = datetime.fromtimestamp(st, timezone.utc)
                en = st + max(60.0, float(int(dur // 60) * 60))
                aid = hashlib.sha1(f"{dev.sn}|{code[0]}|{int(st)}".encode()).hexdigest()[:20].upper()
                alarm = Alarm(
                    alarm_id=aid,
                    device_sn=dev.sn,
                    plant_id=plant.plant_id,
                    alarm_code=code[0],
                    alarm_name=code[1],
                    alarm_level=code[2],
                    started_at=started,
                    ended_at=datetime.fromtimestamp(en, timezone.utc),
                )
                out.append((t0, en, alarm))
        out.sort(key=lambda x: (x[2].started_at, x[2].device_sn))
        return out

    # ------------------------------------------------------------------ description
    def describe(self) -> dict:
        return {
            "app_id": self.app_id,
            "app_secret": self.app_secret,
            "seed": self.seed,
            "start_date": self.start_date.isoformat(),
            "now": self.now.isoformat(),
            "tou": self.tou,
            "plants": [
                {
                    "plant_id": p.plant_id,
                    "name": p.name,
                    "time_zone": p.time_zone,
                    "country": p.country,
                    "latitude": p.latitude,
                    "longitude": p.longitude,
                    "system_power_kwp": p.system_power_kwp,
                    "plant_type": p.plant_type,
                    "has_load_monitor": p.has_load_monitor,
                    "module_sn": p.module_sn,
                    "battery_kwh": p.battery_kwh,
                    "tou": p.tou,
                    "devices": [
                        {
                            "sn": d.sn,
                            "plant_id": d.plant_id,
                            "device_type": d.device_type,
                            "model": d.model,
                            "battery_kwh": d.battery_kwh,
                        }
                        for d in p.devices
                    ],
                }
                for p in self.plants
            ],
        }
