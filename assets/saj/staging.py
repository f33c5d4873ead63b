"""SAJ's staging tables: its raw responses parsed into typed rows (SQL in sql/staging/saj/)."""

from assets.staging import StagingSet, StagingTable

VENDOR = "saj"

STAGING = StagingSet(
    [
        StagingTable(
            VENDOR,
            "stg_plants",
            raw=("raw_plants",),
            description="One row per plant and day from plant/details: name, plant type (0 grid-tied, 1 storage, "
            "3 AC-coupled), IANA time zone, country, system power (kWp), whether a load monitor is installed.",
        ),
        StagingTable(
            VENDOR,
            "stg_devices",
            raw=("raw_devices",),
            description="One row per device and day from plant/getPlantAllDeviceList: inverters with their type "
            "(0 grid-tied, 1 storage, 2 AC-coupled) and model, and load monitors.",
        ),
        StagingTable(
            VENDOR,
            "stg_device_samples",
            raw=("raw_upload_data",),
            staged=("stg_plants",),
            description="One row per device and 5-minute sample from device/uploadData (timeUnit 0): powers in W, "
            "battery SOC in % (-1 → NULL), the plant-local stamp as sent and its UTC instant (the repeated hour "
            "of the day daylight-saving time ends resolved by the order of the samples). Duplicates removed.",
        ),
        StagingTable(
            VENDOR,
            "stg_device_day_totals",
            raw=("raw_upload_data",),
            description="One row per device and day: the device's own day totals from device/uploadData "
            "(timeUnit 1) in kWh: PV, and for storage devices load, grid buy and sell.",
        ),
        StagingTable(
            VENDOR,
            "stg_load_monitor_samples",
            raw=("raw_sec_data",),
            staged=("stg_plants",),
            description="One row per plant, load monitor and 5-minute sample from device/secData: PV, load, "
            "self-use, grid buy and sell in W, with the UTC instant.",
        ),
        StagingTable(
            VENDOR,
            "stg_plant_statistics",
            raw=("raw_plant_statistics",),
            description="One row per plant and day from plant/getPlantStatisticsData: the portal's today/month/"
            'year/total counters as kWh numbers ("" → NULL).',
        ),
        StagingTable(
            VENDOR,
            "stg_alarms",
            raw=("raw_alarms",),
            staged=("stg_devices", "stg_plants"),
            description="One row per alarm occurrence the day's device/alarmList shows (90 days of starts), with "
            "what device/getDeviceAlarmList adds where asked (SAJ's alarmID, the end); start and end in UTC.",
        ),
    ]
)

staging_assets = STAGING.assets()
