"""Configuration: the one module that reads the environment.

Settings that concern every vendor have neutral names (`FLEET_*`); the `SAJ_*` names they had before the
pipeline served several vendors keep working (the `FLEET_*` name wins when both are set). Each vendor's
own section (`SAJ_*`, `SOLAX_*`, `SMA_*`) is declared in its package's `settings.py`, through `env()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_START_DATE = "2025-01-01"


def env(name: str, default: str | None = None, *, legacy: str | None = None) -> str | None:
    """The variable `name` (or, if unset or empty, its older name `legacy`), else `default`."""
    for key in (name, legacy):
        if key:
            value = os.environ.get(key)
            if value is not None and value.strip() != "":
                return value.strip()
    return default


def env_int(name: str, default: int, *, legacy: str | None = None) -> int:
    text = env(name, str(default), legacy=legacy)
    try:
        return int(text)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"{name}={text!r}: a whole number is expected") from None


def _fleet(name: str, default: str | None = None) -> str | None:
    """`FLEET_<name>`, a setting every vendor shares, whose name before several vendors was `SAJ_<name>`."""
    return env(f"FLEET_{name}", default, legacy=f"SAJ_{name}")


@dataclass(frozen=True)
class FleetSettings:
    """What every vendor shares: where data lives, the first partition, the warehouse's memory, the schedules."""

    data_dir: Path
    start_date: date
    duckdb_memory_limit: str
    intraday_minutes: int
    daily_cron: str
    daily_days: int
    settle_minutes: int
    running: bool
    fleet_snapshot_hours: float
    lake_url: str | None = None  # FLEET_LAKE_URL: s3://bucket/prefix; None: the folder lake/ under data_dir
    backfill_days_per_run: int = 0  # FLEET_BACKFILL_DAYS_PER_RUN: 0, a backfill is one run; n, runs of n days
    warehouse: str = "duckdb"  # FLEET_WAREHOUSE: "duckdb" (the file under data_dir) or "ducklake" (its DSN is
    # read where the connection is made, never kept here: it can hold a password)

    @classmethod
    def from_env(cls) -> FleetSettings:
        start = _fleet("START_DATE", DEFAULT_START_DATE)
        try:
            start_date = date.fromisoformat(start)  # type: ignore[arg-type]
        except ValueError:
            raise ValueError(f"FLEET_START_DATE={start!r}: a date yyyy-mm-dd is expected") from None
        minutes = env_int("FLEET_INTRADAY_MINUTES", 15, legacy="SAJ_INTRADAY_MINUTES")
        if not (1 <= minutes <= 60 and 60 % minutes == 0):
            raise ValueError(f"FLEET_INTRADAY_MINUTES={minutes}: use a divisor of 60 (5, 10, 15, 20, 30, 60)")
        days = env_int("FLEET_DAILY_DAYS", 2, legacy="SAJ_DAILY_DAYS")
        if days < 1:
            raise ValueError(f"FLEET_DAILY_DAYS={days}: at least 1")
        automation = (_fleet("AUTOMATION", "running") or "").lower()
        if automation not in ("running", "stopped"):
            raise ValueError(f"FLEET_AUTOMATION={automation!r}: 'running' or 'stopped'")
        lake_url = env("FLEET_LAKE_URL")
        if lake_url is not None and not lake_url.startswith("s3://") and "://" in lake_url:
            raise ValueError(
                f"FLEET_LAKE_URL={lake_url.split('://')[0]}://...: use s3://bucket/prefix, or unset it for the local "
                "folder under FLEET_DATA_DIR"
            )
        per_run = env_int("FLEET_BACKFILL_DAYS_PER_RUN", 0)
        if per_run < 0:
            raise ValueError(f"FLEET_BACKFILL_DAYS_PER_RUN={per_run}: 0 (a backfill is one run) or a number of days")
        return cls(
            backfill_days_per_run=per_run,
            lake_url=lake_url,
            warehouse=warehouse_profile(),
            data_dir=Path(_fleet("DATA_DIR", "./data")).resolve(),  # type: ignore[arg-type]
            start_date=start_date,
            duckdb_memory_limit=_fleet("DUCKDB_MEMORY_LIMIT", "1GB"),  # type: ignore[arg-type]
            intraday_minutes=minutes,
            daily_cron=_fleet("DAILY_CRON", "30 12 * * *"),  # type: ignore[arg-type]
            daily_days=days,
            settle_minutes=env_int("FLEET_SETTLE_MINUTES", 30, legacy="SAJ_SETTLE_MINUTES"),
            running=automation == "running",
            fleet_snapshot_hours=env_int("FLEET_SNAPSHOT_HOURS", 24),
        )

    @property
    def intraday_cron(self) -> str:
        return "0 * * * *" if self.intraday_minutes == 60 else f"*/{self.intraday_minutes} * * * *"


def warehouse_profile() -> str:
    """Which warehouse FLEET_WAREHOUSE names: "duckdb" (unset or `duckdb`: the file under FLEET_DATA_DIR) or
    "ducklake" (`ducklake:postgres:<libpq DSN>`, with FLEET_WAREHOUSE_DATA_PATH)."""
    target = env("FLEET_WAREHOUSE", "duckdb")
    if target == "duckdb":
        return "duckdb"
    if target.startswith("ducklake:postgres:"):  # type: ignore[union-attr]
        if env("FLEET_WAREHOUSE_DATA_PATH") is None:
            raise ValueError(
                "FLEET_WAREHOUSE names a DuckLake catalog, so FLEET_WAREHOUSE_DATA_PATH must say where its data files "
                "go (s3://bucket/warehouse/)"
            )
        return "ducklake"
    kind = target.split(":", 1)[0]  # type: ignore[union-attr]
    raise ValueError(
        f"FLEET_WAREHOUSE={kind}:...: use ducklake:postgres:<libpq DSN> for a DuckLake catalog, or unset it (or "
        "'duckdb') for the DuckDB file under FLEET_DATA_DIR"
    )


def set_default(name: str, value: str) -> str:
    """Set a variable unless it is already set; returns the value in force."""
    return os.environ.setdefault(name, value)


def set_variables(**values: str) -> None:
    """Set variables for this process and the runs it starts (the demo points the pipeline at its simulators)."""
    os.environ.update(values)
