"""SMA Monitoring API's assets: raw landing (group sma_raw), staging (sma_staging), and its mapping into the
conformed layer (sql/conformed/sma/). Its plant day totals are the plant's counters as its EnergyBalance rows
give them (deltas of whole-Wh counters, a row after a gap carrying the gap's energy); it fills no
device_day_totals (the devices' sets would only repeat what their samples give)."""

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
        "plant_day_totals": ("stg_energy_balance",),
        "alarms": ("stg_alarms",),
    },
)
assets = [*raw_assets, *staging_assets]
