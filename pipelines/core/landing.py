"""Landing API responses in the raw lake, for every vendor: one file per asset, day and attempt.

The raw layer is the system of record. Models are rebuilt from it without calling an API again, so each
response is kept exactly as received, with what was asked and when. A device or plant that still fails
after the client's retries does not vanish: what succeeded is landed, the failures are listed in the logs
and metadata, and the run fails so that the partition shows as failed and is fetched again; the day's
earlier, complete answers stay in the lake beside the partial attempt (`pipelines.core.lake`).

A plant or device that no retry can heal (an id that is not a plain identifier, a time zone nobody can
read) is refused by name: the asset's `nothing_refused` check fails with ERROR severity and names it,
while the rest of the fleet flows on to the warehouse.

A vendor declares its raw assets as `RawTable`s and gets them from `raw_multi_asset(...)` as ONE step: the
tables land concurrently, each as soon as the tables it reads are landed, so a run costs its slowest
endpoint (each paced by the shared limiter), not the sum of all of them. A vendor without credentials lands
nothing and says so (a run over a fleet of any mix of vendors works), but a run with no vendor configured at
all fails at once, naming the variables to set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dagster as dg

from pipelines.core.lake import Lake, raw_table
from pipelines.core.partitions import backfill_policy, daily_partitions, days_of
from pipelines.core.resources import LakeResource, VendorsResource

NOTHING_REFUSED = "nothing_refused"
RAW_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("partition_date", "date", description="the plant-local day"),
        dg.TableColumn("plant_id", "string"),
        dg.TableColumn("device_sn", "string"),
        dg.TableColumn("endpoint", "string", description="e.g. device/uploadData"),
        dg.TableColumn("request_params", "string", description="what was asked, as JSON, no secrets"),
        dg.TableColumn("fetched_at", "timestamp", description="UTC"),
        dg.TableColumn("http_status", "int"),
        dg.TableColumn("api_code", "int", description="the API's own code in the envelope"),
        dg.TableColumn("api_msg", "string"),
        dg.TableColumn("attempts", "int"),
        dg.TableColumn("body", "string", description="the response body exactly as received"),
    ]
)


@dataclass
class DayLanding:
    """The responses and failures of one asset for one day."""

    day: date
    rows: list[tuple[str | None, str | None, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def refuse(self, problems: Iterable[object]) -> None:
        self.refused += [f"{self.day}: {problem}" for problem in problems]

    def add(self, plant_id: str | None, device_sn: str | None, outcome: object) -> None:
        """A response, a list of responses, or the exception a call ended with (its last response, if any,
        is landed too: an error body is evidence)."""
        if isinstance(outcome, BaseException):
            who = " ".join(
                part
                for part in (f"plant {plant_id}" if plant_id else "", f"device {device_sn}" if device_sn else "")
                if part
            )
            self.failures.append(f"{self.day} {who or 'fleet'}: {outcome}")
            response = getattr(outcome, "response", None)
            if response is not None:
                self.rows.append((plant_id, device_sn, response))
            return
        for response in outcome if isinstance(outcome, list) else [outcome]:
            self.rows.append((plant_id, device_sn, response))


def raw_check_spec(asset_key: dg.AssetKey | str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        NOTHING_REFUSED,
        asset=asset_key,
        description="Every plant and device could be asked for: none was refused for an unusable id or time zone.",
    )


# --- which vendors run -------------------------------------------------------------------------------
def skip_reason(context: dg.AssetExecutionContext, vendors: VendorsResource, vendor: str) -> str | None:
    """None when `vendor` is configured; otherwise why its assets land nothing (logged). Raises a Failure
    naming every vendor's variables when no vendor at all is configured."""
    if vendor in vendors.configured:
        return None
    if not vendors.configured:
        raise dg.Failure(description=vendors.missing_all_message())
    needs = " and ".join(vendors.variables.get(vendor, []))
    message = f"{vendor} is not configured (set {needs} to land its data): skipped, nothing landed."
    context.log.info(message)
    return message


