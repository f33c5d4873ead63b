"""Benchmark of the warehouse marts over a synthetic conformed lake (see benchmarks/synth_lake.py).

    .venv/bin/python benchmarks/bench_models.py                     # 1, 10, 100, 1000 devices x 365 days (+1)
    .venv/bin/python benchmarks/bench_models.py --sizes 100,1000    # some sizes
    .venv/bin/python benchmarks/bench_models.py --memory-limit 1GB  # the warehouse resource's default

For each fleet size N (devices) it generates, once, 366 days of the conformed layer (vendor 'saj') under
benchmarks/out/lake-N (kept for later runs; regenerated when the conformed schema changes), then measures,
each phase in its own process so that its peak RSS (getrusage ru_maxrss of that process) is its own:

- rebuild: every mart the synthetic lake feeds (all of `assets.marts.MARTS` whose conformed inputs it has:
  plants, devices, device_samples, device_energy_hourly, plant_energy_hourly, self_consumption_daily,
  self_consumption_monthly, plant_statistics_daily, device_day_totals, alarm_history) for the 365 days in one
  go, as a single-run backfill does (`assets.marts.build_mart` with the 365 days, in MARTS order), into a
  fresh warehouse file; then, timed apart, the marts' asset checks (`assets.checks`) over the result, which a
  materialisation also runs and which tell whether the synthetic lake is one the pipeline accepts;
- new day: the same marts for day 366 on top of that history (3 repetitions, median; a repetition replaces
  the day, which is the same work as building it); then the checks once, over the whole tables, as the day's
  materialisation runs them;
- the same new day on a warehouse holding only 30 days of history (the largest size), to show whether one
  day's cost grows with the length of history;
- bare: a bare DuckDB GROUP BY over the same conformed samples Parquet to an hourly table in a database file
  (the least work that produces device_energy_hourly), for the year and for the one day;
- pandas: the hourly model written the usual way (read the columns with pyarrow, groupby, sum), for the
  year (one file at a time, then concatenated) and for the one day.

Only `build_mart`'s own work is in the build times: not the row counts and metadata the Dagster asset adds.
The first build of a process also computes the conformed schemas (`conformed_schema`, cached per process),
as a fresh Dagster run does; it is in the rebuild and in the first repetition of the new day (all runs are
kept). Results: benchmarks/out/models.json (with the machine, the load average at start and end, the
library versions and a fingerprint of the mart SQL measured) and Markdown tables on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
warnings.filterwarnings("ignore")

import synth_lake as synth  # noqa: E402

from pipelines.core.lake import Lake  # noqa: E402

HISTORY_DAYS = 365
SHORT_HISTORY = 30
CAPPED = "1GB"  # the DuckDB memory_limit of the side-by-side capped rebuild (when none is given)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lake_dir(n: int) -> Path:
    return OUT / f"lake-{n}"


def built_marts():
    """The marts whose conformed inputs the synthetic lake provides, in MARTS order (upstream marts first)."""
    from assets.marts import MARTS

    return [m for m in MARTS if set(m.conformed) <= set(synth.TABLES)]


def _days(first: int, count: int):
    return [synth.FIRST_DAY + timedelta(days=k) for k in range(first, first + count)]


def _connect(db: Path, memory_limit: str | None):
    import duckdb

    conn = duckdb.connect(str(db))
    if memory_limit:
        conn.execute(f"SET memory_limit = '{memory_limit}'")
    conn.execute(f"SET temp_directory = '{db.parent / (db.name + '.tmp')}'")
    return conn


def _fresh(db: Path) -> None:
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)


def _build(conn, lake: Lake, days) -> dict[str, float]:
    from assets.marts import build_mart

    seconds = {}
    for mart in built_marts():
        t0 = time.perf_counter()
        build_mart(conn, lake, mart, days)
        seconds[mart.name] = round(time.perf_counter() - t0, 3)
    return seconds


def _checks(conn) -> dict:
    """Every check of the built marts, as the assets run them after their build; seconds and failures."""
    from assets.checks import checks_of, run_check

    seconds, failed = {}, {}
    for mart in built_marts():
        for check in checks_of(mart.name):
            t0 = time.perf_counter()
            result = run_check(conn, check)
            seconds[check.name] = round(time.perf_counter() - t0, 3)
            if not result.passed:
                failed[check.name] = result.description
    return {"seconds": round(sum(seconds.values()), 3), "per_check": seconds, "failed": failed}


# ------------------------------------------------------------------------------------------------
# phases (each runs in its own process: `bench_models.py --phase <name> ...`, prints one JSON line)


def phase_rebuild(n: int, db: Path, history: int, memory_limit: str | None) -> dict:
    _fresh(db)
    conn = _connect(db, memory_limit)
    t0 = time.perf_counter()
    per_mart = _build(conn, Lake(lake_dir(n)), _days(0, history))
    total = time.perf_counter() - t0
    rss_build = peak_rss_mb()
    rows = dict(
        zip(
            ["device_samples", "device_hours", "plant_hours", "plant_days", "alarms"],
            conn.execute(
                "SELECT (SELECT count(*) FROM device_samples), (SELECT count(*) FROM device_energy_hourly), "
                "(SELECT count(*) FROM plant_energy_hourly), (SELECT count(*) FROM self_consumption_daily), "
                "(SELECT count(*) FROM alarm_history)"
            ).fetchone(),
        )
    )
    basis = dict(conn.execute("SELECT energy_basis, count(*) FROM self_consumption_daily GROUP BY ALL").fetchall())
    ml = conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    checks = _checks(conn)
    conn.close()
    return {
        "seconds": round(total, 3),
        "per_mart": per_mart,
        "peak_rss_mb": round(rss_build),
        "checks": checks,
        "peak_rss_with_checks_mb": round(peak_rss_mb()),
        **rows,
        "energy_basis": basis,
        "memory_limit": ml,
        "db_mb": round(db.stat().st_size / 2**20),
    }


def phase_new_day(n: int, db: Path, history: int, memory_limit: str | None, reps: int = 3) -> dict:
    day = _days(history, 1)
    conn = _connect(db, memory_limit)
    lake = Lake(lake_dir(n))
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        per_mart = _build(conn, lake, day)
        runs.append((time.perf_counter() - t0, per_mart))
    rss_build = peak_rss_mb()
    checks = _checks(conn)
    conn.close()
    med = statistics.median(r[0] for r in runs)
    per_mart = min(runs, key=lambda r: abs(r[0] - med))[1]
    return {
        "day": day[0].isoformat(),
        "seconds": round(med, 3),
        "all_runs": [round(r[0], 3) for r in runs],
        "per_mart": per_mart,
        "peak_rss_mb": round(rss_build),
        "checks": checks,
        "peak_rss_with_checks_mb": round(peak_rss_mb()),
    }


# the energies the hourly model sums (as the bare query and the pandas one write it)
ENERGY = ["pv_kwh", "load_kwh", "grid_import_kwh", "grid_export_kwh", "battery_charge_kwh", "battery_discharge_kwh"]
BARE_SQL = f"""
CREATE OR REPLACE TABLE bare_hourly AS
SELECT vendor, device_sn, plant_id, day,
       date_trunc('hour', ts_local)                       AS hour_local,
       ts_utc - (ts_local - date_trunc('hour', ts_local)) AS hour_utc,
       any_value(device_type)                             AS device_type,
       {", ".join(f"sum({c}) AS {c}" for c in ENERGY)},
       count(*)                                           AS samples
