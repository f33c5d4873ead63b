"""Benchmark of the warehouse models over a synthetic staging lake (see benchmarks/synth_lake.py).

    .venv/bin/python benchmarks/bench_models.py                 # 1, 10, 100, 1000 devices x 365 days (+1)
    .venv/bin/python benchmarks/bench_models.py --sizes 100     # one size
    .venv/bin/python benchmarks/bench_models.py --memory-limit 1GB

For each fleet size N (devices) it generates, once, 366 days of staging Parquet under
benchmarks/out/lake-N (kept for later runs), then measures, each phase in its own process so that its
peak RSS (getrusage ru_maxrss of that process) is its own:

- rebuild: every mart the synthetic staging feeds (plants, devices, device_samples, device_energy_hourly,
  plant_energy_hourly, self_consumption_daily, self_consumption_monthly) for the 365 days in one go, as a
  single-run backfill does (`assets.marts.build_mart` with the 365 days), into a fresh warehouse file;
- new day: the same marts for day 366 on top of that history (3 repetitions, median; a repetition replaces
  the day, which is the same work as building it);
- the same new day on a warehouse holding only 30 days of history (1,000 devices), to show one day's cost
  does not grow with the length of history;
- bare: a bare DuckDB GROUP BY over the same staging Parquet to an hourly table in a database file (the
  least work that produces device_energy_hourly), for the year and for the one day;
- pandas: the hourly model written the usual way (read the columns with pyarrow, groupby, sum), for the
  year (one file at a time, then concatenated) and for the one day.

Results: benchmarks/out/models.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

HISTORY_DAYS = 365
CAPPED = "1GB"  # the DuckDB memory_limit of the side-by-side capped rebuild
BUILT_MARTS = [
    "plants",
    "devices",
    "device_samples",
    "device_energy_hourly",
    "plant_energy_hourly",
    "self_consumption_daily",
    "self_consumption_monthly",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lake_dir(n: int) -> Path:
    return OUT / f"lake-{n}"


def _synth():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import synth_lake

    return synth_lake


def _connect(db: Path, memory_limit: str | None, threads: int | None):
    import duckdb

    conn = duckdb.connect(str(db))
    if memory_limit:
        conn.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        conn.execute(f"SET threads = {int(threads)}")
    conn.execute(f"SET temp_directory = '{db.parent / (db.name + '.tmp')}'")
    return conn


def _build(conn, root: Path, days: list[date]) -> dict[str, float]:
    from assets.marts import MARTS, build_mart

    marts = {m.name: m for m in MARTS}
    seconds = {}
    for name in BUILT_MARTS:
        t0 = time.perf_counter()
        build_mart(conn, root, marts[name], days)
        seconds[name] = round(time.perf_counter() - t0, 3)
    return seconds


# ------------------------------------------------------------------------------------------------
# phases (each runs in its own process: `bench_models.py --phase <name> ...`, prints one JSON line)


def phase_rebuild(n: int, db: Path, history: int, memory_limit: str | None) -> dict:
    synth = _synth()
    days = [synth.FIRST_DAY + timedelta(days=k) for k in range(history)]
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    conn = _connect(db, memory_limit, None)
    t0 = time.perf_counter()
    per_mart = _build(conn, lake_dir(n), days)
    total = time.perf_counter() - t0
    rows = conn.execute(
        "SELECT (SELECT count(*) FROM device_samples), (SELECT count(*) FROM device_energy_hourly), "
        "(SELECT count(*) FROM plant_energy_hourly)"
    ).fetchone()
    ml = conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    conn.close()
    return {
        "seconds": round(total, 3),
        "per_mart": per_mart,
        "peak_rss_mb": round(peak_rss_mb()),
        "device_samples": rows[0],
        "device_hours": rows[1],
        "plant_hours": rows[2],
        "memory_limit": ml,
        "db_mb": round(db.stat().st_size / 2**20),
    }


def phase_new_day(n: int, db: Path, history: int, memory_limit: str | None, reps: int = 3) -> dict:
    synth = _synth()
    day = synth.FIRST_DAY + timedelta(days=history)
    conn = _connect(db, memory_limit, None)
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        per_mart = _build(conn, lake_dir(n), [day])
        runs.append((time.perf_counter() - t0, per_mart))
    conn.close()
    med = statistics.median(r[0] for r in runs)
    per_mart = min(runs, key=lambda r: abs(r[0] - med))[1]
    return {
        "day": day.isoformat(),
        "seconds": round(med, 3),
        "all_runs": [round(r[0], 3) for r in runs],
        "per_mart": per_mart,
        "peak_rss_mb": round(peak_rss_mb()),
    }


BARE_SQL = """
CREATE OR REPLACE TABLE bare_hourly AS
SELECT device_sn, plant_id, day,
       date_trunc('hour', ts_local)                       AS hour_local,
       ts_utc - (ts_local - date_trunc('hour', ts_local)) AS hour_utc,
       any_value(device_type)                             AS device_type,
       sum(pv_w) * 5.0 / 60.0 / 1000.0                    AS pv_kwh,
       sum(load_w) * 5.0 / 60.0 / 1000.0                  AS load_kwh,
       sum(grid_import_w) * 5.0 / 60.0 / 1000.0           AS grid_import_kwh,
       sum(grid_export_w) * 5.0 / 60.0 / 1000.0           AS grid_export_kwh,
       sum(battery_charge_w) * 5.0 / 60.0 / 1000.0        AS battery_charge_kwh,
       sum(battery_discharge_w) * 5.0 / 60.0 / 1000.0     AS battery_discharge_kwh,
       count(*)                                           AS samples
