"""Benchmark of ingestion (the raw assets) against the simulator at SAJ's documented rate limits.

    .venv/bin/python benchmarks/bench_ingestion.py                 # the full benchmark (~15 min)
    .venv/bin/python benchmarks/bench_ingestion.py --plants 20     # a quick look

The simulator runs in its own process (`python -m simulator`, limits on, clock frozen at --now) so it never
shares the GIL with the client. Each case materialises the six raw assets into a fresh data dir through
Dagster, as a deployment does:

- day / in-process: one day partition with the in-process executor (steps one after the other, as
  `run.py demo` runs them);
- day / multiprocess: the same day with the multiprocess executor (max_concurrent 4), so raw assets whose
  endpoints have separate limits overlap (the client's limiter is shared across processes through files in
  the cache dir);
- backfill / multiprocess: a 7-day range in one run (the assets' single-run backfill policy);
- client ceiling: the client with its limiter off against the simulator with --no-limits (plant/details
  and uploadData day buckets on 16 threads), requests per second.

Per endpoint it reports calls, the achieved rate over the endpoint's busy period (first to last response
landed, from the raw lake's fetched_at) as a fraction of the documented limit, and the share of requests the
server rejected as too frequent. Results: benchmarks/out/ingestion.json and Markdown on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

NOW = "2025-11-03T12:00:00+00:00"
DAY = date(2025, 11, 1)
RAW = ["raw_plants", "raw_devices", "raw_upload_data", "raw_sec_data", "raw_plant_statistics", "raw_alarms"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Simulator:
    """`python -m simulator` in a child process."""

    def __init__(self, plants: int, seed: int, limits: bool = True, devices: int | None = None):
        self.port = free_port()
        args = [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "simulator",
            "--port",
            str(self.port),
            "--plants",
            str(plants),
            "--seed",
            str(seed),
            "--now",
            NOW,
        ] + ([] if limits else ["--no-limits"])
        args += ["--devices", str(devices)] if devices else []
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        info = {}
        while "appSecret" not in info:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("simulator did not start")
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip().split()[0]
        self.app_id, self.app_secret, self.base_url = info["appId"], info["appSecret"], info["base URL"]
        self.admin = f"http://127.0.0.1:{self.port}/admin"

    def stats(self) -> dict:
        with urllib.request.urlopen(self.admin + "/stats") as r:
            return json.loads(r.read())

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.admin + "/reset", data=b"{}", method="POST")).read()

    def fleet(self) -> dict:
        with urllib.request.urlopen(self.admin + "/fleet") as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def ingestion_job():
    import dagster as dg

    from pipelines.definitions import defs

    job = dg.define_asset_job("bench_raw", selection=dg.AssetSelection.assets(*RAW))
    return dg.Definitions(assets=list(defs.assets), resources=defs.resources, jobs=[job]).get_job_def("bench_raw")


def materialise(data_dir: Path, first: date, last: date, executor: str) -> tuple[bool, float]:
    """The raw assets for [first, last] in one run. Runs in a child process (fresh env and imports)."""
    code = f"""
import sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / "benchmarks")!r})
import dagster as dg
import bench_ingestion as b
instance = dg.DagsterInstance.get()
tags = {{"dagster/asset_partition_range_start": {first.isoformat()!r}, "dagster/asset_partition_range_end": {last.isoformat()!r}}}
keys = [dg.AssetKey(a) for a in b.RAW]
run_config = {{"loggers": {{"console": {{"config": {{"log_level": "ERROR"}}}}}}}}
if {executor!r} == "multiprocess":
    run_config["execution"] = {{"config": {{"multiprocess": {{"max_concurrent": 4}}}}}}
else:
    run_config["execution"] = {{"config": {{"in_process": {{}}}}}}
t0 = time.perf_counter()
with dg.execute_job(dg.reconstructable(b.ingestion_job), instance=instance, run_config=run_config, tags=tags,
                    raise_on_error=False) as result:
    ok = result.success