FROM read_parquet($paths, hive_partitioning = false)
WHERE source = 'device'
GROUP BY vendor, device_sn, plant_id, day, hour_local, hour_utc
"""


def _sample_files(n: int, days) -> list[str]:
    return [str(p) for p in Lake(lake_dir(n)).conformed_files("samples", days)]


def phase_bare(n: int, db: Path, history: int, memory_limit: str | None, reps: int = 3) -> dict:
    year, one = _sample_files(n, _days(0, history)), _sample_files(n, _days(history, 1))
    _fresh(db)
    conn = _connect(db, memory_limit)
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


PANDAS_COLUMNS = ["vendor", "device_sn", "plant_id", "day", "device_type", "ts_local", "ts_utc"]


def pandas_hourly(path: str):
    """The hourly model as a pandas user would write it for one day file of conformed samples."""
    import pyarrow.parquet as pq

    df = pq.read_table(path, columns=PANDAS_COLUMNS + ENERGY, filters=[("source", "==", "device")]).to_pandas()
    df["hour_local"] = df["ts_local"].dt.floor("h")
    df["hour_utc"] = df["ts_utc"] - (df["ts_local"] - df["hour_local"])
    g = df.groupby(["vendor", "device_sn", "plant_id", "day", "hour_local", "hour_utc"], sort=False, observed=True)
    out = g[ENERGY].sum(min_count=1)
    out["device_type"] = g["device_type"].first()
    out["samples"] = g.size()
    return out.reset_index()


def phase_pandas(n: int, history: int, reps: int = 3) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    parts = [pandas_hourly(p) for p in _sample_files(n, _days(0, history))]
    year = pd.concat(parts, ignore_index=True)
    year_s = time.perf_counter() - t0
    rows = len(year)
    del year, parts
    (one,) = _sample_files(n, _days(history, 1))
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
    }


def run_phase(args: list[str]) -> dict:
    cmd = [sys.executable, "-W", "ignore", str(Path(__file__).resolve()), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - t0, 1)  # with interpreter and imports
    return result


def loadavg() -> list[str]:
    return open("/proc/loadavg").read().split()[:3]


def machine() -> dict:
    import platform

    import dagster
    import duckdb
    import numpy
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
        "pyarrow": pyarrow.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "dagster": dagster.__version__,
        "loadavg_start": loadavg(),
    }


def code_measured() -> dict:
    """What was measured: the commit, and a fingerprint of the mart SQL and assets/marts.py as they were on
    disk (the working tree may differ from the commit)."""
    files = sorted((ROOT / "sql" / "marts").glob("*.sql")) + [ROOT / "assets" / "marts.py"]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:12]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return {"commit": head.stdout.strip() or None, "marts_sql_sha256": digest}


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

    started = time.perf_counter()
    out = OUT / "models.json"
    results = {
        "machine": machine(),
        "code": code_measured(),
        "memory_limit_arg": a.memory_limit,
        "marts": [m.name for m in built_marts()],
        "sizes": {},
    }
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    ml = ["--memory-limit", a.memory_limit] if a.memory_limit else []
    for n in a.sizes:
        log(f"[{n} devices] lake ...")
        t0 = time.perf_counter()
        gen = synth.generate(lake_dir(n), n, HISTORY_DAYS + 1, log=log)
        gen["wall_s"] = round(time.perf_counter() - t0, 1)
        work = OUT / f"wh-{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        db = work / "warehouse.duckdb"
        r = {"lake": gen}
        log(f"[{n} devices] rebuild {HISTORY_DAYS} days ...")
        r["rebuild"] = run_phase(["--phase", "rebuild", "--n", str(n), "--db", str(db), *ml])
        log(f"  {r['rebuild']}")
        r["new_day"] = run_phase(["--phase", "new_day", "--n", str(n), "--db", str(db), *ml])
        log(f"  new day {r['new_day']}")
        r["bare"] = run_phase(["--phase", "bare", "--n", str(n), "--db", str(work / "bare.duckdb"), *ml])
        log(f"  bare {r['bare']}")
        if not a.no_pandas:
            r["pandas"] = run_phase(["--phase", "pandas", "--n", str(n)])
            log(f"  pandas {r['pandas']}")
        if n == max(a.sizes):
            if not a.memory_limit:  # the same rebuild with DuckDB capped, side by side
                dbc = work / "warehouse-capped.duckdb"
                capped = ["--n", str(n), "--db", str(dbc), "--memory-limit", CAPPED]
                r["rebuild_capped"] = run_phase(["--phase", "rebuild", *capped])
                log(f"  rebuild with memory_limit {CAPPED}: {r['rebuild_capped']}")
                r["new_day_capped"] = run_phase(["--phase", "new_day", *capped])
                log(f"  new day with memory_limit {CAPPED}: {r['new_day_capped']}")
                dbc.unlink(missing_ok=True)
            short = ["--n", str(n), "--db", str(work / "warehouse-30.duckdb"), "--history", str(SHORT_HISTORY), *ml]
            r["rebuild_30"] = run_phase(["--phase", "rebuild", *short])
            r["new_day_30"] = run_phase(["--phase", "new_day", *short])
            log(f"  {SHORT_HISTORY}-day history: new day {r['new_day_30']}")
        hourly = r["rebuild"]["per_mart"]["device_energy_hourly"]
        hourly_day = r["new_day"]["per_mart"]["device_energy_hourly"]
        r["ratios"] = {
            "device_energy_hourly_vs_bare_year": round(hourly / r["bare"]["year_seconds"], 2),
            "rebuild_vs_bare_year": round(r["rebuild"]["seconds"] / r["bare"]["year_seconds"], 2),
            "device_energy_hourly_vs_bare_day": round(hourly_day / r["bare"]["day_seconds"], 2),
        }
        if "pandas" in r:
            r["ratios"]["pandas_vs_bare_year"] = round(r["pandas"]["year_seconds"] / r["bare"]["year_seconds"], 2)
            r["ratios"]["pandas_vs_bare_day"] = round(r["pandas"]["day_seconds"] / r["bare"]["day_seconds"], 2)
        results["sizes"][str(n)] = r
        shutil.rmtree(work, ignore_errors=True)
        out.write_text(json.dumps(results, indent=2))  # after each size: a long run stopped keeps what it measured
    results["machine"]["loadavg_end"] = loadavg()
    results["wall_s"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(results, indent=2))
    print(report(results))
    return 0


def _fmt(v, spec: str, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def report(res: dict) -> str:
    lines = [
        "| devices | device samples (year) | rebuild 365 d | peak RSS | checks after it | new day (median of 3) | "
        "checks after new day | bare GROUP BY year | device_energy_hourly / bare | pandas year | bare day | pandas day |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r in res["sizes"].items():
        p = r.get("pandas", {})
        rb, nd, b = r["rebuild"], r["new_day"], r["bare"]
        lines.append(
            f"| {int(n):,} | {rb['device_samples']:,} | {rb['seconds']:.2f} s | {rb['peak_rss_mb']:,} MB | "
            f"{rb['checks']['seconds']:.2f} s | {nd['seconds']:.3f} s | {nd['checks']['seconds']:.2f} s | "
            f"{b['year_seconds']:.2f} s | {r['ratios']['device_energy_hourly_vs_bare_year']} | "
            f"{_fmt(p.get('year_seconds'), '.2f', ' s')} | {b['day_seconds']:.3f} s | {_fmt(p.get('day_seconds'), '.3f', ' s')} |"
        )
    largest = list(res["sizes"])[-1]
    r = res["sizes"][largest]
    lines += [
        "",
        f"Per mart, {largest} devices (s):",
        "",
        "| mart | rebuild 365 d | new day (median run) |",
        "|---|---|---|",
    ]
    for name, secs in r["rebuild"]["per_mart"].items():
        lines.append(f"| {name} | {secs:.2f} | {r['new_day']['per_mart'][name]:.3f} |")
    failed = {n: r["rebuild"]["checks"]["failed"] for n, r in res["sizes"].items() if r["rebuild"]["checks"]["failed"]}
    lines += ["", f"Failed checks: {failed or 'none'}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
