"""What the stand-ins cost: the pipeline's tests and the demo walk days of calls, so a call must stay cheap.

    .venv/bin/python benchmarks/bench_simulator.py

- fleet-year: build a 6-plant fleet and a year of its truth (CPU seconds, one run);
- saj-<endpoint>: a whole day of one device from each SAJ minute endpoint, over HTTP (median of 5, warm);
- sma-<set>: a device day of each SMA measurement set, the server's work without HTTP (best of 3 uncached days);
- solax-poll: one realtimeInfo poll, the server's work without HTTP (median and p95 over 30 rounds x 6 dongles).

Results: benchmarks/out/simulator.json. The servers run without rate limits; the clock is frozen.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import Faults, Fleet, SimulatorServer  # noqa: E402
from simulator.sma import SmaServer  # noqa: E402
from simulator.solax import SolaxServer  # noqa: E402
from tests.simulator.saj.client import Api  # noqa: E402
from tests.simulator.sma.conftest import Sma  # noqa: E402

NOW = datetime(2025, 11, 3, 12, 0, tzinfo=timezone.utc)
DAY = date(2025, 10, 20)
WHOLE_DAY = {"startTime": f"{DAY} 00:00:00", "endTime": f"{DAY} 23:59:59"}


def fleet_year() -> float:
    t0 = time.process_time()
    fleet = Fleet(seed=99, plants=6, start_date=date(2025, 1, 1), now=datetime(2025, 12, 31, tzinfo=timezone.utc))
    fleet.plant_day(fleet.plants[0].plant_id, date(2025, 12, 30))
    return time.process_time() - t0


def saj(fleet: Fleet) -> dict[str, float]:
    with SimulatorServer(fleet, port=0, limits=False, faults=Faults()) as server:
        api = Api(server)
        api.login()
        plant = next(p for p in fleet.plants if p.plant_type == 1 and p.has_load_monitor)
        sn = plant.devices[0].sn
        calls = {
            "device/uploadData": {"deviceSn": sn, "timeUnit": 0, **WHOLE_DAY},
            "device/historyDataCommon": {"deviceSn": sn, **WHOLE_DAY},
            "device/emsHistoryData": {"emsSn": plant.module_sn, "plantId": plant.plant_id, **WHOLE_DAY},
            "device/secData": {"plantId": plant.plant_id, "timeUnit": 0, **WHOLE_DAY},
        }
        out = {}
        for endpoint, params in calls.items():
            api.raw(endpoint, **params)  # the day's truth is computed once
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                assert api.raw(endpoint, **params).status_code == 200
                times.append(time.perf_counter() - t0)
            out[f"saj-{endpoint}"] = statistics.median(times)
        return out


def sma(fleet: Fleet) -> dict[str, float]:
    server = SmaServer(fleet, port=0, faults=Faults(), consented=True).start()
    try:
        client = Sma(server)
        device = client.devices(3, "pv")[0]["deviceId"]
        headers = {"Authorization": f"Bearer {client.new_token()}"}
        out = {}
        for set_type in ("PowerDc", "PowerAc", "EnergyAndPowerPv"):
            times = []
            for k in range(3):
                day = (DAY - timedelta(days=10 + k)).isoformat()  # uncached days
                t0 = time.perf_counter()
                answer = server.handle_api(
                    "GET",
                    f"monitoring/v1/devices/{device}/measurements/sets/{set_type}/Day",
                    {"Date": day, "ReturnEnergyValues": "true"},
                    headers,
                )
                times.append(time.perf_counter() - t0)
                assert answer.status == 200
            out[f"sma-{set_type}"] = min(times)
        return out
    finally:
        server.stop()


def solax(fleet: Fleet) -> dict[str, float]:
    server = SolaxServer(fleet, port=0, faults=Faults(), limits=False).start()
    clock = fleet.now
    try:
        bodies = [b'{"wifiSn": "%s"}' % d.wifi_sn.encode() for d in server.dongles]
        endpoint, headers = "api/v2/dataAccess/realtimeInfo/get", {"tokenId": server.token}
        for body in bodies:  # the day's truth is computed once
            server.handle_api("POST", endpoint, {}, headers, body)
        costs = []
        for _ in range(30):
            fleet.set_now(fleet.now + timedelta(minutes=5))
            for body in bodies:
                t0 = time.perf_counter()
                assert server.handle_api("POST", endpoint, {}, headers, body).code == 0
                costs.append(time.perf_counter() - t0)
        costs.sort()
        return {"solax-poll-median": costs[len(costs) // 2], "solax-poll-p95": costs[int(len(costs) * 0.95)]}
    finally:
        server.stop()
        fleet.set_now(clock)


def main() -> None:
    results = {"fleet-year (cpu s)": fleet_year()}
    for case in (saj, sma, solax):
        results |= case(Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=NOW))
    for name, seconds in results.items():
        print(f"{name:40s} {seconds * (1 if 'cpu' in name else 1000):10.2f} {'s' if 'cpu' in name else 'ms'}")
    out = ROOT / "benchmarks" / "out" / "simulator.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
