"""The README's main command: the whole pipeline against the simulator, end to end.

    python3 run.py demo [--plants 8] [--solax-plants 2] [--sma-plants 2] [--seed 7] [--days 7]
    python3 run.py ui                                   # the Dagster UI against the simulator

Starts the three vendors' stand-ins on free loopback ports (SAJ's; SolaX's; SMA's, whose plant owners the demo
asks for consent and then plays, accepting), backfills the last complete days through the same Dagster assets a
real deployment runs (one run for the range, as the backfill policy asks), and prints what the warehouse now
holds. SolaX's API keeps no history, so its days are polled first: the demo walks the SolaX stand-in's clock
through them, one round every interval the quota planner gives, with the same code the `solax_poll` job runs
(its per-minute limit raised for the demo only, the stand-in's too). Everything lands under `$FLEET_DATA_DIR`
(default `./data/demo`); the first partition is the first day loaded (`FLEET_START_DATE`), so the UI shows the
loaded days, not months of empty ones.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from time import monotonic

ROOT = Path(__file__).resolve().parent.parent


def prepare_instance(data_dir: Path) -> Path:
    """A persistent Dagster home beside the data, with the warehouse writers' pool limited to one."""
    from pipelines.core.settings import set_default

    home = data_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "concurrency:\n  pools:\n    default_limit: 1\n"
        # the daemon evaluates the assets' freshness policies (pipelines/freshness.py)
        "freshness:\n  enabled: true\n"
    )
    set_default("DAGSTER_HOME", str(home))
    return home


def start_simulator(plants: int, seed: int):
    """The SAJ stand-in, its credentials and URL set for the run (the demo's own values win over none)."""
    from pipelines.core.settings import set_variables
    from simulator import Fleet, SimulatorServer

    fleet = Fleet(seed=seed, plants=plants, start_date=date(2025, 1, 1))
    server = SimulatorServer(fleet, port=0).start()
    set_variables(SAJ_APP_ID=fleet.app_id, SAJ_APP_SECRET=fleet.app_secret, SAJ_BASE_URL=server.base_url)
    return server


def start_sma(plants: int, seed: int, data_dir: Path):
    """The SMA stand-in (a fleet of its own), its credentials and URLs set for the run, and every owner's consent:
    asked as an operator would (`sma-consent`), accepted as the owner would in Sunny Portal."""
    from pipelines.core.settings import set_variables
    from pipelines.sources.sma.consent import Requests, ask, operator_client, requests_path
    from simulator import Fleet
    from simulator.sma import SmaServer

    server = SmaServer(Fleet(seed=seed + 1, plants=plants, start_date=date(2025, 1, 1)), port=0).start()
    lay = server.layout
    set_variables(
        SMA_CLIENT_ID=lay.client_id,
        SMA_CLIENT_SECRET=lay.client_secret,
        SMA_AUTH_URL=server.auth_url,
        SMA_CONSENT_URL=server.consent_url,
        SMA_API_URL=server.api_url,
    )
    with operator_client(data_dir) as client:
        for owner, owned in lay.owners.items():
            if owned:
                state, _ = ask(client, Requests(requests_path(data_dir)), owner)
                print(
                    f"SMA consent asked of {owner}: {state}; the demo, as the owner, answers: "
                    f"{server.decide(owner, 'accept')}"
                )
    return server


SOLAX_DEMO_PER_MINUTE = 6000  # the demo's per-minute limit, for the client and the stand-in (SolaX allows 10)


def start_solax(plants: int, seed: int, data_dir: Path, now: datetime | None):
    """The SolaX Cloud stand-in over a fleet of its own, its token, URL and sites file set for the run."""
    from pipelines.core.settings import set_variables
    from simulator import Fleet
    from simulator.solax import SolaxServer

    fleet = Fleet(seed=seed + 1, plants=plants, start_date=date(2025, 1, 1), now=now)
    server = SolaxServer(fleet, port=0, per_minute=SOLAX_DEMO_PER_MINUTE).start()
    sites = data_dir / "solax-sites.csv"
    sites.write_text(server.sites_csv())
    set_variables(
        SOLAX_TOKEN_ID=server.token,
        SOLAX_BASE_URL=server.base_url,
        SOLAX_SITES_FILE=str(sites),
        SOLAX_CALLS_PER_MINUTE=str(SOLAX_DEMO_PER_MINUTE),
    )
    return server