print("RESULT", ok, time.perf_counter() - t0)
"""
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT"):
            _, ok, secs = line.split()
            return ok == "True", float(secs)
    raise RuntimeError(f"run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def endpoint_rates(data_dir: Path) -> dict:
    import duckdb

    from pipelines.ratelimit import documented_qps

    glob = str(data_dir / "lake" / "raw" / "*" / "date=*" / "data.parquet")
    rows = duckdb.sql(
        f"""SELECT endpoint, count(*) AS calls, count(DISTINCT request_params) AS distinct_params,
                   epoch(max(fetched_at)) - epoch(min(fetched_at)) AS busy_s
            FROM (SELECT DISTINCT endpoint, request_params, fetched_at FROM read_parquet('{glob}'))
            GROUP BY endpoint ORDER BY endpoint"""
    ).fetchall()
    out = {}
    for endpoint, calls, distinct_params, busy in rows:
        limit = documented_qps(endpoint)
        rate = (calls - 1) / busy if busy and calls > 1 else None
        out[endpoint] = {
            "calls": calls,
            "distinct_params": distinct_params,
            "busy_s": round(busy, 2),
            "rate_qps": round(rate, 2) if rate else None,
            "limit_qps": limit,
            "fraction_of_limit": round(rate / limit, 3) if rate and limit else None,
        }
    return out


def run_case(sim: Simulator, name: str, first: date, last: date, executor: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"ingest-{name}-", dir=OUT))
    home = work / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env_backup = dict(os.environ)
    os.environ.update(
        SAJ_APP_ID=sim.app_id,
        SAJ_APP_SECRET=sim.app_secret,
        SAJ_BASE_URL=sim.base_url,
        SAJ_DATA_DIR=str(work / "data"),
        DAGSTER_HOME=str(home),
    )
    sim.reset()
    try:
        ok, secs = materialise(work / "data", first, last, executor)
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    st = sim.stats()
    per = endpoint_rates(work / "data")
    for ep, r in per.items():
        req = st["requests"].get(ep, 0)
        rej = st["rejected_rate"].get(ep, 0)
        r.update(server_requests=req, rejected=rej, rejected_pct=round(100 * rej / req, 2) if req else 0.0)
    req_all = sum(v for k, v in st["requests"].items() if k != "access_token")
    rej_all = sum(st["rejected_rate"].values())
    shutil.rmtree(work, ignore_errors=True)
    return {
        "ok": ok,
        "seconds": round(secs, 1),
        "days": (last - first).days + 1,
        "executor": executor,
        "requests": req_all,
        "rejected": rej_all,
        "rejected_pct": round(100 * rej_all / req_all, 2) if req_all else 0,
        "endpoints": per,
    }


def client_ceiling(plants: int, seed: int, seconds: float = 10.0, threads: int = 16) -> dict:
    """Requests per second of the client with no limits on either side; the simulator in another process."""
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.client import SajClient

    sim = Simulator(plants, seed, limits=False)
    try:
        cache = Path(tempfile.mkdtemp(prefix="ceiling-", dir=OUT))
        out = {}
        with SajClient(
            sim.app_id, sim.app_secret, sim.base_url, cache, rate_limit=False, max_workers=threads
        ) as client:
            ids = [str(r["plantId"]) for page in client.plant_page() for r in page.rows]
            sns = [r["deviceSn"] for page in client.device_page() for r in page.rows]
            cases = {
                "plant/details": lambda i: client.plant_details(ids[i % len(ids)]),
                "device/uploadData (day bucket)": lambda i: client.upload_data(sns[i % len(sns)], DAY, DAY, 1),
                "device/uploadData (minute day)": lambda i: client.upload_data(
                    sns[i % len(sns)], f"{DAY} 00:00:00", f"{DAY} 23:59:59", 0
                ),
            }
            for label, fn in cases.items():
                for n_threads in (1, threads):
                    done = 0
                    t0 = time.perf_counter()
                    with ThreadPoolExecutor(n_threads) as pool:
                        while time.perf_counter() - t0 < seconds:
                            list(pool.map(fn, range(done, done + 8 * n_threads)))
                            done += 8 * n_threads
                    out[f"{label}, {n_threads} thread(s)"] = round(done / (time.perf_counter() - t0), 1)
        shutil.rmtree(cache, ignore_errors=True)
        return out
    finally:
        sim.stop()


def machine() -> dict:
    import platform

    import duckdb

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem / 2**20, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plants", type=int, default=200)
    ap.add_argument("--devices", type=int, default=400, help="devices in all (0: the simulator's usual mix)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--backfill-days", type=int, default=7)
    ap.add_argument(
        "--skip", default="", help="comma-separated cases to skip: day_in_process, day_multiprocess, backfill, ceiling"
    )
    a = ap.parse_args(argv)
    skip = set(filter(None, a.skip.split(",")))
    OUT.mkdir(parents=True, exist_ok=True)
    res = {"machine": machine(), "plants": a.plants, "devices": a.devices, "now": NOW, "cases": {}}
    sim = Simulator(a.plants, a.seed, devices=a.devices)
    try:
        fleet = sim.fleet()
        plants = fleet.get("plants", [])
        res["fleet"] = {
            "plants": len(plants),
            "devices": sum(len(p.get("devices", [])) for p in plants if isinstance(p, dict)),
            "load_monitors": sum(bool(p.get("has_load_monitor")) for p in plants if isinstance(p, dict)),
        }
        print(f"fleet: {res['fleet']}", file=sys.stderr)
        first = DAY - timedelta(days=a.backfill_days - 1)
        cases = [
            ("day_in_process", DAY, DAY, "in_process"),
            ("day_multiprocess", DAY, DAY, "multiprocess"),
            ("backfill", first, DAY, "multiprocess"),
        ]
        for name, d0, d1, executor in cases:
            if name in skip:
                continue
            print(f"{name}: {d0}..{d1} ({executor}) ...", file=sys.stderr)
            res["cases"][name] = run_case(sim, name, d0, d1, executor)
            c = res["cases"][name]
            print(f"  {c['seconds']} s, ok={c['ok']}, rejected {c['rejected_pct']} %", file=sys.stderr)
            for ep, r in c["endpoints"].items():
                print(f"    {ep}: {r}", file=sys.stderr)
    finally:
        sim.stop()
    if "ceiling" not in skip:
        res["client_ceiling_rps"] = client_ceiling(a.plants, a.seed)
        print(f"ceiling: {res['client_ceiling_rps']}", file=sys.stderr)
    res["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    (OUT / "ingestion.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