def skipped(message: str, asset_key: dg.AssetKey | None = None) -> dg.MaterializeResult:
    """The materialisation of a raw asset whose vendor is not configured: nothing landed, and why."""
    return dg.MaterializeResult(
        asset_key=asset_key,
        metadata={"skipped": message, "dagster/row_count": 0},
        check_results=[
            dg.AssetCheckResult(asset_key=asset_key, check_name=NOTHING_REFUSED, passed=True, description=message)
        ],
    )


# --- landing -----------------------------------------------------------------------------------------
def lineage(context: dg.AssetExecutionContext) -> dict[str, str]:
    """Which attempt this is: a re-execution keeps its root run, a re-executed backfill its root backfill."""
    tags = context.run.tags
    return {
        "fleet.run_id": context.run.run_id,
        "fleet.root_run_id": context.run.root_run_id or tags.get("dagster/root_run_id") or context.run.run_id,
        "fleet.root_backfill_id": tags.get("dagster/root_backfill_id") or tags.get("dagster/backfill") or "",
    }


def landed_earlier_in_lineage(lake: Lake, day_dir, lin: dict[str, str]) -> bool:
    """True when an earlier attempt of the same run (or backfill) landed this day with no failure.

    Resuming a failed range (re-execute from failure, or re-execute a backfill's failed runs) then fetches
    only the days that failed; a new run (a schedule tick, a new backfill) always fetches again.
    """
    parts = lake.parts(day_dir)
    if not parts:
        return False
    meta = lake.metadata(parts[-1])
    if meta.get("fleet.complete") != "1" or meta.get("fleet.run_id") == lin["fleet.run_id"]:
        return False
    same_run = meta.get("fleet.root_run_id") == lin["fleet.root_run_id"]
    same_backfill = (
        bool(lin["fleet.root_backfill_id"]) and meta.get("fleet.root_backfill_id") == lin["fleet.root_backfill_id"]
    )
    return same_run or same_backfill


def land(
    context: dg.AssetExecutionContext,
    lake: Lake,
    vendor: str,
    asset: str,
    counts: Callable[[], dict],
    fetch_day: Callable[[date], DayLanding],
    asset_key: dg.AssetKey | None = None,
) -> dg.MaterializeResult:
    """Land `fetch_day(day)` for every day of the partition window under raw/<vendor>/<asset>/, one day at a
    time (a long range holds one day of responses in memory, never the whole range). `counts()` is the
    client's counters of this asset's endpoints (calls, retries, rate_rejections), to report what it made."""
    started = time.monotonic()
    before = dict(counts())
    lin = lineage(context)
    failures: list[str] = []
    refused: list[str] = []
    rows, plants, devices, skipped = 0, set(), set(), []
    days = days_of(context)
    for day in days:
        day_dir = lake.day_dir("raw", vendor, asset, day=day)
        if landed_earlier_in_lineage(lake, day_dir, lin):
            skipped.append(day.isoformat())
            continue
        landing = fetch_day(day)
        table = raw_table(landing.day, landing.rows)
        receipt = {**lin, "fleet.complete": "0" if landing.failures else "1"}
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), **{k.encode(): v.encode() for k, v in receipt.items()}}
        )
        lake.add_part(day_dir, table, supersedes=not landing.failures)
        failures += landing.failures
        refused += landing.refused
        rows += len(landing.rows)
        plants |= {p for p, _, _ in landing.rows if p}
        devices |= {d for _, d, _ in landing.rows if d}
        del landing, table
    if skipped:
        context.log.info(
            f"{vendor}/{asset}: {len(skipped)} day(s) already landed completely by an earlier attempt of this run "
            f"(root run {lin['fleet.root_run_id']}); not fetched again: {', '.join(skipped)}"
        )
    after = dict(counts())
    metadata = {
        "dagster/row_count": rows,
        "dagster/column_schema": RAW_COLUMNS,
        "days": len(days),
        "days_resumed": len(skipped),
        "plants": len(plants),
        "devices": len(devices),
        "api_calls": after["calls"] - before["calls"],
        "retries": after["retries"] - before["retries"],
        "rate_rejections": after["rate_rejections"] - before["rate_rejections"],
        "failures": len(failures),
        "refused": len(refused),
        "seconds": round(time.monotonic() - started, 2),
        "path": dg.MetadataValue.path(lake.uri(lake.table_dir("raw", vendor, asset))),
    }
    if failures:
        listing = "\n".join(failures[:200]) + ("\n..." if len(failures) > 200 else "")
        context.log.error(
            f"{vendor}/{asset}: {len(failures)} call(s) failed after retries; landed the rest.\n{listing}"
        )
        # The description is what the run page and the CLI show: name the first problems there, since some
        # (a refused identifier, an unknown time zone) need a fix, not just another run.
        first = "; ".join(failures[:3]) + (
            f"; and {len(failures) - 3} more (see 'failed')" if len(failures) > 3 else ""
        )
        raise dg.Failure(
            description=f"{vendor}/{asset}: {len(failures)} plant/device call(s) failed after retries or were refused: "
            f"{first}. What succeeded is landed (beside the day's earlier answers, which stay); fix what is named, "
            "then re-materialise these days to fetch the rest.",
            metadata={**metadata, "failed": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures[:200]))},
        )
    if refused:
        context.log.error(
            f"{vendor}/{asset}: refused {len(refused)} plant(s)/device(s); the rest is landed.\n"
            + "\n".join(refused[:200])
        )
    context.log.info(f"{vendor}/{asset}: landed {rows} responses for {len(days) - len(skipped)} day(s)")
    check = refused_check(refused, "Refused (fix at the source, then re-materialise)", asset_key)
    return dg.MaterializeResult(asset_key=asset_key, metadata=metadata, check_results=[check])


