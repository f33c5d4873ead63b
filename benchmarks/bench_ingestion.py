"""Ingestion against SAJ's documented limits: how close a run comes to the floor the API's limits set.

    .venv/bin/python benchmarks/bench_ingestion.py --case intraday --plants 100 --devices 200
    .venv/bin/python benchmarks/bench_ingestion.py --case day --plants 1000 --devices 2000
    .venv/bin/python benchmarks/bench_ingestion.py --case cli            # the README's one-day CLI backfill, demo fleet

The simulator runs in its own process (`python -m simulator saj`, limits on) so it never shares the GIL with the
pipeline, on the real clock: the pipeline tells today and what may be asked by the wall clock, so a simulator
frozen at another date would make an intraday refresh look like an ended day (every alarm detail asked). A case
runs the whole graph (raw -> staging -> conformed -> marts, with checks) in one Dagster run, as the schedules
do, in a fresh data dir:

- intraday: every plant's local today (the intraday schedule's range). A first run establishes the state a
  15-minute schedule runs in (the fleet snapshot, the alarms landed by the tick before), then the measured run;
- day: an ended day (the daily catch-up), the fleet snapshot already taken;
- cli: `dagster asset materialize -m pipelines.definitions --select '*' --partition D` for the demo fleet (8 plants),
  timed from the command's start to its end, process start-up included.

The floor is computed from the calls the data needs, not from what the run made: for each endpoint, those calls
/ (0.95 x its documented limit); the floor is the largest. Needed: the plant and device pages (the fleet's details
come from the snapshot), two uploadData per inverter (its minute data and its day total), one secData per plant
with a load monitor, one getPlantStatisticsData per plant, two alarmList, and getDeviceAlarmList where the alarm
history needs it: the open alarms of each device with one pending, the recovered ones of each device with a closed
alarm in the 90-day window (an ended day) or with one that started and closed today (the intraday refresh; from
the simulator's truth). The calls actually made per endpoint are printed beside them, and where the run's seconds went (each layer's
steps, from Dagster's event log, and what no step accounts for: the run's start and end); the last line reads
`<case>: measured <s> s, floor <s> s, ratio <r>`. Results: benchmarks/out/ingestion-<case>-<plants>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
sys.path.insert(0, str(ROOT))

from tests.cli import materialize  # noqa: E402

NOW = datetime.now(timezone.utc).replace(microsecond=0)  # the simulator's clock is the real one too
SAFETY = 0.95


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Simulator:
    """`python -m simulator saj` in a child process."""

    def __init__(self, plants: int, seed: int, devices: int | None = None):
        self.port = free_port()
        args = [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "simulator",
            "saj",
            "--port",
            str(self.port),
            "--plants",
            str(plants),
            "--seed",
            str(seed),
            "--start-date",  # a short history: the truth of a day costs its history's length (lifetime counters)
            (NOW.date() - timedelta(days=120)).isoformat(),
        ]
        args += ["--devices", str(devices)] if devices else []
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        info: dict[str, str] = {}
        while "appSecret" not in info:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("simulator did not start")
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip().split()[0]
        self.app_id, self.app_secret, self.base_url = info["appId"], info["appSecret"], info["base URL"]
        self.admin = f"http://127.0.0.1:{self.port}/admin"

    def get(self, path: str):
        with urllib.request.urlopen(self.admin + path, timeout=600) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.admin + "/reset", data=b"{}", method="POST")).read()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def local_days(fleet: dict) -> list[date]:
    """Every plant's local date at NOW (the intraday schedule's range at NOW, settle time aside)."""
    return sorted({NOW.astimezone(ZoneInfo(p["time_zone"])).date() for p in fleet["plants"]})


def needed_calls(fleet: dict, alarms: list[dict], day: date, intraday: bool) -> dict[str, int]:
    """The calls the data of `day` needs, per endpoint (see the module docstring)."""
    plants = fleet["plants"]
    devices = {d["sn"]: p for p in plants for d in p["devices"]}
    zone = {p["plant_id"]: ZoneInfo(p["time_zone"]) for p in plants}
    window_start = datetime.combine(day - timedelta(days=89), datetime.min.time())
    pending, recovered = set(), set()
    for a in alarms:
        if a["device_sn"] not in devices:
            continue
        start = datetime.fromisoformat(a["started_at"]).astimezone(zone[a["plant_id"]]).replace(tzinfo=None)
        if a["ended_at"] is None:
            pending.add(a["device_sn"])
        elif window_start <= start and start.date() <= day and (not intraday or start.date() == day):
            recovered.add(a["device_sn"])
    return {
        "developer/plant/page": math.ceil(len(plants) / 100),
        "developer/device/page": math.ceil(len(devices) / 100),
        "device/uploadData": 2 * len(devices),
        "device/secData": sum(1 for p in plants if p["has_load_monitor"]),
        "plant/getPlantStatisticsData": len(plants),
        "device/alarmList": 2,
        "device/getDeviceAlarmList": len(pending) + len(recovered),
    }


def floor_seconds(needed: dict[str, int]) -> dict[str, float]:
    from pipelines.sources.saj.settings import DEFAULT_QPS, DOCUMENTED_QPS

    return {e: n / (SAFETY * (DOCUMENTED_QPS.get(e) or DEFAULT_QPS)) for e, n in needed.items()}


def run_graph(env: dict, first: date, last: date) -> tuple[bool, float, str, dict[str, float]]:
    """The whole graph for [first, last] in one run, in a child process (fresh imports); (ok, seconds, errors,
    seconds per step from Dagster's event log)."""
    code = f"""
import json, time, warnings
warnings.filterwarnings("ignore")
import dagster as dg
from pipelines.definitions import defs
instance = dg.DagsterInstance.get()
t0 = time.perf_counter()
result = defs.resolve_job_def("fleet_refresh").execute_in_process(
    instance=instance, raise_on_error=False,
    run_config={{"loggers": {{"console": {{"config": {{"log_level": "ERROR"}}}}}}}},
    tags={{"dagster/asset_partition_range_start": {first.isoformat()!r},
          "dagster/asset_partition_range_end": {last.isoformat()!r}}})
seconds = time.perf_counter() - t0
steps = {{s.step_key: s.end_time - s.start_time for s in instance.get_run_step_stats(result.run_id)}}
print("STEPS", json.dumps(steps))
print("RESULT", result.success, seconds)
"""
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    steps = {}
    for line in proc.stdout.splitlines():
        if line.startswith("STEPS"):
            steps = json.loads(line.split(" ", 1)[1])
        if line.startswith("RESULT"):
            _, ok, secs = line.split()
            return ok == "True", float(secs), "" if ok == "True" else proc.stderr[-3000:], steps
    raise RuntimeError(f"run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def layer_of(step_key: str) -> str:
    """The graph's layer a step belongs to, from its key (`saj_raw`, `saj__stg_plants`, `conformed__samples`,
    `plant_energy_hourly`)."""
    if "raw" in step_key:
        return "raw"
    if "__stg_" in step_key:
        return "staging"
    return "conformed" if step_key.startswith("conformed__") else "marts"


def breakdown(seconds: float, steps: dict[str, float]) -> dict[str, float]:
    """Where a run's seconds went: each layer's steps, and what no step accounts for (the run's start and end)."""
    layers = {layer: 0.0 for layer in ("raw", "staging", "conformed", "marts")}
    for key, secs in steps.items():
        layers[layer_of(key)] += secs
    layers["outside steps"] = seconds - sum(layers.values())
    return {k: round(v, 1) for k, v in layers.items()}


def environment(sim: Simulator, work: Path, start: date) -> dict:
    home = work / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **os.environ,
        "SAJ_APP_ID": sim.app_id,
        "SAJ_APP_SECRET": sim.app_secret,
        "SAJ_BASE_URL": sim.base_url,
        "FLEET_DATA_DIR": str(work / "data"),
        "FLEET_START_DATE": start.isoformat(),
        "DAGSTER_HOME": str(home),
    }


def report(case: str, sim: Simulator, seconds: float, needed: dict[str, int], steps: dict[str, float]) -> dict:
    st = sim.get("/stats")
    floors = floor_seconds(needed)
    floor = max(floors.values())
    rows = []
    for endpoint in sorted(set(needed) | {e for e in st["requests"] if e != "access_token"}):
        made = st["requests"].get(endpoint, 0)
        rows.append(
            {
                "endpoint": endpoint,
                "needed": needed.get(endpoint, 0),
                "made": made,
                "floor_s": round(floors.get(endpoint, 0.0), 1),
                "rejected": st["rejected_rate"].get(endpoint, 0),
            }
        )
    requests = sum(r["made"] for r in rows)
    rejected = sum(r["rejected"] for r in rows)
    print(f"\n{'endpoint':32} {'needed':>7} {'made':>7} {'floor s':>8} {'rejected':>9}")
    for r in rows:
        print(f"{r['endpoint']:32} {r['needed']:7} {r['made']:7} {r['floor_s']:8.1f} {r['rejected']:9}")
    print(
        f"requests {requests}, rejected for rate {rejected} ({100 * rejected / max(requests, 1):.2f} %), "
        f"tokens issued {st['tokens_issued']}"
    )
    layers = breakdown(seconds, steps)
    print(f"seconds by layer ({len(steps)} steps): " + ", ".join(f"{k} {v}" for k, v in layers.items()))
    ratio = seconds / floor
    print(f"{case}: measured {seconds:.1f} s, floor {floor:.1f} s, ratio {ratio:.2f}")
    return {
        "seconds": round(seconds, 1),
        "floor_s": round(floor, 1),
        "ratio": round(ratio, 3),
        "endpoints": rows,
        "requests": requests,
        "rejected": rejected,
        "tokens_issued": st["tokens_issued"],
        "seconds_by_layer": layers,
        "seconds_by_step": {k: round(v, 2) for k, v in sorted(steps.items(), key=lambda kv: -kv[1])},
    }


def run_case(case: str, plants: int, devices: int | None, seed: int) -> dict:
    sim = Simulator(plants, seed, devices)
    try:
        fleet = sim.get("/fleet")
        alarms = sim.get("/truth/alarms")
        work = Path(tempfile.mkdtemp(prefix=f"ingest-{case}-", dir=OUT))
        if case == "intraday":
            days = local_days(fleet)
            env = environment(sim, work, days[0] - timedelta(days=1))
            ok, _, err, _ = run_graph(env, days[0], days[-1])  # the tick before: snapshot, alarms landed
            assert ok, err
        else:
            days = [NOW.date() - timedelta(days=2)]
            env = environment(sim, work, days[0] - timedelta(days=1))
            code = (
                "import warnings; warnings.filterwarnings('ignore'); import dagster as dg; "
                "from pipelines.definitions import defs; "
                "defs.resolve_implicit_global_asset_job_def().execute_in_process("
                f"partition_key={str(days[0])!r}, instance=dg.DagsterInstance.get(), asset_selection="
                "[dg.AssetKey(['saj', 'raw_plants']), dg.AssetKey(['saj', 'raw_devices'])])"
            )
            subprocess.run(
                [sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True
            )  # the fleet snapshot, taken before
        needed: dict[str, int] = {}
        for day in days:
            for endpoint, n in needed_calls(fleet, alarms, day, case == "intraday").items():
                needed[endpoint] = needed.get(endpoint, 0) + n
        for page in ("developer/plant/page", "developer/device/page"):  # once per run, whatever the range
            needed[page] = math.ceil(needed[page] / len(days))
        sim.reset()
        ok, seconds, err, steps = run_graph(env, days[0], days[-1])
        assert ok, err
        out = report(case, sim, seconds, needed, steps)
        out.update(
            days=[d.isoformat() for d in days],
            plants=len(fleet["plants"]),
            devices=sum(len(p["devices"]) for p in fleet["plants"]),
        )
        return out
    finally:
        sim.stop()


def run_cli(seed: int) -> dict:
    """The README's CLI backfill of one day for the demo fleet (8 plants), timed as a user would."""
    sim = Simulator(8, seed)
    try:
        work = Path(tempfile.mkdtemp(prefix="ingest-cli-", dir=OUT))
        day = NOW.date() - timedelta(days=1)
        env = environment(sim, work, day - timedelta(days=6))
        t0 = time.perf_counter()
        done = materialize("*", "--partition", day.isoformat(), env=env)
        seconds = time.perf_counter() - t0
        assert done.returncode == 0, done.stderr[-3000:]
        steps = done.stderr.count("STEP_SUCCESS")
        print(f"cli: one-day backfill of 8 plants in {seconds:.1f} s ({steps} steps, one process)")
        return {"seconds": round(seconds, 1), "steps": steps, "day": day.isoformat()}
    finally:
        sim.stop()


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return {"nproc": os.cpu_count(), "cpu": cpu, "loadavg": open("/proc/loadavg").read().split()[:3]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=["intraday", "day", "cli"], required=True)
    ap.add_argument("--plants", type=int, default=100)
    ap.add_argument("--devices", type=int, default=200, help="devices in all (0: the simulator's usual mix)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if a.case == "cli":
        res = run_cli(a.seed)
    else:
        res = run_case(a.case, a.plants, a.devices or None, a.seed)
    res["machine"] = machine()
    name = f"ingestion-{a.case}" + ("" if a.case == "cli" else f"-{a.plants}")
    (OUT / f"{name}.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
