"""SMA Monitoring API's assets: raw landing (group sma_raw), staging (sma_staging), and its mapping into the
conformed layer (sql/conformed/sma/). SMA gives no independent day counters of devices or plants through the
Day series it serves, so it fills neither device_day_totals nor plant_day_totals."""

from assets.conformed import VendorModels
from assets.sma.raw import raw_assets
from assets.sma.staging import STAGING, VENDOR, staging_assets

MODELS = VendorModels(
    VENDOR,
    STAGING,
    conformed={
        "plants": ("stg_plants", "stg_devices"),
        "devices": ("stg_devices",),
        "samples": ("stg_energy_balance", "stg_device_samples", "stg_devices"),
        "alarms": ("stg_alarms",),
    },
)
assets = [*raw_assets, *staging_assets]
