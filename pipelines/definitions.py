"""The Dagster code location: `dagster dev -w workspace.yaml` or `-m pipelines.definitions`."""

import warnings

import dagster as dg

# backfill_policy is marked beta; single-run backfills are what this code location is built around.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from assets.checks import model_checks
from assets.marts import mart_assets
from assets.raw import raw_assets
from assets.staging import staging_assets
from pipelines.freshness import with_freshness
from pipelines.resources import build_resources
from pipelines.schedules import refresh_job, schedules
from pipelines.sensors import alarms_job, sensors

defs = dg.Definitions(
    assets=with_freshness([*raw_assets, *staging_assets, *mart_assets]),
    asset_checks=[*model_checks],
    jobs=[refresh_job, alarms_job],
    schedules=schedules,
    sensors=sensors,
    resources=build_resources(),
)
