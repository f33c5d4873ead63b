"""`python -m simulator saj`: the options and the banner of the SAJ stand-in."""

from __future__ import annotations

from .server import SimulatorServer


def add_arguments(ap) -> None:
    ap.add_argument("--token-ttl", type=float, default=7200, help="seconds an access token lives")


def build(fleet, args, faults) -> SimulatorServer:
    return SimulatorServer(fleet, port=args.port, limits=not args.no_limits, qps_scale=args.qps_scale,
                           token_ttl_s=args.token_ttl, faults=faults)


def banner(server: SimulatorServer, args) -> list[str]:
    fleet = server.fleet
    return [
        f"SAJ simulator serving {len(fleet.plants)} plants / {len(fleet.devices)} devices (seed {args.seed})",
        f"base URL : {server.base_url}",
        f"admin    : {server.admin_url}/fleet",
        f"appId    : {fleet.app_id}",
        f"appSecret: {fleet.app_secret}   (simulator test credential, not a real secret)",
    ]