def poll_solax(server, first: date, last: date) -> tuple[int, int, str]:
    """Every round the schedule would have made over the plants' local days first..last, on the stand-in's clock
    (rounds start at minute 0 of a UTC day and every planned interval after); (rounds, calls, the plan)."""
    from pipelines.resources import build_resources
    from pipelines.sources.solax.poller import land_round, poll_round
    from simulator.core.clock import MovableClock

    zones = [server.fleet.zone(p) for p in server.fleet.plants]
    start = min(datetime.combine(first, time(0), zone) for zone in zones) - timedelta(minutes=15)
    end = max(datetime.combine(last + timedelta(days=1), time(0), zone) for zone in zones) + timedelta(minutes=15)
    end = min(end, datetime.now(timezone.utc))
    resources = build_resources()
    solax, lake = resources["solax"], resources["lake"].lake
    clock = MovableClock(server.admin_url, start)
    client = solax.client(clock=clock.time, sleep=clock.sleep)
    sites = solax.sites()
    plan = solax.plan(sites)
    ledger = solax.ledger(client)
    step = timedelta(minutes=plan.interval_min)
    midnight = datetime.combine(start.astimezone(timezone.utc).date(), time(0), timezone.utc)
    at = midnight + step * ((start - midnight) // step)
    rounds = calls = 0
    while at < end:
        clock.set(at)
        rnd = poll_round(client, sites, ledger, plan)
        land_round(lake, rnd, {"fleet.run_id": "demo", "fleet.root_run_id": "demo", "fleet.root_backfill_id": ""})
        rounds, calls = rounds + 1, calls + rnd.calls
        at += step
    client.close()
    clock.close()
    return rounds, calls, plan.describe()


def backfill(first: date, last: date) -> bool:
    import dagster as dg

    from pipelines.definitions import defs

    # the job the schedules run: every asset and check over a range of days, in one process
    result = defs.resolve_job_def("fleet_refresh").execute_in_process(
        instance=dg.DagsterInstance.get(),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=False,
    )
    return result.success


def print_sma_fleet(server) -> None:
    plants = server.layout.plants
    print(f"\nSMA stand-in fleet ({len(plants)} plants, owners' consent asked and accepted):")
    for sp in plants:
        portal = "Sunny Portal classic" if sp.classic else "ennexOS"
        print(f"  {sp.plant_id:<36} {sp.timezone:<18} {portal:<20} {sp.resolution:<14} {len(sp.devices)} devices")


def print_fleet(server) -> None:
    print(f"\nSimulated fleet ({len(server.fleet.plants)} plants, {len(server.fleet.devices)} devices), SAJ:")
    kinds = {0: "grid-tied", 1: "storage", 3: "AC-coupled"}
    for plant in server.fleet.plants:
        monitor = "load monitor" if plant.has_load_monitor else "no load monitor"
        print(
            f"  {plant.plant_id}  {plant.name:<24} {plant.time_zone:<18} {kinds.get(plant.plant_type, '?'):<10} "
            f"{plant.system_power_kwp:>5.1f} kWp  {monitor}  "
            + ", ".join(f"{d.sn} (type {d.device_type})" for d in plant.devices)
        )


def print_solax(server) -> None:
    print(f"\nSimulated SolaX fleet ({len(server.fleet.plants)} plants, {len(server.dongles)} dongles):")
    for dongle in server.dongles:
        plant = dongle.plant
        print(
            f"  {plant.plant_id}  {plant.name:<28} {plant.time_zone:<18} dongle {dongle.wifi_sn}  inverter "
            f"{dongle.inverter_sn} {dongle.model:<13} {'grid meter' if dongle.meter else ''}"
        )


def print_summary(warehouse: Path) -> None:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as conn:

        def table(sql: str) -> None:
            cursor = conn.execute(sql)
            names = [c[0] for c in cursor.description]
            rows = cursor.fetchall()
            widths = [max(len(str(v)) for v in [n, *[r[i] for r in rows]]) for i, n in enumerate(names)]
            print("  " + "  ".join(n.ljust(w) for n, w in zip(names, widths)))
            for row in rows:
                print("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths)))

        print("\nWarehouse:", warehouse)
        table(
            "SELECT (SELECT count(*) FROM plants) AS plants, (SELECT count(*) FROM devices) AS devices, "
            "(SELECT count(DISTINCT day) FROM self_consumption_daily) AS days, "
            "(SELECT count(*) FROM device_samples) AS samples, "
            "(SELECT count(*) FROM plant_energy_hourly) AS plant_hours"
        )
        print("\nEnergy and self-consumption per plant over the days loaded (kWh):")
        table(
            """
            SELECT p.vendor, p.plant_id, p.time_zone, count(*) AS days,
                   round(sum(s.pv_kwh), 1) AS pv, round(sum(s.load_kwh), 1) AS load,
                   round(sum(s.grid_import_kwh), 1) AS bought, round(sum(s.grid_export_kwh), 1) AS sold,
                   -- the rates over the days that have both terms (README, "Definitions")
                   round(sum(s.self_consumed_kwh) / nullif(sum(s.pv_kwh) FILTER (s.self_consumed_kwh IS NOT NULL), 0),
                         3) AS self_consumption,
                   round(sum(s.self_supplied_kwh) / nullif(sum(s.load_kwh) FILTER (s.self_supplied_kwh IS NOT NULL), 0),
                         3) AS self_sufficiency
            FROM self_consumption_daily s JOIN plants p USING (vendor, plant_id)
            GROUP BY ALL ORDER BY p.vendor, p.plant_id
            """
        )
        print("\nAlarms (open first):")
        table(
            """
            SELECT vendor, device_sn, alarm_code, alarm_name, started_at, ended_at, status, duration_minutes
            FROM alarm_history ORDER BY status = 'closed', started_at DESC LIMIT 10
            """
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 run.py demo", description=__doc__.splitlines()[0])
    parser.add_argument("--plants", type=int, default=8, help="plants of the SAJ stand-in")
    parser.add_argument("--sma-plants", type=int, default=2, help="plants of the SMA stand-in (0: none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=7, help="how many complete days to backfill")
    parser.add_argument("--solax-plants", type=int, default=2, help="plants behind the SolaX stand-in")
    parser.add_argument("--ui", action="store_true", help="start the Dagster UI instead of a backfill")
    args = parser.parse_args(argv)

    from pipelines.core.settings import FleetSettings, env, set_variables

    # The last complete local day everywhere: yesterday in UTC-12 has ended once today began in UTC.
    last = datetime.now(timezone.utc).date() - timedelta(days=1)
    first = last - timedelta(days=args.days - 1)
    if env("FLEET_DATA_DIR", legacy="SAJ_DATA_DIR") is None:
        set_variables(FLEET_DATA_DIR=str(ROOT / "data" / "demo"))
    set_variables(FLEET_START_DATE=first.isoformat())
    data_dir = FleetSettings.from_env().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    prepare_instance(data_dir)
    server = start_simulator(args.plants, args.seed)
    # the UI polls the SolaX stand-in on the real clock; the backfill walks its clock through the days
    walk_start = datetime.combine(first, time(0), timezone.utc) - timedelta(days=1)
    solax = start_solax(args.solax_plants, args.seed, data_dir, now=None if args.ui else walk_start)
    print(f"SAJ simulator on {server.base_url} (app {server.fleet.app_id}); data in {data_dir}")
    print(
        f"SolaX Cloud stand-in on {solax.base_url} ({len(solax.dongles)} dongles, sites file {env('SOLAX_SITES_FILE')})"
    )
    sma = start_sma(args.sma_plants, args.seed, data_dir) if args.sma_plants else None
    if sma is not None:
        print(f"SMA stand-in on {sma.root_url} (client {sma.layout.client_id})")
    try:
        print_fleet(server)
        print_solax(solax)
        if sma is not None:
            print_sma_fleet(sma)
        if args.ui:
            print("\nStarting the Dagster UI on http://127.0.0.1:3000 (Ctrl-C to stop) ...")
            return subprocess.run(
                [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", "3000"],
                cwd=ROOT,
            ).returncode
        print(
            f"\nSolaX keeps no history: polling {first} .. {last} by walking its stand-in's clock through those days "
            f"(the demo raises the per-minute limit of the client and of the stand-in to {SOLAX_DEMO_PER_MINUTE} "
            "calls so that the rounds run at once; a deployment keeps SolaX's 10) ..."
        )
        started = monotonic()
        rounds, calls, plan = poll_solax(solax, first, last)
        print(f"  {rounds} rounds, {calls} calls in {monotonic() - started:.0f} s: {plan}")
        print(f"\nBackfilling {first} .. {last} in one run (raw -> staging -> marts, with checks) ...")
        started = monotonic()
        ok = backfill(first, last)
        print(f"Backfill {'succeeded' if ok else 'FAILED'} in {monotonic() - started:.0f} s")
        print_summary(data_dir / "warehouse.duckdb")
        print(
            "\nNext: `duckdb " + str(data_dir / "warehouse.duckdb") + "` for SQL (see the README's cookbook), "
            "or `python3 run.py ui` for the Dagster UI."
        )
        return 0 if ok else 1
    finally:
        server.stop()
        solax.stop()
        if sma is not None:
            sma.stop()


if __name__ == "__main__":
    sys.exit(main())
