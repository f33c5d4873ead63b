"""SolaX's raw layer: every polled answer, verbatim, in lake/raw/solax/raw_realtime/date=D/ (one file per round).

The User API only tells the latest snapshot of a dongle: history exists only where the `solax_poll` job polled
(pipelines/sources/solax/jobs.py), and that job lands its rounds and reports them as materialisations of this
asset's day partitions. Materialising the asset for a day (a backfill, the daily and intraday schedules, the
CLI) therefore calls no API: it takes stock of the rounds landed for the day, so that the lineage reads
solax raw -> solax staging -> conformed -> marts and a day is rebuilt from what was polled. A day nobody
polled stays empty and says so: it cannot be fetched afterwards.
"""

import dagster as dg

from pipelines.core.landing import RAW_COLUMNS, raw_check_spec, refused_check, skip_reason, skipped
from pipelines.core.partitions import daily_partitions, days_of
from pipelines.core.resources import LakeResource, VendorsResource
from pipelines.sources.solax.poller import RAW_ASSET, VENDOR, day_summary

KEY = dg.AssetKey([VENDOR, RAW_ASSET])


@dg.asset(
    key=KEY,
    group_name=f"{VENDOR}_raw",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"parquet"},
    owners=["team:solar-data"],
    tags={"layer": "raw", "vendor": VENDOR},
    check_specs=[raw_check_spec(KEY)],
    description="Every answer of SolaX Cloud's realtime endpoint, verbatim, one file per polling round in the "
    "plant-local day of the poll, with the sites file the round used. Landed by the solax_poll job (each round "
    "reports its days here); materialising a day takes stock of its rounds without calling the API.",
)
def raw_realtime(context: dg.AssetExecutionContext, lake: LakeResource, vendors: VendorsResource):
    reason = skip_reason(context, vendors, VENDOR)
    if reason is not None:
        return skipped(reason)
    days = days_of(context)
    summaries = {day: day_summary(lake.lake, day) for day in days}
    unpolled = [day.isoformat() for day, s in summaries.items() if not s["rounds"]]
    if unpolled:
        context.log.warning(
            f"solax/raw_realtime: no polling round landed for {', '.join(unpolled)}. SolaX's User API has no "
            "history: a day that was not polled cannot be fetched afterwards (run the solax_poll schedule)."
        )
    refused = sorted({f"{day}: {r}" for day, s in summaries.items() for r in s["refused"]})
    rows = sum(s["answers"] for s in summaries.values())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "dagster/column_schema": RAW_COLUMNS,
            "days": len(days),
            "days_without_rounds": len(unpolled),
            "rounds": sum(s["rounds"] for s in summaries.values()),
            "dongles": max((s["dongles"] for s in summaries.values()), default=0),
            "per_day": dg.MetadataValue.json({d.isoformat(): s for d, s in summaries.items() if len(days) <= 31}),
            "path": dg.MetadataValue.path(str(lake.lake.table_dir("raw", VENDOR, RAW_ASSET))),
        },
        check_results=[refused_check(refused, "Refused by SolaX (fix the sites file or the dongle's account)")],
    )


raw_assets = [raw_realtime]
