"""The Dagster code location: `dagster dev -w workspace.yaml` or `-m pipelines.definitions`.

Every vendor's raw and staging assets (groups `<vendor>_raw`, `<vendor>_staging`, keys `<vendor>/...`), the
conformed layer they feed (group `conformed`) and the public marts (group `marts`, each with its checks), the
schedules over the whole graph, and each vendor's own jobs and sensors.
"""

import warnings

import dagster as dg

# backfill_policy is marked beta; single-run backfills are what this code location is built around.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from assets.conformed import conformed_assets  # noqa: E402
from assets.marts import mart_assets  # noqa: E402
from assets.vendors import VENDOR_ASSETS, VENDOR_MODELS  # noqa: E402
from pipelines.freshness import with_freshness  # noqa: E402
from pipelines.resources import build_resources  # noqa: E402
from pipelines.schedules import refresh_job, schedules  # noqa: E402
from pipelines.sources.saj.sensors import alarms_job, sensors  # noqa: E402
from pipelines.sources.solax.jobs import schedules as solax_schedules  # noqa: E402
from pipelines.sources.solax.jobs import solax_poll  # noqa: E402

defs = dg.Definitions(
    assets=with_freshness([*VENDOR_ASSETS, *conformed_assets(VENDOR_MODELS), *mart_assets]),
    jobs=[refresh_job, alarms_job, solax_poll],
    schedules=[*schedules, *solax_schedules],
    sensors=sensors,
    resources=build_resources(),
    # Every run in one process, CLI and UI alike: a run is a few dozen steps whose own work is seconds, and a
    # process per step (the multiprocess executor, Dagster's default) cost ~5 s each. Each vendor's endpoints
    # already run concurrently inside its raw step. A large backfill of the models may still choose the
    # multiprocess executor in the launchpad (see README, 'Operating it').
    executor=dg.in_process_executor,
)
