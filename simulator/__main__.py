"""python -m simulator: serve a simulated SAJ fleet on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import date, datetime, timezone

from .faults import Faults
from .fleet import Fleet
from .server import SimulatorServer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--plants", type=int, default=6)
    ap.add_argument("--devices", type=int, default=None,
                    help="devices in all (grid-tied plants get several inverters); default: the usual mix")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start-date", type=date.fromisoformat, default=date(2025, 1, 1))
    ap.add_argument("--now", type=lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")), default=None,
                    help="freeze the simulated clock at this aware ISO instant (default: real clock)")
    ap.add_argument("--token-ttl", type=float, default=7200)
    ap.add_argument("--no-limits", action="store_true")
    ap.add_argument("--qps-scale", type=float, default=1.0)
    ap.add_argument("--no-gaps", action="store_true", help="no intrinsic logger outages")
    ap.add_argument("--fault-seed", type=int, default=0)
    ap.add_argument("--fault-5xx", type=float, default=0.0)
    ap.add_argument("--fault-10001", type=float, default=0.0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--fault-truncate", type=float, default=0.0)
    ap.add_argument("--fault-missing-field", type=float, default=0.0)
    ap.add_argument("--fault-wrong-type", type=float, default=0.0)
    ap.add_argument("--fault-duplicate", type=float, default=0.0)
    ap.add_argument("--fault-token-ttl", type=float, default=None)
    ap.add_argument("--late", type=float, default=0.0)
    a = ap.parse_args(argv)
    if a.now is not None and a.now.tzinfo is None:
        a.now = a.now.replace(tzinfo=timezone.utc)
    fleet = Fleet(seed=a.seed, plants=a.plants, start_date=a.start_date, now=a.now, gaps=not a.no_gaps,
                  devices=a.devices)
    faults = Faults(seed=a.fault_seed, http_5xx_rate=a.fault_5xx, code_10001_rate=a.fault_10001,
                    latency_s=a.latency, truncate_rate=a.fault_truncate, missing_field_rate=a.fault_missing_field,
                    wrong_type_rate=a.fault_wrong_type, duplicate_sample_rate=a.fault_duplicate,
                    token_ttl_s=a.fault_token_ttl, late_s=a.late)
    server = SimulatorServer(fleet, port=a.port, limits=not a.no_limits, qps_scale=a.qps_scale,
                             token_ttl_s=a.token_ttl, faults=faults).start()
    print(f"SAJ simulator serving {len(fleet.plants)} plants / {len(fleet.devices)} devices (seed {a.seed})")
    print(f"base URL : {server.base_url}")
    print(f"admin    : {server.admin_url}/fleet")
    print(f"appId    : {fleet.app_id}")
    print(f"appSecret: {fleet.app_secret}   (simulator test credential, not a real secret)")
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
