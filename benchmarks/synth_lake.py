"""A synthetic staging lake for the model benchmarks: N devices x D days of 5-minute samples.

Writes exactly what the staging assets write (same schemas, taken from `assets.staging.empty_schema`, and
the same paths, `lake/staging/<table>/date=D/data.parquet`, zstd) for the staging tables the marts read:
stg_plants, stg_devices, stg_device_samples and stg_load_monitor_samples. Generated with numpy/pyarrow, no
API and no JSON, so a year of a 1,000-device fleet (~105 million samples) takes a couple of minutes.

The fleet repeats the simulator's mix: per 5 plants, a grid-tied plant with two inverters, a storage plant,
an AC-coupled plant (grid-tied + type-2 inverter), a grid-tied plant with one inverter and another storage
plant (7 devices); every other plant has a load monitor. Plants are spread over four time zones, two of them
with daylight-saving time, so local days have 23, 24 or 25 hours as in real data.

    .venv/bin/python benchmarks/synth_lake.py --devices 1000 --days 365 --out benchmarks/out/lake-1000
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines import lake as lakefiles  # noqa: E402

ZONES = ["Europe/Berlin", "Australia/Sydney", "Asia/Kuala_Lumpur", "PRC"]
FIRST_DAY = date(2024, 11, 1)  # 365 days cover both DST changes of both hemispheres
PLANT_PATTERN = [(0, [0, 0]), (1, [1]), (3, [0, 2]), (0, [0]), (1, [1])]  # (plant type, device types)
FETCHED = datetime(2025, 11, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SynthDevice:
    sn: str
    plant_id: str
    device_type: int
    kwp: float


@dataclass(frozen=True)
class SynthPlant:
    plant_id: str
    plant_type: int
    zone: str
    has_load_monitor: bool
    kwp: float
    devices: tuple[SynthDevice, ...]


def make_fleet(n_devices: int) -> list[SynthPlant]:
    plants: list[SynthPlant] = []
    made = 0
    i = 0
    while made < n_devices:
        plant_type, types = PLANT_PATTERN[i % len(PLANT_PATTERN)]
        types = types[: n_devices - made]
        pid = f"{10000000000 + i}"
        kwp = 4.0 + (i * 37 % 60) / 10
        devs = tuple(SynthDevice(f"SYN{i:06d}D{k}", pid, t, kwp / len(types)) for k, t in enumerate(types))
        plants.append(SynthPlant(pid, plant_type, ZONES[i % len(ZONES)], i % 2 == 0, kwp, devs))
        made += len(types)
        i += 1
    return plants


def _schemas():
    import warnings

    warnings.filterwarnings("ignore")
    from assets.staging import empty_schema

    return {t: empty_schema(t) for t in ("stg_plants", "stg_devices", "stg_device_samples", "stg_load_monitor_samples")}


def local_day_instants(day: date, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """UTC instants (µs) and local wall-clock stamps (µs) of the 5-minute samples of a local day."""
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(timezone.utc)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(timezone.utc)
    step = 300_000_000
    t0 = int(start.timestamp() * 1e6)
    n = int((end - start).total_seconds() // 300)
    utc = t0 + step * np.arange(n, dtype=np.int64)
    # local = utc + offset(utc); the offset changes at most once a day
    off0 = int(datetime.fromtimestamp(t0 / 1e6, tz).utcoffset().total_seconds() * 1e6)
    off1 = int(datetime.fromtimestamp((utc[-1]) / 1e6, tz).utcoffset().total_seconds() * 1e6)
    offsets = np.full(n, off0, dtype=np.int64)
    if off1 != off0:
        for k in range(n):  # find the switch (one day in ~180)
            if int(datetime.fromtimestamp(utc[k] / 1e6, tz).utcoffset().total_seconds() * 1e6) == off1:
                offsets[k:] = off1
                break
    return utc, utc + offsets


def day_tables(plants: list[SynthPlant], day: date, schemas, rng: np.random.Generator, instants_cache: dict):
    """The four staging tables of one day."""
    # plants and devices
    stg_plants = pa.table(
        {
            "day": pa.array([day] * len(plants), pa.date32()),
            "plant_id": [p.plant_id for p in plants],
            "plant_name": [f"Plant {p.plant_id}" for p in plants],
            "plant_uid": [f"uid{p.plant_id}" for p in plants],
            "plant_type": pa.array([p.plant_type for p in plants], pa.int32()),
            "time_zone": [p.zone for p in plants],
            "country": ["DE" for _ in plants],
            "country_code": ["DE" for _ in plants],
            "system_power_kwp": [p.kwp for p in plants],
            "has_load_monitor": [p.has_load_monitor for p in plants],
            "latitude": [50.0 for _ in plants],
            "longitude": [8.0 for _ in plants],
            "fetched_at": pa.array([FETCHED] * len(plants), pa.timestamp("us", tz="UTC")),
        },
        schema=schemas["stg_plants"],
    )
    dev_rows = [
        (d, "inverter", d.device_type, "R5" if d.device_type == 0 else "H2", 1) for p in plants for d in p.devices
    ]
    dev_rows += [
        (SynthDevice(f"MON{p.plant_id}", p.plant_id, -1, 0), "load_monitor", None, None, 2)
        for p in plants
        if p.has_load_monitor
    ]
    dev_rows.sort(key=lambda r: (r[0].plant_id, r[0].sn))
    stg_devices = pa.table(
        {
            "day": pa.array([day] * len(dev_rows), pa.date32()),
            "device_sn": [r[0].sn for r in dev_rows],
            "plant_id": [r[0].plant_id for r in dev_rows],
            "device_kind": [r[1] for r in dev_rows],
            "device_type": pa.array([r[2] for r in dev_rows], pa.int32()),
            "device_model": [r[3] for r in dev_rows],
            "wrapper_device_type": pa.array([r[4] for r in dev_rows], pa.int32()),
            "fetched_at": pa.array([FETCHED] * len(dev_rows), pa.timestamp("us", tz="UTC")),
        },
        schema=schemas["stg_devices"],
    )

    def instants(zone):
        key = (day, zone)
        if key not in instants_cache:
            instants_cache.clear() if len(instants_cache) > 64 else None
            instants_cache[key] = local_day_instants(day, zone)
        return instants_cache[key]

    cloud = 0.4 + 0.6 * rng.random()  # the day's weather, shared by the fleet

    def profile(local_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hour = (local_us // 1_000_000 % 86400) / 3600.0
        sun = np.clip(np.sin((hour - 6.0) / 12.0 * np.pi), 0, None)
        load = 300 + 400 * np.exp(-((hour - 19) ** 2) / 4) + 250 * np.exp(-((hour - 8) ** 2) / 2)
        return sun, load

    # device samples, sorted by device_sn then ts_utc as the staging SQL writes them
    devices = sorted((d for p in plants for d in p.devices), key=lambda d: d.sn)
    zone_of = {p.plant_id: p.zone for p in plants}
    cols: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "utc",
            "local",
            "seq",
            "pv",
            "load",
            "buy",
            "sell",
            "chg",
            "dis",
            "soc",
            "self",
            "today",
            "v",
            "c",
            "p1",
            "l1",
        )
    }
    sn_col, pid_col, type_col, n_col = [], [], [], []
    for d in devices:
        utc, loc = instants(zone_of[d.plant_id])
        n = len(utc)
        sun, load = profile(loc)
        pv = np.round(d.kwp * 1000 * 0.9 * cloud * sun * (0.85 + 0.15 * rng.random(n)))
        cols["utc"].append(utc)
        cols["local"].append(loc)
        cols["seq"].append(np.arange(1, n + 1, dtype=np.int64))
        cols["pv"].append(pv)
        cols["today"].append(np.round(np.cumsum(pv) * 5 / 60 / 1000, 2))
        if d.device_type == 0:
            nan = np.full(n, np.nan)
            for k in ("load", "buy", "sell", "chg", "dis", "soc", "self"):
                cols[k].append(nan)
            cols["v"].append(np.where(pv > 0, 300 + 60 * sun, 0.0).round(1))
            cols["c"].append(np.where(pv > 0, pv / 2 / 330, 0.0).round(2))
            cols["p1"].append(np.round(pv / 2 / 0.975))
            cols["l1"].append(np.full(n, 230.0) + rng.integers(-5, 5, n))
        else:
            ld = np.round(load * (0.7 + 0.6 * rng.random(n)))
            surplus = pv - ld
            chg = np.clip(surplus, 0, 2500) * (rng.random() > 0.1)
            dis = np.clip(-surplus, 0, 2500) * 0.5
            sell = np.clip(surplus - chg, 0, None)
            buy = np.clip(-surplus - dis, 0, None)
            cols["load"].append(ld)
            cols["buy"].append(buy)
            cols["sell"].append(sell)
            cols["chg"].append(chg)
            cols["dis"].append(dis)
            cols["soc"].append(np.clip(50 + np.cumsum(chg - dis) / 200, 10, 100).round())
            cols["self"].append(ld - buy)
            nan = np.full(n, np.nan)
            for k in ("v", "c", "p1", "l1"):
                cols[k].append(nan)
        sn_col.append(d.sn)
        pid_col.append(d.plant_id)
        type_col.append(d.device_type)
        n_col.append(n)
    counts = np.array(n_col)
    rep = lambda values, typ: pa.DictionaryArray.from_arrays(  # noqa: E731
        pa.array(np.repeat(np.arange(len(values), dtype=np.int32), counts)), pa.array(values, typ)
    ).cast(typ)
    cat = {k: np.concatenate(v) for k, v in cols.items()}

    def f64(a):
        return pa.array(a, pa.float64(), from_pandas=True)  # NaN -> null

    total = int(counts.sum())
    samples = pa.table(
        {
            "day": pa.array(np.full(total, (day - date(1970, 1, 1)).days, dtype=np.int32), pa.date32()),
            "device_sn": rep(sn_col, pa.string()),
            "plant_id": rep(pid_col, pa.string()),
            "device_type": rep(type_col, pa.int32()),
            "ts_local": pa.array(cat["local"], pa.timestamp("us")),
            "ts_utc": pa.array(cat["utc"], pa.timestamp("us", tz="UTC")),
            "sample_index": pa.array(cat["seq"]),
            "pv_w": f64(cat["pv"]),
            "load_w": f64(cat["load"]),
            "grid_import_w": f64(cat["buy"]),
            "grid_export_w": f64(cat["sell"]),
            "battery_charge_w": f64(cat["chg"]),
            "battery_discharge_w": f64(cat["dis"]),
            "battery_soc_pct": f64(cat["soc"]),
            "self_use_w": f64(cat["self"]),
            "today_energy_kwh": f64(cat["today"]),
            "pv1_volt": f64(cat["v"]),
            "pv1_curr": f64(cat["c"]),
            "pv1_power_w": f64(cat["p1"]),
            "pv2_volt": f64(cat["v"]),
            "pv2_curr": f64(cat["c"]),
            "pv2_power_w": f64(cat["p1"]),
            "l1_volt": f64(cat["l1"]),
            "time_zone": rep([zone_of[p] for p in pid_col], pa.string()),
            "fetched_at": pa.array(np.full(total, int(FETCHED.timestamp() * 1e6)), pa.timestamp("us", tz="UTC")),
        },
        schema=schemas["stg_device_samples"],
    )

    # load monitors: one per plant that has one, sorted by plant_id, module_sn, ts_utc
    mons = [p for p in plants if p.has_load_monitor]
    m = {k: [] for k in ("utc", "local", "seq", "pv", "load", "buy", "sell")}
    m_counts, m_pid, m_sn, m_zone = [], [], [], []
    for p in mons:
        utc, loc = instants(p.zone)
        n = len(utc)
        sun, load = profile(loc)
        pv = np.round(p.kwp * 1000 * 0.9 * cloud * sun * (0.85 + 0.15 * rng.random(n)))
        ld = np.round(load * (0.7 + 0.6 * rng.random(n)))
        m["utc"].append(utc)
        m["local"].append(loc)
        m["seq"].append(np.arange(1, n + 1, dtype=np.int64))
        m["pv"].append(pv)
        m["load"].append(ld)
        m["buy"].append(np.clip(ld - pv, 0, None))
        m["sell"].append(np.clip(pv - ld, 0, None))
        m_counts.append(n)
        m_pid.append(p.plant_id)
        m_sn.append(f"MON{p.plant_id}")
        m_zone.append(p.zone)
    mc = np.array(m_counts, dtype=np.int64)
    mtotal = int(mc.sum()) if mons else 0
    mcat = {k: (np.concatenate(v) if v else np.array([], dtype=np.float64)) for k, v in m.items()}

    def mrep(values):
        return pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(np.arange(len(values), dtype=np.int32), mc)), pa.array(values, pa.string())
        ).cast(pa.string())

    monitor = pa.table(
        {
            "day": pa.array(np.full(mtotal, (day - date(1970, 1, 1)).days, dtype=np.int32), pa.date32()),
            "plant_id": mrep(m_pid),
            "module_sn": mrep(m_sn),
            "ts_local": pa.array(mcat["local"].astype(np.int64), pa.timestamp("us")),
            "ts_utc": pa.array(mcat["utc"].astype(np.int64), pa.timestamp("us", tz="UTC")),
            "sample_index": pa.array(mcat["seq"].astype(np.int64)),
            "pv_w": f64(mcat["pv"]),
            "load_w": f64(mcat["load"]),
            "self_use_w": f64(mcat["load"] - mcat["buy"]),
            "grid_import_w": f64(mcat["buy"]),
            "grid_export_w": f64(mcat["sell"]),
            "time_zone": mrep(m_zone),
            "fetched_at": pa.array(np.full(mtotal, int(FETCHED.timestamp() * 1e6)), pa.timestamp("us", tz="UTC")),
        },
        schema=schemas["stg_load_monitor_samples"],
    )
    return {
        "stg_plants": stg_plants,
        "stg_devices": stg_devices,
        "stg_device_samples": samples,
        "stg_load_monitor_samples": monitor,
    }


def generate(root: Path, n_devices: int, n_days: int, first_day: date = FIRST_DAY, seed: int = 7, log=print) -> dict:
    """Write the lake under `root` (skipped when a marker says it is already there). Returns a summary."""
    root = Path(root)
    marker = root / f".synth-{n_devices}-{n_days}-{first_day}-{seed}"
    plants = make_fleet(n_devices)
    days = [first_day + timedelta(days=k) for k in range(n_days)]
    if marker.exists():
        return {
            "plants": len(plants),
            "devices": n_devices,
            "days": days,
            "generated_s": None,
            "samples": int(marker.read_text() or 0),
        }
    schemas = _schemas()
    rng = np.random.default_rng(seed)
    cache: dict = {}
    started = time.monotonic()
    samples = 0
    for k, day in enumerate(days):
        for table, data in day_tables(plants, day, schemas, rng, cache).items():
            lakefiles.write_partition(root, "staging", table, day, data)
            if table == "stg_device_samples":
                samples += data.num_rows
        if log and (k + 1) % 50 == 0:
            log(f"  generated {k + 1}/{n_days} days ({time.monotonic() - started:.0f} s)")
    marker.write_text(str(samples))
    return {
        "plants": len(plants),
        "devices": n_devices,
        "days": days,
        "generated_s": round(time.monotonic() - started, 1),
        "samples": samples,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "lake-1000")
    a = ap.parse_args(argv)
    print(generate(a.out, a.devices, a.days) | {"days": a.days})
    return 0


if __name__ == "__main__":
    sys.exit(main())