FROM read_parquet($paths)
GROUP BY ALL
"""


def phase_bare(n: int, db: Path, history: int, memory_limit: str | None, reps: int = 3) -> dict:
    synth = _synth()
    from pipelines import lake

    root = lake_dir(n)
    year = [
        str(lake.partition_path(root, "staging", "stg_device_samples", synth.FIRST_DAY + timedelta(days=k)))
        for k in range(history)
    ]
    one = [str(lake.partition_path(root, "staging", "stg_device_samples", synth.FIRST_DAY + timedelta(days=history)))]
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    conn = _connect(db, memory_limit, None)
    t0 = time.perf_counter()
    conn.execute(BARE_SQL, {"paths": year})
    year_s = time.perf_counter() - t0
    rows = conn.execute("SELECT count(*) FROM bare_hourly").fetchone()[0]
    day_runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        conn.execute(BARE_SQL, {"paths": one})
        day_runs.append(time.perf_counter() - t0)
    conn.close()
    return {
        "year_seconds": round(year_s, 3),
        "rows": rows,
        "day_seconds": round(statistics.median(day_runs), 3),
        "peak_rss_mb": round(peak_rss_mb()),
    }


PANDAS_COLUMNS = [
    "device_sn",
    "plant_id",
    "day",
    "device_type",
    "ts_local",
    "ts_utc",
    "pv_w",
    "load_w",
    "grid_import_w",
    "grid_export_w",
    "battery_charge_w",
    "battery_discharge_w",
]
ENERGY = ["pv_w", "load_w", "grid_import_w", "grid_export_w", "battery_charge_w", "battery_discharge_w"]


def pandas_hourly(path: str):
    """The hourly model as a pandas user would write it for one staging file."""
    import pyarrow.parquet as pq

    df = pq.read_table(path, columns=PANDAS_COLUMNS).to_pandas()
    df["hour_local"] = df["ts_local"].dt.floor("h")
    df["hour_utc"] = df["ts_utc"] - (df["ts_local"] - df["hour_local"])
    g = df.groupby(["device_sn", "plant_id", "day", "hour_local", "hour_utc"], sort=False, observed=True)
    out = g[ENERGY].sum(min_count=1) * (5.0 / 60.0 / 1000.0)
    out["device_type"] = g["device_type"].first()
    out["samples"] = g.size()
    return out.reset_index()


def phase_pandas(n: int, history: int, reps: int = 3) -> dict:
    import pandas as pd

    synth = _synth()
    from pipelines import lake

    root = lake_dir(n)
    t0 = time.perf_counter()
    parts = [
        pandas_hourly(
            str(lake.partition_path(root, "staging", "stg_device_samples", synth.FIRST_DAY + timedelta(days=k)))
        )
        for k in range(history)
    ]
    year = pd.concat(parts, ignore_index=True)
    year_s = time.perf_counter() - t0
    rows = len(year)
    del year, parts
    one = str(lake.partition_path(root, "staging", "stg_device_samples", synth.FIRST_DAY + timedelta(days=history)))
    day_runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        pandas_hourly(one)
        day_runs.append(time.perf_counter() - t0)
    return {
        "year_seconds": round(year_s, 3),
        "rows": rows,
        "day_seconds": round(statistics.median(day_runs), 3),
        "peak_rss_mb": round(peak_rss_mb()),
        "pandas": pd.__version__,
    }


def run_phase(args: list[str]) -> dict:
    cmd = [sys.executable, "-W", "ignore", str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    import platform

    import duckdb
    import pandas
    import pyarrow

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem / 2**20, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 100, 1000])
    ap.add_argument(
        "--memory-limit",
        default=None,
        help="DuckDB memory_limit for the warehouse connection (default: DuckDB's own, 80%% of RAM)",
    )
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--history", type=int, default=HISTORY_DAYS, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.phase:
        fn = {
            "rebuild": lambda: phase_rebuild(a.n, a.db, a.history, a.memory_limit),
            "new_day": lambda: phase_new_day(a.n, a.db, a.history, a.memory_limit),
            "bare": lambda: phase_bare(a.n, a.db, a.history, a.memory_limit),
            "pandas": lambda: phase_pandas(a.n, a.history),
        }[a.phase]
        print(json.dumps(fn()))
        return 0

    synth = _synth()
    results = {"machine": machine(), "memory_limit_arg": a.memory_limit, "sizes": {}}
    ml = ["--memory-limit", a.memory_limit] if a.memory_limit else []
    for n in a.sizes:
        gen = synth.generate(lake_dir(n), n, HISTORY_DAYS + 1, log=lambda m: print(m, file=sys.stderr))
        work = OUT / f"wh-{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        db = work / "warehouse.duckdb"
        print(f"[{n} devices] rebuild {HISTORY_DAYS} days ...", file=sys.stderr)
        r = {"plants": gen["plants"], "samples_total": gen["samples"]}
        r["rebuild"] = run_phase(["--phase", "rebuild", "--n", str(n), "--db", str(db), *ml])
        print(f"  {r['rebuild']}", file=sys.stderr)
        r["new_day"] = run_phase(["--phase", "new_day", "--n", str(n), "--db", str(db), *ml])
        print(f"  new day {r['new_day']}", file=sys.stderr)
        r["bare"] = run_phase(["--phase", "bare", "--n", str(n), "--db", str(work / "bare.duckdb"), *ml])
        print(f"  bare {r['bare']}", file=sys.stderr)
        if not a.no_pandas:
            r["pandas"] = run_phase(["--phase", "pandas", "--n", str(n)])
            print(f"  pandas {r['pandas']}", file=sys.stderr)
        if n == max(a.sizes):
            if not a.memory_limit:  # the same rebuild with DuckDB capped, side by side
                dbc = work / "warehouse-capped.duckdb"
                r["rebuild_capped"] = run_phase(
                    ["--phase", "rebuild", "--n", str(n), "--db", str(dbc), "--memory-limit", CAPPED]
                )
                print(f"  rebuild with memory_limit {CAPPED}: {r['rebuild_capped']}", file=sys.stderr)
                r["new_day_capped"] = run_phase(
                    ["--phase", "new_day", "--n", str(n), "--db", str(dbc), "--memory-limit", CAPPED]
                )
                print(f"  new day with memory_limit {CAPPED}: {r['new_day_capped']}", file=sys.stderr)
                dbc.unlink(missing_ok=True)
            db30 = work / "warehouse-30.duckdb"
            r["rebuild_30"] = run_phase(
                ["--phase", "rebuild", "--n", str(n), "--db", str(db30), "--history", "30", *ml]
            )
            r["new_day_30"] = run_phase(
                ["--phase", "new_day", "--n", str(n), "--db", str(db30), "--history", "30", *ml]
            )
            print(f"  30-day history: new day {r['new_day_30']}", file=sys.stderr)
        hourly = r["rebuild"]["per_mart"]["device_samples"] + r["rebuild"]["per_mart"]["device_energy_hourly"]
        hourly_day = r["new_day"]["per_mart"]["device_samples"] + r["new_day"]["per_mart"]["device_energy_hourly"]
        r["ratios"] = {
            "hourly_path_vs_bare_year": round(hourly / r["bare"]["year_seconds"], 2),
            "device_energy_hourly_vs_bare_year": round(
                r["rebuild"]["per_mart"]["device_energy_hourly"] / r["bare"]["year_seconds"], 2
            ),
            "rebuild_vs_bare_year": round(r["rebuild"]["seconds"] / r["bare"]["year_seconds"], 2),
            "hourly_path_vs_bare_day": round(hourly_day / r["bare"]["day_seconds"], 2),
        }
        if "pandas" in r:
            r["ratios"]["pandas_vs_bare_year"] = round(r["pandas"]["year_seconds"] / r["bare"]["year_seconds"], 2)
            r["ratios"]["hourly_path_vs_pandas_year"] = round(hourly / r["pandas"]["year_seconds"], 2)
            r["ratios"]["pandas_vs_bare_day"] = round(r["pandas"]["day_seconds"] / r["bare"]["day_seconds"], 2)
        results["sizes"][str(n)] = r
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    out = OUT / "models.json"
    out.write_text(json.dumps(results, indent=2))
    print(report(results))
    return 0


def report(res: dict) -> str:
    lines = [
        "| devices | samples (year) | rebuild 365 d | peak RSS | new day | bare GROUP BY year | hourly path / bare | "
        "pandas year | bare day | pandas day |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r in res["sizes"].items():
        p = r.get("pandas", {})
        lines.append(
            f"| {n} | {r['rebuild']['device_samples']:,} | {r['rebuild']['seconds']:.2f} s | {r['rebuild']['peak_rss_mb']} MB | "
            f"{r['new_day']['seconds']:.3f} s | {r['bare']['year_seconds']:.2f} s | {r['ratios']['hourly_path_vs_bare_year']} | "
            f"{p.get('year_seconds', float('nan')):.2f} s | {r['bare']['day_seconds']:.3f} s | {p.get('day_seconds', float('nan')):.3f} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
