"""The README's main command: the whole pipeline against the simulator, end to end.

    python3 run.py demo [--plants 8] [--sma-plants 2] [--seed 7] [--days 7]
    python3 run.py ui                                   # the Dagster UI against the simulator

Starts the simulators on free loopback ports (SAJ's, and SMA's, whose plant owners the demo asks for consent and
then plays, accepting), backfills the last complete days through the same Dagster
assets a real deployment runs (one run for the range, as the backfill policy asks), and prints what the
warehouse now holds. Everything lands under `$FLEET_DATA_DIR` (default `./data/demo`); the first partition
is the first day loaded (`FLEET_START_DATE`), so the UI shows the loaded days, not months of empty ones.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

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
    print(f"\nSimulated fleet ({len(server.fleet.plants)} plants, {len(server.fleet.devices)} devices):")
    kinds = {0: "grid-tied", 1: "storage", 3: "AC-coupled"}
    for plant in server.fleet.plants:
        monitor = "load monitor" if plant.has_load_monitor else "no load monitor"
        print(
            f"  {plant.plant_id}  {plant.name:<24} {plant.time_zone:<18} {kinds.get(plant.plant_type, '?'):<10} "
            f"{plant.system_power_kwp:>5.1f} kWp  {monitor}  "
            + ", ".join(f"{d.sn} (type {d.device_type})" for d in plant.devices)
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
                   round(sum(s.self_consumed_kwh) / nullif(sum(s.pv_kwh), 0), 3) AS self_consumption,
                   round(sum(s.load_kwh - s.grid_import_kwh) / nullif(sum(s.load_kwh), 0), 3) AS self_sufficiency
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
    print(f"SAJ simulator on {server.base_url} (app {server.fleet.app_id}); data in {data_dir}")
    sma = start_sma(args.sma_plants, args.seed, data_dir) if args.sma_plants else None
    if sma is not None:
        print(f"SMA stand-in on {sma.root_url} (client {sma.layout.client_id})")
    try:
        print_fleet(server)
        if sma is not None:
            print_sma_fleet(sma)
        if args.ui:
            print("\nStarting the Dagster UI on http://127.0.0.1:3000 (Ctrl-C to stop) ...")
            return subprocess.run(
                [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", "3000"],
                cwd=ROOT,
            ).returncode
        print(f"\nBackfilling {first} .. {last} in one run (raw -> staging -> marts, with checks) ...")
        started = time.monotonic()
        ok = backfill(first, last)
        print(f"Backfill {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s")
        print_summary(data_dir / "warehouse.duckdb")
        print(
            "\nNext: `duckdb " + str(data_dir / "warehouse.duckdb") + "` for SQL (see the README's cookbook), "
            "or `python3 run.py ui` for the Dagster UI."
        )
        return 0 if ok else 1
    finally:
        server.stop()
        if sma is not None:
            sma.stop()


if __name__ == "__main__":
    sys.exit(main())
