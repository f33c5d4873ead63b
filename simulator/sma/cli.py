"""`python -m simulator sma`: the options and the banner of the SMA stand-in."""

from __future__ import annotations

from datetime import date

from .server import SmaServer


def _swap_day(text: str):
    """A date, or 'none' (no replaced inverter); not given: the layout's default."""
    return "none" if text.lower() == "none" else date.fromisoformat(text)


def add_arguments(ap) -> None:
    ap.add_argument("--token-ttl", type=float, default=300, help="seconds an access token lives")
    ap.add_argument("--bucket-size", type=int, default=1000, help="calls per API key between refills")
    ap.add_argument("--bucket-refill", type=float, default=300, help="seconds between refills of the bucket")
    ap.add_argument(
        "--time-basis",
        choices=("local", "utc"),
        default="local",
        help="wall time of the series' `time`: plant-local (as captured) or UTC (as the FAQ says)",
    )
    ap.add_argument(
        "--processing",
        type=float,
        default=7200,
        help="seconds between the processing runs of classic plants (their data's lateness)",
    )
    ap.add_argument("--consented", action="store_true", help="every owner has already accepted")
    ap.add_argument(
        "--swap-day",
        type=_swap_day,
        default=None,
        help="the day the first plant's inverter was replaced (YYYY-MM-DD, or 'none'; "
        "default: 300 days after --start-date)",
    )


def build(fleet, args, shared: dict) -> SmaServer:
    return SmaServer(
        fleet,
        **shared,
        token_ttl_s=args.token_ttl,
        bucket_size=args.bucket_size,
        refill_s=args.bucket_refill,
        time_basis=args.time_basis,
        processing_s=args.processing,
        consented=args.consented,
        swap_day={None: "default", "none": None}.get(args.swap_day, args.swap_day),
    )


def banner(server: SmaServer, args) -> list[str]:
    fleet, lay = server.fleet, server.layout
    lines = [
        f"SMA simulator serving {len(fleet.plants)} plants / {len(fleet.devices)} devices (seed {args.seed})",
        f"SMA_AUTH_URL    = {server.auth_url}",
        f"SMA_CONSENT_URL = {server.consent_url}",
        f"SMA_API_URL     = {server.api_url}",
        f"admin           : {server.admin_url}/sma",
        f"client id       : {lay.client_id}",
        f"client secret   : {lay.client_secret}   (simulator test credential, not a real secret)",
    ]
    for email, plants in lay.owners.items():
        state = server.consent.get(email, "no request")
        lines.append(f"owner           : {email} ({len(plants)} plants, consent: {state})")
    return lines
