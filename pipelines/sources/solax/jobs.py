"""SolaX's polling: the `solax_poll` job (one round) and the schedule that starts it at the planned interval.

`dagster job execute -m pipelines.definitions -j solax_poll` is exactly one round: every dongle of the sites file
asked once, paced under the token's minute limit, the answers landed verbatim (pipelines/sources/solax/poller.py).
The job is an op, not an asset job, so that it needs no partition: a round touches the plant-local today of
every plant, whatever their zones, and reports each day it landed as a materialisation of that day's partition
of `solax/raw_realtime`; the day-partitioned graph (solax staging -> conformed -> marts) then builds from every
round of the day, through the same schedules and backfills as every vendor.

The schedule (`solax_poll_schedule`) starts a round every interval the quota planner gives for the sites file
read when the code location loaded (`quota.plan`; the cron is exact, see `quota.cron_schedules`). A tick is
skipped, saying why, while SolaX is not configured, while the previous round still runs, while the shared ledger
says the token is locked out, or when the sites file grew since loading and the new plan wants a longer
interval (reload the code location to re-plan). A bad sites file is not skipped: the run fails with its lines
and reasons, where an operator sees it.
"""

import dagster as dg

from pipelines.core.errors import ConfigurationError
from pipelines.core.landing import lineage
from pipelines.core.partitions import daily_partitions
from pipelines.core.resources import LakeResource
from pipelines.schedules import SETTINGS, TRIGGER_TAG, _in_flight
from pipelines.sources.solax.client import HINTS, NO_DATA
from pipelines.sources.solax.poller import RAW_ASSET, VENDOR, land_round, poll_round, utc_text
from pipelines.sources.solax.quota import Plan, cron_schedules, plan
from pipelines.sources.solax.resources import SolaxApiResource
from pipelines.sources.solax.settings import VARIABLES, SolaxSettings
from pipelines.sources.solax.sites import load_sites

TRIGGER = "solax_poll"
RAW_KEY = dg.AssetKey([VENDOR, RAW_ASSET])


@dg.op(
    name="solax_poll_round",
    out=dg.Out(dg.Nothing),
    description="One polling round: every dongle of SOLAX_SITES_FILE asked once, paced under the token's limits, "
    "the answers landed verbatim in lake/raw/solax/raw_realtime/ (one file per round and plant-local day).",
    tags={"vendor": VENDOR},
)
def solax_poll_round(context: dg.OpExecutionContext, solax: SolaxApiResource, lake: LakeResource):
    if not solax.configured:
        raise dg.Failure(description=f"SolaX is not configured: set {' and '.join(VARIABLES)} (README, 'SolaX Cloud').")
    sites = solax.sites()  # a bad file fails here, naming its lines
    round_plan = solax.plan(sites)
    client = solax.client()
    ledger = solax.ledger(client)
    with client:
        rnd = poll_round(client, sites, ledger, round_plan)
    landed = land_round(lake.lake, rnd, lineage(context))
    start = daily_partitions.start.date()
    for day, what in landed.items():
        if day < start:
            context.log.warning(f"solax: {day} is before FLEET_START_DATE ({start}): landed, not reported")
            continue
        yield dg.AssetMaterialization(
            asset_key=RAW_KEY,
            partition=day.isoformat(),
            description=f"one polling round: {what['responses']} answer(s) of {what['dongles']} dongle(s)",
            metadata={
                "responses": what["responses"],
                "dongles": what["dongles"],
                "plants": what["plants"],
                "path": dg.MetadataValue.path(str(what["path"])),
            },
        )
    now = client.clock()
    used = ledger.calls_last_24h(now)
    p = rnd.plan
    metadata = {
        "interval_minutes": p.interval_min,  # the interval in force: the plan for the sites file as read now
        "interval_bound_by": p.bound_by,
        "dongles": p.dongles,
        "rounds_per_day": p.rounds_per_day,
        "planned_calls_per_day": p.calls_per_day,
        "calls_per_day_limit": p.per_day,
        "calls_per_minute_limit": p.per_minute,
        "dongles_asked": rnd.asked,
        "answers": len(rnd.answers),
        "new_uploads": rnd.new_uploads,
        "repeated_uploads": rnd.repeats,
        "no_data_yet": len(rnd.no_data),
        "failed": len(rnd.failures),
        "refused": len(rnd.refused),
        "not_asked": len(rnd.not_asked),
        "calls_this_round": rnd.calls,
        "calls_last_24h": used,
        "quota_left_24h": max(0, rnd.plan.per_day - used),
        "days_landed": dg.MetadataValue.json(sorted(d.isoformat() for d in landed)),
    }
    for site, error in rnd.refused:
        context.log.error(f"solax: dongle {site.wifi_sn} (sites file line {site.line}) refused: {error}")
    for site in rnd.no_data:
        context.log.warning(f"solax: dongle {site.wifi_sn} (sites file line {site.line}): {HINTS[NO_DATA]}")
    problems = [f"dongle {site.wifi_sn}: {error}" for site, error in rnd.failures]
    if rnd.stopped or problems:
        raise dg.Failure(
            description=(f"SolaX round stopped: {rnd.stopped.rstrip('.')}. " if rnd.stopped else "")
            + (f"{len(problems)} call(s) failed: " + "; ".join(problems[:3]) + ". " if problems else "")
            + f"What came back is landed ({sum(w['responses'] for w in landed.values())} answer(s)); polls that did "
            "not happen cannot be made up later.",
            metadata=metadata,
        )
    context.log.info(
        f"solax: {len(rnd.answers)} of {len(sites)} dongles answered ({rnd.new_uploads} new uploads, {rnd.repeats} "
        f"repeated); {used} calls in the last 24 h of {rnd.plan.per_day}; {rnd.plan.describe()}"
    )
    yield dg.Output(None, metadata=metadata)


