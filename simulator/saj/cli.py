"""`python -m simulator saj`: the options and the banner of the SAJ stand-in."""

from __future__ import annotations

from . import ordering
from .envelopes import REFERENCE_ENVELOPES, STYLES
from .server import SimulatorServer


def add_arguments(ap) -> None:
    ap.add_argument("--token-ttl", type=float, default=7200, help="seconds an access token lives")
    ap.add_argument(
        "--reference-envelopes",
        action="store_true",
        help="answer every endpoint in the shape of the reference's example for it "
        "(errCode/errMsg, code 0, a bare list) instead of the real responses' code 200",
    )
    ap.add_argument(
        "--envelope",
        action="append",
        default=[],
        metavar="ENDPOINT=STYLE",
        help=f"answer ENDPOINT (e.g. plant/getPlantStatisticsData) in STYLE ({', '.join(STYLES)}); "
        "repeatable, applied after --reference-envelopes",
    )
    ap.add_argument(
        "--stamp-order",
        action="store_true",
        help="serve the samples of every window sorted by their local time stamp, so a fall-back day's "
        "repeated stamps come in adjacent pairs (default: time order)",
    )
    ap.add_argument(
        "--sample-order",
        action="append",
        default=[],
        metavar="ENDPOINT=ORDER",
        help=f"serve ENDPOINT's samples in ORDER ({', '.join(ordering.ORDERS)}); repeatable, applied after "
        "--stamp-order",
    )


def build(fleet, args, shared: dict) -> SimulatorServer:
    shapes = dict(REFERENCE_ENVELOPES) if args.reference_envelopes else {}
    for item in args.envelope:
        endpoint, sep, style = item.partition("=")
        if not sep:
            raise SystemExit(f"--envelope wants ENDPOINT=STYLE, got {item!r}")
        shapes[endpoint.strip("/ ")] = style.strip()
    order = dict.fromkeys(ordering.ENDPOINTS, "stamp") if args.stamp_order else {}
    for item in args.sample_order:
        endpoint, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--sample-order wants ENDPOINT=ORDER, got {item!r}")
        order[endpoint.strip("/ ")] = value.strip()
    try:
        return SimulatorServer(
            fleet,
            **shared,
            token_ttl_s=args.token_ttl,
            envelopes=shapes,
            sample_order=order,
        )
    except ValueError as e:
        raise SystemExit(f"--envelope or --sample-order: {e}") from None


def banner(server: SimulatorServer, args) -> list[str]:
    fleet = server.fleet
    return [
        f"SAJ simulator serving {len(fleet.plants)} plants / {len(fleet.devices)} devices (seed {args.seed})",
        f"base URL : {server.base_url}",
        f"admin    : {server.admin_url}/fleet",
        f"appId    : {fleet.app_id}",
        f"appSecret: {fleet.app_secret}   (simulator test credential, not a real secret)",
        f"openapi  : appKey {server.openapi_key} credentials {server.openapi_credentials}   (plantAuthByOpenapiKey)",
    ]
