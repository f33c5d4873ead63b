"""SolaX Cloud's assets: the raw rounds (group solax_raw), staging (solax_staging), and its mapping into the
conformed layer (sql/conformed/solax/). The User API gives no portal statistics: plant_day_totals stays empty
for SolaX."""

from assets.conformed import VendorModels
from assets.solax.raw import raw_assets
from assets.solax.staging import STAGING, VENDOR, staging_assets

MODELS = VendorModels(
    VENDOR,
    STAGING,
    conformed={
        "plants": ("stg_plants",),
        "devices": ("stg_devices", "stg_meter_samples"),
        "samples": ("stg_device_samples", "stg_meter_samples"),
        "device_day_totals": ("stg_device_day_totals",),
        "alarms": ("stg_alarms",),
    },
)
assets = [*raw_assets, *staging_assets]
