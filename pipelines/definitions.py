"""The Dagster code location: `dagster dev -w workspace.yaml` or `-m pipelines.definitions`."""

import warnings

import dagster as dg

# backfill_policy is marked beta; single-run backfills are what this code location is built around.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from assets.checks import model_checks
from assets.marts import mart_assets
from assets.raw import raw_assets
from assets.staging import staging_assets
from pipelines.resources import build_resources

defs = dg.Definitions(
    assets=[*raw_assets, *staging_assets, *mart_assets],
    asset_checks=[*model_checks],
    resources=build_resources(),
)
