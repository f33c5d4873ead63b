"""python -m simulator [saj|solax|sma] [options]: serve a simulated fleet on loopback until Ctrl-C or SIGTERM.

The first argument names the vendor whose API is served (default `saj`); each vendor's package adds its
own options in its `cli` module (`add_arguments`, `build`, `banner`, and optionally `configure`, which may
adjust the parsed options before the fleet is built). The fleet and fault options below are
shared by every vendor; `build(fleet, args, shared)` gets the server options every stand-in takes as the
keywords `shared` and adds its own.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from datetime import date, datetime, timezone

from .core import Faults, Fleet

VENDORS = {"saj": "simulator.saj.cli", "solax": "simulator.solax.cli", "sma": "simulator.sma.cli"}


# The fault options, shared by every vendor, and the field of `Faults` each one sets.
FAULT_OPTIONS = {
    "--fault-seed": "seed",
    "--fault-5xx": "http_5xx_rate",
    "--fault-10001": "code_10001_rate",
    "--latency": "latency_s",
    "--fault-truncate": "truncate_rate",
    "--fault-missing-field": "missing_field_rate",
    "--fault-wrong-type": "wrong_type_rate",
    "--fault-duplicate": "duplicate_sample_rate",
    "--fault-token-ttl": "token_ttl_s",
    "--late": "late_s",
}
FAULT_HELP = {"--fault-10001": "the vendor's 'system error' answer"}


def _instant(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def parser(vendor: str, cli) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=f"python -m simulator {vendor}", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--plants", type=int, default=6)
    ap.add_argument(
        "--devices",
        type=int,
        default=None,
        help="devices in all (grid-tied plants get several inverters); default: the usual mix",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start-date", type=date.fromisoformat, default=date(2025, 1, 1))
    ap.add_argument(
        "--now",
        type=_instant,
        default=None,
        help="freeze the simulated clock at this ISO instant, UTC unless it says otherwise "
        "(default: the real clock); POST /admin/clock moves it",
    )
    ap.add_argument("--no-limits", action="store_true")
    ap.add_argument("--qps-scale", type=float, default=1.0)
    ap.add_argument("--no-gaps", action="store_true", help="no intrinsic logger outages")
    ap.add_argument(
        "--tou",
        action="store_true",
        help="a storage and an AC-coupled plant in every six run a time-of-use tariff: grid charging at night, "
        "battery export in the evening peak on some days",
    )
    no_faults = Faults()  # each fault option defaults to the Faults field it sets
    for option, name in FAULT_OPTIONS.items():
        kind = int if name == "seed" else float
        ap.add_argument(option, type=kind, default=getattr(no_faults, name), help=FAULT_HELP.get(option))
    cli.add_arguments(ap)
    return ap


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    vendor = argv.pop(0) if argv and argv[0] in VENDORS else "saj"
    cli = importlib.import_module(VENDORS[vendor])
    a = parser(vendor, cli).parse_args(argv)
    if hasattr(cli, "configure"):  # a vendor may size the fleet from options of its own
        cli.configure(a)
    fleet = Fleet(
        seed=a.seed,
        plants=a.plants,
        start_date=a.start_date,
        now=a.now,
        gaps=not a.no_gaps,
        devices=a.devices,
        tou=a.tou,
    )
    faults = Faults(**{name: getattr(a, option[2:].replace("-", "_")) for option, name in FAULT_OPTIONS.items()})
    # the options every stand-in takes (StandInServer's), given once for every vendor's `build`
    shared = dict(port=a.port, limits=not a.no_limits, qps_scale=a.qps_scale, faults=faults)
    server = cli.build(fleet, a, shared).start()
    for line in cli.banner(server, a):
        print(line)
    if fleet.tou:
        print("time-of-use plants: " + ", ".join(f"{p.plant_id} ({p.name})" for p in fleet.plants if p.tou))
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
