"""A synthetic conformed lake for the model benchmarks: N devices x D days of 5-minute samples, vendor 'saj'.

What it guarantees:

- It writes every conformed table the marts read (plants, devices, samples, device_day_totals,
  plant_day_totals, alarms) for vendor 'saj', one file per table and day, at the path
  `pipelines.core.lake.Lake.conformed_file` gives (`conformed/<table>/vendor=saj/date=D/data.parquet` under
  the output folder, which plays the lake's root) and through `Lake.write_file` (zstd, atomic), in the row
  order the conformed SQL writes (samples: source, plant_id, device_sn, ts_utc).
- Every table has exactly the schema the pipeline's own mapping gives, `assets.conformed.conformed_schema(
  VENDOR_MODELS, table)` (column names, order, Arrow types): a table that differs raises TypeError before it is
  written. The lake is regenerated when that schema changes (the marker file's name carries its fingerprint).
- The values keep the contract of assets/conformed.py as SAJ's mapping fills it:
  - samples: inverters (source 'device') and load monitors ('load_monitor') every 5 minutes from local
    midnight to local midnight (23, 24 or 25 hours on daylight-saving days), interval_s 300, whole-watt
    powers, each interval's kWh = W x 300 s exactly as `kwh_of` computes it, readable true. Per interval
    pv + grid_import + battery_discharge = load + grid_export + battery_charge. Grid-tied inverters (type 0)
    measure only PV (load, grid, battery, SOC and self-use NULL, today_energy_kwh their day counter); storage
    (type 1) and AC-coupled storage (type 2) inverters measure the plant's load, grid and battery, and a type 2
    inverter's PV meter sees the grid-tied inverter beside it (pv_scope 'plant', its PV = the plant's);
    load monitors measure the plant's PV, load and grid (device_type NULL, pv_scope 'plant', no battery).
  - a few gaps: on ~2 % of device-days (inverters and monitors alike) a stretch of 5 min to 2 h is missing;
  - device_day_totals and plant_day_totals are the devices' and the portal's own counters: the whole day's
    energy (gaps included, as a device counts what it did not manage to upload), rounded to 0.01 kWh, so
    they equal the samples' sums on a day without a gap and cover the gap on a day with one; month, year
    and total counters accumulate the days (month and year restart on the 1st and on 1 January). Terms a
    plant cannot know are NULL where SAJ's mapping makes them NULL (load, import, export of a grid-tied plant
    without a load monitor; the state of charge of a plant without a battery).
  - alarms: inverters raise alarms (about one per device and month, lasting minutes to days); each day's file
    lists every occurrence that started in the 90 days up to the day's end (as SAJ's alarmList does), open or
    closed as of that day, with details (vendor id, state, end, duration) for those open or at most a week old.
- The same seed gives the same lake. 1,000 devices x 366 days (~106 million device samples and ~38 million
  load-monitor samples) take a few minutes: every day is built with numpy over the whole fleet at once.

The fleet repeats the simulator's mix: per 5 plants, a grid-tied plant with two inverters, a storage plant,
an AC-coupled plant (grid-tied + type-2 inverter), a grid-tied plant with one inverter and another storage
plant (7 devices); every other plant has a load monitor (so every kind comes with and without one). Plants
are spread over four time zones, two of them with daylight-saving time (Europe/Berlin, Australia/Sydney).

    .venv/bin/python benchmarks/synth_lake.py --devices 1000 --days 366 --out benchmarks/out/lake-1000
    .venv/bin/python benchmarks/synth_lake.py --devices 20 --days 40 --out /tmp/lake --check   # + the checks
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.core.lake import Lake  # noqa: E402

VENDOR = "saj"
TABLES = ("plants", "devices", "samples", "device_day_totals", "plant_day_totals", "alarms")
SYNTH_VERSION = 1  # bump when the values (not the schema) change, so existing lakes are regenerated
FIRST_DAY = date(2024, 11, 1)  # 366 days cover both DST changes of both hemispheres
STEP_US = 300_000_000  # 5 minutes

# zone, standard offset (h), country, country code, latitude, longitude, day-length swing (h; negative south)
ZONES = (
    ("Europe/Berlin", 1, "Germany", "DE", 52.52, 13.40, 4.0),
    ("Australia/Sydney", 10, "Australia", "AU", -33.87, 151.21, -2.5),
    ("Asia/Kuala_Lumpur", 8, "Malaysia", "MY", 3.14, 101.69, 0.0),
    ("PRC", 8, "China", "CN", 23.13, 113.26, 1.5),
)
PLANT_PATTERN = [(0, [0, 0]), (1, [1]), (3, [0, 2]), (0, [0]), (1, [1])]  # (plant type, device types)
MODEL = {0: "R5", 1: "H2", 2: "AS1"}
GAP_RATE = 0.02  # share of device-days with a missing stretch
GAP_MAX = 24  # samples (2 h)
ALARMS_PER_DEVICE_DAY = 1 / 30
ALARM_WINDOW_DAYS = 90  # SAJ's alarmList shows the starts of the last 90 days
ALARM_DETAIL_DAYS = 7
ALARM_TYPES = [  # code, name, level (as SAJ's alarm list names them)
    (1001, "Grid Over-Voltage", 1),
    (1002, "Grid Under-Voltage", 1),
    (1005, "Grid Over-Frequency", 1),
    (1010, "Grid Lost", 2),
    (2003, "PV Insulation Resistance Low", 2),
    (2011, "PV String Reverse Connection", 2),
    (3001, "Inverter Over-Temperature", 2),
    (3007, "DC Injection High", 2),
    (4001, "Relay Check Fault", 3),
    (4010, "Fan Fault", 1),
    (4021, "Inverter Hardware Fault", 3),
    (5002, "Meter Communication Lost", 1),
    (6001, "Battery Over-Temperature", 2),
    (6005, "BMS Communication Fault", 2),
]
LEVEL_NAMES = {1: "General", 2: "Important", 3: "Urgent"}


def conformed_schemas() -> dict[str, pa.Schema]:
    """The pipeline's conformed schemas (from SAJ's mapping SQL, as the conformed assets write them)."""
    warnings.filterwarnings("ignore")  # dagster's import-time warnings
    from assets.conformed import conformed_schema
    from assets.vendors import VENDOR_MODELS

    return {t: conformed_schema(VENDOR_MODELS, t) for t in TABLES}


def fingerprint(schemas: dict[str, pa.Schema]) -> str:
    text = f"v{SYNTH_VERSION}\n" + "\n".join(f"{t}\n{schemas[t]}" for t in TABLES)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------------------------------------
# the fleet


@dataclass(frozen=True)
class Fleet:
    """Plants and inverters as arrays; inverters sorted by (plant_id, device_sn), as the conformed SQL orders
    them. Every plant has at least one inverter."""

    plant_id: list[str]
    plant_type: np.ndarray  # int32: 0 grid-tied, 1 storage, 3 AC-coupled
    zone: np.ndarray  # index into ZONES
    has_lm: np.ndarray  # bool: a load monitor
    kwp: np.ndarray
    storage: np.ndarray  # bool: an inverter with a battery (type 1 or 2)
    cap_wh: np.ndarray  # battery capacity (storage plants)
    pmax_w: np.ndarray  # battery power limit
    load_scale: np.ndarray
    sn: list[str]
    dev_plant: np.ndarray  # plant index of each inverter
    dev_type: np.ndarray  # int32
    dev_kwp: np.ndarray  # own PV (0 for a type-2 inverter: its meter sees the grid-tied one's)
    plant_first_dev: np.ndarray  # index of each plant's first inverter (devices are grouped by plant)

    @property
    def monitors(self) -> np.ndarray:
        return np.flatnonzero(self.has_lm)

    def monitor_sn(self, p: int) -> str:
        return f"M{self.plant_id[p]}"


def make_fleet(n_devices: int) -> Fleet:
    plant_id, plant_type, zone, has_lm, kwp = [], [], [], [], []
    sn, dev_plant, dev_type, dev_kwp = [], [], [], []
    i = 0
    while len(sn) < n_devices:
        ptype, types = PLANT_PATTERN[i % len(PLANT_PATTERN)]
        types = types[: n_devices - len(sn)]
        if not any(t in (1, 2) for t in types):  # a plant cut short keeps a consistent kind
            ptype = 0
        size = 3.0 + (i * 37 % 60) / 10
        own = [t != 2 for t in types]
        devs = sorted(
            (f"{MODEL[t].ljust(3, 'X')}{i:07d}S{k}", t, size / sum(own) if o else 0.0)
            for k, (t, o) in enumerate(zip(types, own))
        )
        for s, t, k in devs:
            sn.append(s)
            dev_plant.append(i)
            dev_type.append(t)
            dev_kwp.append(k)
        plant_id.append(f"{10000000000 + i}")
        plant_type.append(ptype)
        zone.append(i % len(ZONES))
        has_lm.append(i % 2 == 0)
        kwp.append(size)
        i += 1
    dev_plant_a = np.array(dev_plant)
    dev_type_a = np.array(dev_type, dtype=np.int32)
    storage = np.zeros(i, bool)
    storage[dev_plant_a[np.isin(dev_type_a, (1, 2))]] = True
    idx = np.arange(i)
    return Fleet(
        plant_id=plant_id,
        plant_type=np.array(plant_type, dtype=np.int32),
        zone=np.array(zone),
        has_lm=np.array(has_lm),
        kwp=np.array(kwp),
        storage=storage,
        cap_wh=5000.0 + 2500.0 * (idx % 3),
        pmax_w=np.where(idx % 3 == 0, 2500.0, 3000.0),
        load_scale=0.7 + (idx * 13 % 80) / 100,
        sn=sn,
        dev_plant=dev_plant_a,
        dev_type=dev_type_a,
        dev_kwp=np.array(dev_kwp),
        plant_first_dev=np.searchsorted(dev_plant_a, idx),
    )


# --------------------------------------------------------------------------------------------------------
# one day


def local_day_instants(day: date, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC instants (µs) and local wall-clock stamps (µs) of the 5-minute samples of a local day."""
    tz = ZoneInfo(zone)
    nxt = day + timedelta(days=1)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(timezone.utc)
    n = int((end - start).total_seconds() // 300)
    utc = int(start.timestamp()) * 1_000_000 + STEP_US * np.arange(n, dtype=np.int64)

    def offset(us: int) -> int:
        return int(datetime.fromtimestamp(us / 1e6, tz).utcoffset().total_seconds()) * 1_000_000

    offsets = np.full(n, offset(int(utc[0])), dtype=np.int64)
    last = offset(int(utc[-1]))
    if last != offsets[0]:  # the offset changes at most once a day (two days a year in a DST zone)
        switch = next(k for k in range(n) if offset(int(utc[k])) == last)
        offsets[switch:] = last
    return utc, utc + offsets


def _kwh(w: np.ndarray) -> np.ndarray:
    """A sample's energy exactly as the conformed SQL computes it: kwh_of(w, 300) = w * 300 / 3600.0 / 1000.0."""
    return w * 300 / 3600.0 / 1000.0


def _strings(values: list[str], index: np.ndarray) -> pa.Array:
    """values[index] as a plain string array (built from a dictionary: no Python object per row)."""
    return pc.take(pa.array(values, pa.string()), pa.array(index, pa.int32()))


def _f64(a: np.ndarray) -> pa.Array:
    return pa.array(a, pa.float64(), from_pandas=True)  # NaN -> NULL


def _checked(schemas: dict[str, pa.Schema], table: str, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    """The table, refused (TypeError) unless its schema is exactly the conformed one."""
    got = pa.table(columns)
    want = schemas[table]
    if not got.schema.equals(want):
        diff = [
            f"  {f.name}: {f.type}" + (f" (expected {want.field(f.name).type})" if f.name in want.names else " (extra)")
            for f in got.schema
            if f.name not in want.names or want.field(f.name).type != f.type
        ] + [f"  {n}: missing" for n in want.names if n not in got.schema.names]
        if got.schema.names != want.names and not diff:
            diff = [f"  column order {got.schema.names} != {want.names}"]
        raise TypeError(f"synthetic conformed {table} does not match conformed_schema:\n" + "\n".join(diff))
    return got


@dataclass
class State:
    """What carries from one day to the next: batteries' charge and the portal's running counters."""

    soc: np.ndarray
    month: dict[str, np.ndarray]
    year: dict[str, np.ndarray]
    total: dict[str, np.ndarray]


COUNTER_TERMS = ("pv", "load", "grid_import", "grid_export", "battery_charge", "battery_discharge")


def new_state(fleet: Fleet, first_day: date, rng: np.random.Generator) -> State:
    p = len(fleet.plant_id)
    years = rng.uniform(0.5, 4.0, p)  # installed this long before the first day
    ytd = (first_day - date(first_day.year, 1, 1)).days / 365.0
    mtd = (first_day.day - 1) / 30.0
    per_year = {"pv": 1100.0, "load": 1300.0, "grid_import": 700.0, "grid_export": 500.0}
    per_year |= {"battery_charge": 300.0, "battery_discharge": 280.0}
    base = {t: fleet.kwp * v for t, v in per_year.items()}
    no_batt = ~fleet.storage
    for t in ("battery_charge", "battery_discharge"):
        base[t] = np.where(no_batt, 0.0, base[t])
    return State(
        soc=rng.uniform(20, 90, p),
        month={t: b * mtd / 12 for t, b in base.items()},
        year={t: b * ytd for t, b in base.items()},
        total={t: b * (years + ytd) for t, b in base.items()},
    )


def day_tables(
    fleet: Fleet, day: date, state: State, rng: np.random.Generator, schemas: dict[str, pa.Schema], alarms: Alarms
) -> dict[str, pa.Table]:
    """The six conformed tables of one day (and `state` moved on to the next day)."""
    P, D = len(fleet.plant_id), len(fleet.sn)
    mon = fleet.monitors
    M = len(mon)
    epoch_day = (day - date(1970, 1, 1)).days
    fetched = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() + 86400 + 1800) * 10**6

    # instants: per zone, padded to the longest local day (a 25-hour day has 300 samples)
    inst = [local_day_instants(day, z[0]) for z in ZONES]
    n_z = np.array([len(u) for u, _ in inst])
    L = int(n_z.max())
    U = np.zeros((len(ZONES), L), np.int64)
    LOC = np.zeros((len(ZONES), L), np.int64)
    for z, (u, loc) in enumerate(inst):
        U[z, : len(u)], LOC[z, : len(u)] = u, loc
    j = np.arange(L)
    valid = j[None, :] < n_z[fleet.zone][:, None]  # [P, L]

    # sun (solar time from the zone's standard offset, day length by season and hemisphere) and load (wall clock)
    std_off = np.array([z[1] for z in ZONES])[fleet.zone]
    swing = np.array([z[6] for z in ZONES])[fleet.zone]
    season = np.cos(2 * np.pi * (day.timetuple().tm_yday - 172) / 365.25)
    daylen = 12.0 + swing * season  # [P]
    solar_h = ((U[fleet.zone] // 1_000_000 + std_off[:, None] * 3600) % 86400) / 3600.0
    sun = np.clip(np.sin(np.pi * (solar_h - (12 - daylen[:, None] / 2)) / daylen[:, None]), 0, None)
    peak = np.clip(0.6 + 0.4 * (daylen - 8) / 8, 0.5, 1.0)
    weather = rng.uniform(0.25, 1.0, len(ZONES))[fleet.zone] * rng.uniform(0.85, 1.0, P)
    wall_h = (LOC[fleet.zone] // 1_000_000 % 86400) / 3600.0
    profile = 250 + 450 * np.exp(-((wall_h - 19.5) ** 2) / 3) + 300 * np.exp(-((wall_h - 7.5) ** 2) / 1.5)
    load = np.where(valid, np.round(profile * fleet.load_scale[:, None] * rng.uniform(0.7, 1.3, (P, L))), 0.0)

    # inverters' own PV (whole watts) and the plant's PV (the sum of its inverters' own)
    dp = fleet.dev_plant
    own_pv = np.round(
        fleet.dev_kwp[:, None] * 850.0 * (weather * peak)[dp, None] * sun[dp] * rng.uniform(0.9, 1.0, (D, L))
    )
    own_pv = np.where(valid[dp], own_pv, 0.0)
    pv = np.add.reduceat(own_pv, fleet.plant_first_dev, axis=0)  # [P, L]

    # batteries: PV surplus charges up to the power limit and 100 %, a deficit discharges down to 10 %
    chg = np.zeros((P, L))
    dis = np.zeros((P, L))
    soc_out = np.full((P, L), np.nan)
    s = np.flatnonzero(fleet.storage)
    soc = state.soc[s].copy()
    cap, pmax = fleet.cap_wh[s], fleet.pmax_w[s]
    for k in range(L):
        surplus = pv[s, k] - load[s, k]
        room = np.clip(np.floor((100.0 - soc) / 100.0 * cap * 12), 0, None)  # W that fill it in 5 minutes
        avail = np.clip(np.floor((soc - 10.0) / 100.0 * cap * 12), 0, None)
        c = np.minimum(np.clip(surplus, 0, None), np.minimum(pmax, room))
        d = np.minimum(np.clip(-surplus, 0, None), np.minimum(pmax, avail))
        ok = valid[s, k]
        c, d = np.where(ok, c, 0.0), np.where(ok, d, 0.0)
        soc = soc + (c - d) / 12.0 / cap * 100.0
        chg[s, k], dis[s, k], soc_out[s, k] = c, d, np.round(soc)
    state.soc[s] = soc
    imp = np.clip(load - pv - dis, 0, None)  # pv + imp + dis = load + exp + chg, per interval
    exp = np.clip(pv - load - chg, 0, None)

    # gaps: a missing stretch on a few device-days
    def gaps(rows: int, n: np.ndarray) -> np.ndarray:
        hit = rng.random(rows) < GAP_RATE
        length = rng.integers(1, GAP_MAX + 1, rows)
        start = (rng.random(rows) * np.maximum(n - length, 1)).astype(np.int64)
        return hit[:, None] & (j[None, :] >= start[:, None]) & (j[None, :] < (start + length)[:, None])

    dev_valid = valid[dp]
    dev_keep = dev_valid & ~gaps(D, dev_valid.sum(1))
    mon_valid = valid[mon]
    mon_keep = mon_valid & ~gaps(M, mon_valid.sum(1))

    # inverter rows [D, L]: type 0 measures its own PV only; types 1 and 2 the plant's load, grid and battery,
    # type 2's PV meter sees the plant's PV
    t = fleet.dev_type[:, None]
    nan = np.nan
    d_pv = np.where(t == 2, pv[dp], own_pv)
    measures = t != 0

    def plant_term(x):
        return np.where(measures, x[dp], nan)

    d_load, d_imp, d_exp = plant_term(load), plant_term(imp), plant_term(exp)
    d_chg, d_dis, d_soc = plant_term(chg), plant_term(dis), plant_term(soc_out)
    d_self = d_load - d_imp
    d_today = np.where(t == 0, np.round(np.cumsum(_kwh(own_pv), axis=1), 2), nan)

    # load-monitor rows [M, L]: the plant's PV, load and grid
    m_pv, m_load, m_imp, m_exp = pv[mon], load[mon], imp[mon], exp[mon]
    m_nan = np.full((M, L), nan)

    def both(dev: np.ndarray, mon_rows: np.ndarray) -> np.ndarray:
        return np.concatenate([dev[dev_keep], mon_rows[mon_keep]])

    n_dev_rows, n_mon_rows = int(dev_keep.sum()), int(mon_keep.sum())
    rows = n_dev_rows + n_mon_rows
    dev_of_row = np.repeat(np.arange(D), dev_keep.sum(1))
    mon_of_row = np.repeat(np.arange(M), mon_keep.sum(1))
    plant_of_row = np.concatenate([dp[dev_of_row], mon[mon_of_row]])
    sns = fleet.sn + [fleet.monitor_sn(p) for p in mon]
    sn_of_row = np.concatenate([dev_of_row, D + mon_of_row])
    dtype_row = np.concatenate([fleet.dev_type[dev_of_row], np.zeros(n_mon_rows, np.int32)])
    is_mon = np.arange(rows) >= n_dev_rows
    ts_utc = both(U[fleet.zone][dp], U[fleet.zone][mon])
    ts_local = both(LOC[fleet.zone][dp], LOC[fleet.zone][mon])
    powers = {
        "pv_w": both(d_pv, m_pv),
        "load_w": both(d_load, m_load),
        "grid_import_w": both(d_imp, m_imp),
        "grid_export_w": both(d_exp, m_exp),
        "battery_charge_w": both(d_chg, m_nan),
        "battery_discharge_w": both(d_dis, m_nan),
    }
    zeros = np.zeros(rows, np.int32)
    samples = {
        "vendor": _strings([VENDOR], zeros),
        "day": pa.array(np.full(rows, epoch_day, np.int32), pa.date32()),
        "source": _strings(["device", "load_monitor"], is_mon.astype(np.int32)),
        "plant_id": _strings(fleet.plant_id, plant_of_row),
        "device_sn": _strings(sns, sn_of_row),
        "device_type": pa.array(dtype_row, pa.int32(), mask=is_mon),
        "ts_local": pa.array(ts_local, pa.timestamp("us")),
        "ts_utc": pa.array(ts_utc, pa.timestamp("us", tz="UTC")),
        "interval_s": pa.array(np.full(rows, 300, np.int32)),
        **{k: _f64(v) for k, v in powers.items()},
        "battery_soc_pct": _f64(both(d_soc, m_nan)),
        **{k.replace("_w", "_kwh"): _f64(_kwh(v)) for k, v in powers.items()},
        "self_use_w": _f64(both(d_self, m_load - m_imp)),
        "today_energy_kwh": _f64(both(d_today, m_nan)),
        "pv_scope": _strings(["own", "plant"], (is_mon | (dtype_row == 2)).astype(np.int32)),
        "has_battery": pa.array(~is_mon & np.isin(dtype_row, (1, 2))),
        "readable": pa.array(np.ones(rows, bool)),
        "fetched_at": pa.array(np.full(rows, fetched, np.int64), pa.timestamp("us", tz="UTC")),
    }

    # counters: the whole day's energy (gaps included), 0.01 kWh
    def day_kwh(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
        return np.round(np.where(keep, _kwh(np.nan_to_num(x)), 0.0).sum(1), 2)

    knows_load = fleet.storage | fleet.has_lm
    dd = {
        "pv": day_kwh(d_pv, dev_valid),
        "load": np.where(measures[:, 0], day_kwh(d_load, dev_valid), nan),
        "grid_import": np.where(measures[:, 0], day_kwh(d_imp, dev_valid), nan),
        "grid_export": np.where(measures[:, 0], day_kwh(d_exp, dev_valid), nan),
    }
    device_day_totals = {
        "vendor": _strings([VENDOR], np.zeros(D, np.int32)),
        "day": pa.array(np.full(D, epoch_day, np.int32), pa.date32()),
        "device_sn": pa.array(fleet.sn, pa.string()),
        "plant_id": _strings(fleet.plant_id, dp),
        "device_type": pa.array(fleet.dev_type, pa.int32()),
        **{f"{k}_kwh": _f64(v) for k, v in dd.items()},
        "self_consumption_kwh": _f64(np.round(dd["pv"] - dd["grid_export"], 2)),
        "fetched_at": pa.array(np.full(D, fetched, np.int64), pa.timestamp("us", tz="UTC")),
    }
    today = {
        "pv": day_kwh(pv, valid),
        "load": day_kwh(load, valid),
        "grid_import": day_kwh(imp, valid),
        "grid_export": day_kwh(exp, valid),
        "battery_charge": day_kwh(chg, valid),
        "battery_discharge": day_kwh(dis, valid),
    }
    if day.day == 1:
        state.month = {k: np.zeros(P) for k in COUNTER_TERMS}
    if day.month == 1 and day.day == 1:
        state.year = {k: np.zeros(P) for k in COUNTER_TERMS}
    for k in COUNTER_TERMS:
        state.month[k] = state.month[k] + today[k]
        state.year[k] = state.year[k] + today[k]
        state.total[k] = state.total[k] + today[k]

    def portal(values: np.ndarray, term: str) -> pa.Array:
        # SAJ's mapping leaves what a plant cannot know NULL: load and grid where nothing measures the load
        known = knows_load if term in ("load", "grid_import", "grid_export") else np.ones(P, bool)
        return _f64(np.where(known, np.round(values, 2), nan))

    client_date = int(datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=timezone.utc).timestamp()) * 10**6
    plant_day_totals = {
        "vendor": _strings([VENDOR], np.zeros(P, np.int32)),
        "day": pa.array(np.full(P, epoch_day, np.int32), pa.date32()),
        "plant_id": pa.array(fleet.plant_id, pa.string()),
        "client_date": pa.array(np.full(P, client_date, np.int64), pa.timestamp("us")),
        **{f"today_{k}_kwh": portal(today[k], k) for k in COUNTER_TERMS},
        **{f"month_{k}_kwh": portal(state.month[k], k) for k in COUNTER_TERMS[:4]},
        **{f"year_{k}_kwh": portal(state.year[k], k) for k in COUNTER_TERMS[:4]},
        **{f"total_{k}_kwh": portal(state.total[k], k) for k in COUNTER_TERMS},
        "battery_soc_pct": _f64(np.where(fleet.storage, np.round(state.soc), nan)),
        "fetched_at": pa.array(np.full(P, fetched, np.int64), pa.timestamp("us", tz="UTC")),
    }

    # fleet details, as landed every day
    zone_field = lambda k: [ZONES[z][k] for z in fleet.zone]  # noqa: E731
    plants = {
        "vendor": _strings([VENDOR], np.zeros(P, np.int32)),
        "day": pa.array(np.full(P, epoch_day, np.int32), pa.date32()),
        "plant_id": pa.array(fleet.plant_id, pa.string()),
        "plant_name": pa.array([f"Plant {p}" for p in fleet.plant_id], pa.string()),
        "plant_uid": pa.array([hashlib.md5(p.encode()).hexdigest().upper() for p in fleet.plant_id], pa.string()),
        "plant_type": pa.array(fleet.plant_type, pa.int32()),
        "time_zone": pa.array(zone_field(0), pa.string()),
        "country": pa.array(zone_field(2), pa.string()),
        "country_code": pa.array(zone_field(3), pa.string()),
        "system_power_kwp": pa.array(fleet.kwp, pa.float64()),
        "has_load_monitor": pa.array(fleet.has_lm),
        "latitude": pa.array(np.array(zone_field(4), float), pa.float64()),
        "longitude": pa.array(np.array(zone_field(5), float), pa.float64()),
        "fetched_at": pa.array(np.full(P, fetched, np.int64), pa.timestamp("us", tz="UTC")),
    }
    # inverters and load monitors, by (plant_id, device_sn)
    all_sn = fleet.sn + [fleet.monitor_sn(p) for p in mon]
    all_plant = np.concatenate([dp, mon])
    order = sorted(range(len(all_sn)), key=lambda k: (fleet.plant_id[all_plant[k]], all_sn[k]))
    order_a = np.array(order)
    is_inv = order_a < D
    types = np.where(is_inv, fleet.dev_type[np.minimum(order_a, D - 1)], 0)
    n_all = len(order)
    devices = {
        "vendor": _strings([VENDOR], np.zeros(n_all, np.int32)),
        "day": pa.array(np.full(n_all, epoch_day, np.int32), pa.date32()),
        "device_sn": _strings(all_sn, order_a),
        "plant_id": _strings(fleet.plant_id, all_plant[order_a]),
        "device_kind": _strings(["inverter", "load_monitor"], (~is_inv).astype(np.int32)),
        "device_type": pa.array(types.astype(np.int32), pa.int32(), mask=~is_inv),
        "device_model": pa.array([MODEL[int(t)] if i else None for t, i in zip(types, is_inv)], pa.string()),
        "pv_scope": pa.array([("plant" if t == 2 else "own") if i else None for t, i in zip(types, is_inv)]),
        "has_battery": pa.array(is_inv & np.isin(types, (1, 2))),
        "fetched_at": pa.array(np.full(n_all, fetched, np.int64), pa.timestamp("us", tz="UTC")),
    }
    tables = {
        "plants": plants,
        "devices": devices,
        "samples": samples,
        "device_day_totals": device_day_totals,
        "plant_day_totals": plant_day_totals,
        "alarms": alarms.of_day(day, fetched),
    }
    return {name: _checked(schemas, name, cols) for name, cols in tables.items()}


# --------------------------------------------------------------------------------------------------------
# alarms


class Alarms:
    """Every alarm occurrence of the fleet over the lake's days (and the window before), drawn once."""

    def __init__(self, fleet: Fleet, first_day: date, n_days: int, rng: np.random.Generator):
        D = len(fleet.sn)
        span_days = n_days + ALARM_WINDOW_DAYS
        t0 = int(datetime(first_day.year, first_day.month, first_day.day, tzinfo=timezone.utc).timestamp())
        t0 -= ALARM_WINDOW_DAYS * 86400
        counts = rng.poisson(ALARMS_PER_DEVICE_DAY * span_days, D)
        dev = np.repeat(np.arange(D), counts)
        start_s = t0 + rng.integers(0, span_days * 1440, len(dev)) * 60
        minutes = np.maximum(5, np.round(rng.lognormal(np.log(600), 1.3, len(dev)))).astype(np.int64)
        kind = rng.integers(0, len(ALARM_TYPES), len(dev))
        ids = [
            f"{fleet.sn[d]}@{datetime.fromtimestamp(s, timezone.utc):%Y-%m-%dT%H:%M:%S}Z/{ALARM_TYPES[k][1]}"
            for d, s, k in zip(dev, start_s, kind)
        ]
        # the SQL's ORDER BY alarm_id; an id drawn twice (same device, kind and minute) is one occurrence
        order = sorted(range(len(ids)), key=ids.__getitem__)
        order = np.array([k for n, k in enumerate(order) if n == 0 or ids[k] != ids[order[n - 1]]], dtype=np.int64)
        self.start_us = start_s[order] * 10**6
        self.end_us = self.start_us + minutes[order] * 60 * 10**6
        self.minutes = minutes[order].astype(np.int32)
        kind = kind[order]
        dev = dev[order]
        self.alarm_id = pa.array([ids[k] for k in order], pa.string())
        hi, lo = rng.integers(0, 2**48, len(order)), rng.integers(0, 2**32, len(order))
        self.vendor_id = pa.array([f"{a:012X}{b:08X}" for a, b in zip(hi, lo)], pa.string())
        self.device_sn = _strings(fleet.sn, dev)
        self.plant_id = _strings(fleet.plant_id, fleet.dev_plant[dev])
        self.code = np.array([ALARM_TYPES[k][0] for k in kind], np.int32)
        self.name = _strings([a[1] for a in ALARM_TYPES], kind)
        self.level = np.array([ALARM_TYPES[k][2] for k in kind], np.int32)
        self.level_name = _strings([LEVEL_NAMES[lv] for lv in (1, 2, 3)], self.level - 1)

    def of_day(self, day: date, observed_us: int) -> dict:
        end_of_day = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() + 86400) * 10**6
        shown = (self.start_us < end_of_day) & (self.start_us >= end_of_day - ALARM_WINDOW_DAYS * 86400 * 10**6)
        k = np.flatnonzero(shown)
        n = len(k)
        idx = pa.array(k, pa.int64())
        is_open = self.end_us[k] > observed_us
        detailed = is_open | (self.start_us[k] >= end_of_day - ALARM_DETAIL_DAYS * 86400 * 10**6)
        closed_known = detailed & ~is_open
        ts = pa.timestamp("us", tz="UTC")
        return {
            "vendor": _strings([VENDOR], np.zeros(n, np.int32)),
            "day": pa.array(np.full(n, (day - date(1970, 1, 1)).days, np.int32), pa.date32()),
            "alarm_id": pc.take(self.alarm_id, idx),
            "vendor_alarm_id": pc.if_else(pa.array(detailed), pc.take(self.vendor_id, idx), None),
            "device_sn": pc.take(self.device_sn, idx),
            "plant_id": pc.take(self.plant_id, idx),
            "alarm_code": pa.array(self.code[k], pa.int32()),
            "alarm_name": pc.take(self.name, idx),
            "alarm_level": pa.array(self.level[k], pa.int32()),
            "alarm_level_name": pc.if_else(pa.array(detailed), pc.take(self.level_name, idx), None),
            "alarm_state": pa.array(np.where(is_open, 1, 4).astype(np.int32), pa.int32(), mask=~detailed),
            "status": _strings(["closed", "open"], is_open.astype(np.int32)),
            "started_at": pa.array(self.start_us[k], ts),
            "ended_at": pa.array(self.end_us[k], ts, mask=~closed_known),
            "updated_at": pa.array(np.where(is_open, self.start_us[k], self.end_us[k]), ts, mask=~detailed),
            "duration_minutes": pa.array(self.minutes[k], pa.int32(), mask=~closed_known),
            "reported_duration_minutes": pa.array(self.minutes[k], pa.int32(), mask=~closed_known),
            "observed_at": pa.array(np.full(n, observed_us, np.int64), ts),
        }


# --------------------------------------------------------------------------------------------------------
# the lake


def generate(root: Path, n_devices: int, n_days: int, first_day: date = FIRST_DAY, seed: int = 7, log=print) -> dict:
    """Write the lake under `root` (skipped when its marker says this lake, with today's schemas, is there).

    Returns a summary: plants, devices, monitors, days, device_samples, monitor_samples, generated_s."""
    root = Path(root)
    schemas = conformed_schemas()
    marker = root / f".synth-{n_devices}-{n_days}-{first_day}-{seed}-{fingerprint(schemas)}"
    if marker.exists():
        return json.loads(marker.read_text()) | {"generated_s": None}
    if (root / "conformed").exists():
        # only a lake this script made is replaced (never a real one passed as --out by mistake)
        if not any(root.glob(".synth-*")):
            raise FileExistsError(f"{root} holds a conformed layer this script did not write; choose another --out")
        shutil.rmtree(root / "conformed")
    for old in root.glob(".synth-*"):
        old.unlink()
    lake = Lake(root)
    fleet = make_fleet(n_devices)
    rng = np.random.default_rng(seed)
    state = new_state(fleet, first_day, rng)
    alarms = Alarms(fleet, first_day, n_days, rng)
    started = time.monotonic()
    counts = {"device_samples": 0, "monitor_samples": 0, "alarm_rows": 0}
    for k in range(n_days):
        day = first_day + timedelta(days=k)
        tables = day_tables(fleet, day, state, rng, schemas, alarms)
        for name, table in tables.items():
            lake.write_file(lake.conformed_file(name, VENDOR, day), table)
        src = tables["samples"].column("source")
        mons = pc.sum(pc.equal(src, "load_monitor")).as_py() or 0
        counts["device_samples"] += tables["samples"].num_rows - mons
        counts["monitor_samples"] += mons
        counts["alarm_rows"] += tables["alarms"].num_rows
        if log and (k + 1) % 50 == 0:
            log(f"  generated {k + 1}/{n_days} days ({time.monotonic() - started:.0f} s)")
    summary = {
        "plants": len(fleet.plant_id),
        "devices": n_devices,
        "monitors": len(fleet.monitors),
        "days": n_days,
        "first_day": first_day.isoformat(),
        **counts,
        "lake_mb": round(sum(p.stat().st_size for p in (root / "conformed").rglob("*.parquet")) / 2**20),
        "generated_s": round(time.monotonic() - started, 1),
    }
    marker.write_text(json.dumps(summary))
    return summary


def check(root: Path, days: list[date]) -> dict[str, str]:
    """Build every mart from the lake for `days` in a scratch in-memory warehouse and run the pipeline's own
    checks (assets/checks.py); returns {check: what it found} for the failed ones."""
    import duckdb

    from assets.checks import checks_of, run_check
    from assets.marts import MARTS, build_mart

    conn = duckdb.connect()
    lake = Lake(root)
    failed = {}
    for mart in MARTS:
        build_mart(conn, lake, mart, days)
    for mart in MARTS:
        for c in checks_of(mart.name):
            result = run_check(conn, c)
            if not result.passed:
                failed[c.name] = result.description
    conn.close()
    return failed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--days", type=int, default=366)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "lake-1000")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--check", action="store_true", help="then build the marts over it and run the project's checks")
    a = ap.parse_args(argv)
    print(generate(a.out, a.devices, a.days, seed=a.seed))
    if a.check:
        failed = check(a.out, [FIRST_DAY + timedelta(days=k) for k in range(a.days)])
        print("checks: all passed" if not failed else f"checks failed: {failed}")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
