"""SAJ Elekeeper's assets: raw landing (group saj_raw), staging (saj_staging), and its mapping into the
conformed layer (sql/conformed/saj/)."""

from assets.conformed import VendorModels
from assets.saj.raw import raw_assets
from assets.saj.staging import STAGING, VENDOR, staging_assets

MODELS = VendorModels(
    VENDOR,
    STAGING,
    conformed={
        "plants": ("stg_plants",),
        "devices": ("stg_devices",),
        "samples": ("stg_device_samples", "stg_load_monitor_samples"),
        "device_day_totals": ("stg_device_day_totals",),
        "plant_day_totals": ("stg_plant_statistics",),
        "alarms": ("stg_alarms",),
    },
)
assets = [*raw_assets, *staging_assets]