def refused_check(refused: list[str], what_to_do: str, asset_key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    """The raw asset's `nothing_refused` check: an error naming the first refusals after `what_to_do`, passed
    when nothing was refused; every refusal (up to 200) in its metadata."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=NOTHING_REFUSED,
        passed=not refused,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{what_to_do}: " + "; ".join(refused[:5])) if refused else None,
        metadata={"refused": dg.MetadataValue.md("\n".join(f"- {r}" for r in refused[:200]) or "none")},
    )


# --- fleet snapshots ------------------------------------------------------------------------------------
REFRESH_SNAPSHOT_TAG = "fleet/refresh_snapshot"


def fresh_snapshot(
    context: dg.AssetExecutionContext, lake: Lake, vendor: str, asset: str, max_age_hours: float
) -> list[dict] | None:
    """The rows of a raw asset's snapshot (`Lake.snapshot_file`) while they may stand for a fetch now: taken
    less than `max_age_hours` ago, and the run not tagged `fleet/refresh_snapshot` (a refresh on demand)."""
    path = lake.snapshot_file(vendor, asset)
    if context.run.tags.get(REFRESH_SNAPSHOT_TAG, "").lower() in ("1", "true", "yes") or not lake.exists(path):
        return None
    rows = lake.read([path]).to_pylist()
    if not rows:
        return None
    age_h = (time.time() - min(r["fetched_at"] for r in rows).timestamp()) / 3600
    return rows if age_h < max_age_hours else None


def save_snapshot(
    lake: Lake, vendor: str, asset: str, responses: Iterable[tuple[str | None, str | None, Any]], day: date
) -> None:
    """Keep a complete fetch as the asset's snapshot ((plant_id, device_sn, response) triples, as landed)."""
    lake.write_file(lake.snapshot_file(vendor, asset), raw_table(day, responses))


# --- a vendor's raw assets, landed concurrently --------------------------------------------------------
@dataclass(frozen=True)
class RawTable:
    """One raw asset of a vendor. `prepare(context, client, lake)` runs once per run (it may call the API for
    what every day shares, such as a fleet list) and returns the fetcher of one day; `endpoints` are the
    endpoints it calls (its calls are counted by them); `reads` the vendor's other raw tables it needs landed
    first in the same run."""

    name: str
    endpoints: tuple[str, ...]
    prepare: Callable[[dg.AssetExecutionContext, Any, LakeResource], Callable[[date], DayLanding]]
    reads: tuple[str, ...] = ()
    description: str = ""


def raw_multi_asset(
    vendor: str, tables: list[RawTable], resource_key: str, client: Callable[[Any], Any], max_parallel: int = 8
) -> dg.AssetsDefinition:
    """The vendor's raw tables as one multi-asset (keys `<vendor>/<table>`, group `<vendor>_raw`), subsettable,
    each with its `nothing_refused` check. `client(resource)` gives the vendor's client from its resource.

    Within the step every selected table lands as soon as the tables it reads have landed, all concurrently:
    threads are fine, since they wait on the per-endpoint limiter. What succeeded is recorded; if any table
    failed, the step fails afterwards, naming every failure."""
    keys = {t.name: dg.AssetKey([vendor, t.name]) for t in tables}

    @dg.multi_asset(
        name=f"{vendor}_raw",
        specs=[
            dg.AssetSpec(
                keys[t.name],
                deps=[keys[r] for r in t.reads],
                description=t.description,
                group_name=f"{vendor}_raw",
                kinds={"parquet"},
                owners=["team:solar-data"],
                tags={"layer": "raw", "vendor": vendor},
                skippable=True,
            )
            for t in tables
        ],
        check_specs=[raw_check_spec(keys[t.name]) for t in tables],
        can_subset=True,
        partitions_def=daily_partitions,
        backfill_policy=backfill_policy(),
        required_resource_keys={resource_key, "lake", "vendors"},
    )
    def _raw(context):  # (no annotation: this module's annotations are strings, which Dagster cannot check)
        selected = [t for t in tables if keys[t.name] in context.selected_asset_keys]
        reason = skip_reason(context, context.resources.vendors, vendor)
        if reason is not None:
            for t in selected:
                yield skipped(reason, keys[t.name])
            return
        api = client(getattr(context.resources, resource_key))
        lake: LakeResource = context.resources.lake
        wanted = {t.name for t in selected}

        def run(t: RawTable) -> dg.MaterializeResult:
            fetch_day = t.prepare(context, api, lake)
            return land(
                context,
                lake.lake,
                vendor,
                t.name,
                lambda: api.counts_for(t.endpoints),
                fetch_day,
                asset_key=keys[t.name],
            )

        failures: dict[str, BaseException] = {}
        done: set[str] = set()
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix=f"{vendor}-raw") as pool:
            while len(done) + len(failures) < len(selected):
                for t in selected:
                    blocked = [r for r in t.reads if r in wanted and r not in done]
                    if t.name in done or t.name in failures or t.name in running.values():
                        continue
                    if any(r in failures for r in blocked):
                        failures[t.name] = RuntimeError(
                            f"not landed: {', '.join(r for r in blocked if r in failures)} failed"
                        )
                    elif not blocked:
                        running[pool.submit(run, t)] = t.name
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - reported below, after what succeeded is recorded
                        failures[name] = exc
                    else:
                        done.add(name)
                        yield result
        if failures:
            raise dg.Failure(
                description=" | ".join(_failure_text(name, exc) for name, exc in failures.items()),
                metadata=_failure_metadata(failures),
            )

    return _raw


def _failure_text(name: str, exc: BaseException) -> str:
    return exc.description if isinstance(exc, dg.Failure) and exc.description else f"{name}: {exc}"


def _failure_metadata(failures: dict[str, BaseException]) -> dict:
    """The `failed` listing of every table that failed (what `land()` put in its Failure), merged."""
    lines = []
    for name, exc in failures.items():
        listing = (exc.metadata or {}).get("failed") if isinstance(exc, dg.Failure) else None
        lines.append(listing.value if listing is not None else f"- {name}: {exc}")
    return {"failed": dg.MetadataValue.md("\n".join(lines))}