@dg.job(
    name="solax_poll",
    executor_def=dg.in_process_executor,
    description="One SolaX polling round (every dongle of SOLAX_SITES_FILE once). Its schedule runs it at the "
    "interval the token's quota allows; from the CLI: dagster job execute -m pipelines.definitions -j solax_poll.",
    tags={"vendor": VENDOR},
)
def solax_poll():
    solax_poll_round()


def planned_at_load() -> tuple[Plan | None, str]:
    """The plan for the sites file as the code location loads (never raises: a deployment without SolaX, or with
    a sites file to fix, still loads), and what it is based on."""
    try:
        settings = SolaxSettings.from_env()
        if not settings.token_id:
            return None, "SolaX is not configured"
        return plan(len(load_sites(settings.sites_file)), settings), "the sites file at load"
    except (ConfigurationError, ValueError) as exc:
        return None, f"no plan ({exc})"


PLAN, PLAN_BASIS = planned_at_load()


def _interval() -> int:
    """The schedule's interval: the plan's, else SOLAX_POLL_MINUTES (else 5)."""
    if PLAN is not None:
        return PLAN.interval_min
    try:
        return SolaxSettings.from_env().poll_minutes
    except ValueError:
        return 5


@dg.schedule(
    name="solax_poll_schedule",
    job=solax_poll,
    cron_schedule=CRONS[0] if len(CRONS := cron_schedules(_interval())) == 1 else CRONS,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING if SETTINGS.running else dg.DefaultScheduleStatus.STOPPED,
    description=f"A SolaX polling round every {_interval()} min: "
    + (PLAN.describe() if PLAN else f"{PLAN_BASIS}; SOLAX_POLL_MINUTES until the sites file can be read")
    + ". Skipped while a round runs or the token is locked out.",
)
def solax_poll_schedule(context: dg.ScheduleEvaluationContext, solax: SolaxApiResource, lake: LakeResource):
    if not solax.configured:
        return dg.SkipReason(f"SolaX is not configured (set {' and '.join(VARIABLES)} to poll it)")
    if _in_flight(context, TRIGGER):
        return dg.SkipReason("the previous SolaX round is still queued or running")
    now = context.scheduled_execution_time.timestamp()
    try:
        current = solax.plan(solax.sites())
    except (ConfigurationError, ValueError):
        current = None  # the run fails with the sites file's problems, where they are seen
    if current is not None:
        state = solax.ledger(solax.client()).state(now)
        if state.blocked is not None:
            return dg.SkipReason(f"no SolaX call before {utc_text(state.blocked[0])}: {state.blocked[1]}")
        last = state.last_round
        if current.interval_min > _interval() and last is not None and now - last < current.interval_min * 60 - 30:
            return dg.SkipReason(
                f"the sites file now has {current.dongles} dongles: the quota allows a round every "
                f"{current.interval_min} min, not {_interval()}; reload the code location to re-plan the schedule"
            )
    return dg.RunRequest(tags={TRIGGER_TAG: TRIGGER})


schedules = [solax_poll_schedule]
