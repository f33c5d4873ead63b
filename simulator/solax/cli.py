"""`python -m simulator solax`: the options and the banner of the SolaX Cloud stand-in."""

from __future__ import annotations

from ..core.fleet import COMBOS
from .server import SolaxServer


def add_arguments(ap) -> None:
    default = SolaxServer.CONFIG  # the settings' defaults are the server's
    ap.set_defaults(plants=None)  # derived from --dongles unless given
    ap.add_argument(
        "--dongles",
        type=int,
        default=None,
        help="dongles in all (one per inverter); default: 6 plants with their usual inverters",
    )
    ap.add_argument(
        "--upload-time-zone",
        choices=("local", "utc"),
        default=default["upload_time_zone"],
        help="the zone of uploadTime (utcDateTime is always UTC)",
    )
    ap.add_argument("--per-minute", type=int, default=default["per_minute"], help="calls per token in any 60 s")
    ap.add_argument("--per-day", type=int, default=default["per_day"], help="calls per token in any 24 h")
    ap.add_argument(
        "--violations",
        type=int,
        default=default["violations"],
        help="rejected calls in a row that lock a token out",
    )
    ap.add_argument(
        "--lockout-s",
        type=float,
        default=default["lockout_s"],
        help="seconds of the lock-out, on the fleet's clock",
    )
    ap.add_argument("--legacy-v1", action="store_true", help="v1 bodies as in 2021-2022: no code, success last")


def fleet_size(dongles: int, plants: int | None) -> tuple[int, int]:
    """(plants, devices) of a fleet with `dongles` dongles: as many plants as the dongles allow (one
    inverter per grid-tied or storage plant, two per AC-coupled one), the rest as extra grid-tied
    inverters; `plants` when given."""
    if plants is None:
        need = lambda n: sum(2 if COMBOS[i % len(COMBOS)][0] == 3 else 1 for i in range(n))  # noqa: E731
        plants = 1
        while need(plants + 1) <= dongles:
            plants += 1
    return plants, dongles


def configure(args) -> None:
    """Before the fleet is built: its size from --dongles (one dongle per device)."""
    if args.dongles is None:
        args.plants = args.plants or 6
    else:
        args.plants, args.devices = fleet_size(args.dongles, args.plants)


def build(fleet, args, shared: dict) -> SolaxServer:
    # each option named as a setting (SolaxServer.CONFIG) is that setting
    settings = {name: value for name, value in vars(args).items() if name in SolaxServer.CONFIG}
    return SolaxServer(fleet, **shared, **settings)


def banner(server: SolaxServer, args) -> list[str]:
    fleet = server.fleet
    return [
        f"SolaX Cloud simulator serving {len(server.dongles)} dongles on {len(fleet.plants)} plants (seed {args.seed})",
        f"base URL : {server.base_url}",
        f"sites    : {server.admin_url}/solax/sites.csv",
        f"tokenId  : {server.token}   (simulator test credential, not a real token)",
    ]
