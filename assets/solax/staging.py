"""SolaX's staging tables: the polled snapshots parsed into distinct uploads, samples cut at local hours, each
metered plant's meter stream, day totals from the counters, and alarms from status changes (SQL in
sql/staging/solax/). A day reads the rounds of the days around it too: its first sample starts at the last
upload of the day before, its last one ends at the first upload of the day after."""

from assets.staging import StagingSet, StagingTable

VENDOR = "solax"
RAW = ("raw_realtime",)

STAGING = StagingSet(
    [
        StagingTable(
            VENDOR,
            "stg_sites",
            raw=RAW,
            description="One row per dongle of the sites file (SOLAX_SITES_FILE) as the day's rounds used it: "
            "wifi_sn, plant_id, plant_name, IANA time zone, system power (kWp).",
        ),
        StagingTable(
            VENDOR,
            "stg_uploads",
            raw=RAW,
            raw_days_around=1,
            staged=("stg_sites",),
            description="One row per dongle and distinct upload seen by the polls of the day and the days around it "
            "(a dongle that did not upload repeats its last snapshot: one row, `polls` saw it): the instant "
            "(utcDateTime, else uploadTime in the plant's zone), powers (W), SOC, counters (kWh), inverter and "
            "battery status with their readable states; values no inverter could report are NULL (out_of_range).",
        ),
        StagingTable(
            VENDOR,
            "stg_devices",
            raw=(),
            staged=("stg_uploads",),
            description="One row per dongle: the inverter serial, its model (inverterType), its role read from what it "
            "reports (0 grid-tied, 1 hybrid, 2 AC-coupled storage), a grid meter, meter 2 (pv_scope 'plant').",
        ),
        StagingTable(
            VENDOR,
            "stg_device_samples",
            raw=(),
            staged=("stg_uploads", "stg_devices"),
            description="One row per piece, within the plant-local day, of each distinct upload's interval (since the "
            "dongle's previous upload), cut at local hours: energies (kWh) from the mean powers where consecutive "
            "uploads cover the interval, else from the counters (yieldtotal, feedinenergy, consumeenergy) spread by "
            "the power shape; mean powers (W); where each term came from; readable where the upload's powers "
            "describe the piece.",
        ),
        StagingTable(
            VENDOR,
            "stg_meter_samples",
            raw=(),
            staged=("stg_device_samples", "stg_devices"),
            description="One row per piece of each metered plant's meter stream: the plant's grid (its meter), PV "
            "(meter 2, or the PV inverters' sum), battery, and load from the balance pv + import + discharge - "
            "export - charge, the other dongles' energy taken in proportion to the overlap.",
        ),
        StagingTable(
            VENDOR,
            "stg_device_day_totals",
            raw=(),
            staged=("stg_device_samples",),
            description="One row per dongle and day: the day from its own counters (kWh): PV (yieldtotal), grid "
            "import and export (the meter's lifetime counters), the X1-AC's discharge; yieldtoday at its last "
            "upload of the day.",
        ),
        StagingTable(
            VENDOR,
            "stg_alarms",
            raw=(),
            staged=("stg_uploads", "stg_devices"),
            previous=("stg_alarms",),
            description="One row per alarm occurrence observed that day: a run of uploads in a fault state "
            "(inverterStatus 103/104, batStatus 1/2), from the first upload showing it to the first showing another "
            "state; an occurrence running across days keeps one id.",
        ),
        StagingTable(
            VENDOR,
            "stg_plants",
            raw=(),
            staged=("stg_sites", "stg_devices"),
            description="One row per plant of the sites file: name, zone, capacity, the plant kind its dongles "
            "reveal (0 grid-tied, 1 storage, 3 AC-coupled) and whether a grid meter reports.",
        ),
    ]
)

staging_assets = STAGING.assets()
