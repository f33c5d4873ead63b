"""SMA's staging tables: its raw responses parsed into typed rows (SQL in sql/staging/sma/).

Its SQL binds `$time_basis` besides `$day`: how SMA writes the series' times (`SMA_TIME_BASIS`: plant-local
wall time, as every captured response shows, or UTC, as SMA's FAQ says). The two series tables check that no
PV reading is more than the inverters can produce (a newly added device's first reading can be absurd): such a
reading is rejected (its interval's PV unknown, its hour incomplete) and the check names the device or plant and
the day.
"""

from assets.checks import Check
from assets.staging import StagingSet, StagingTable
from pipelines.sources.sma.settings import SmaSettings

VENDOR = "sma"
IMPLAUSIBLE = (
    "No PV reading exceeds 1.2 x the AC nominal power of {who} over the reading's interval. SMA's first reading of "
    "a newly added device can be absurd (its counter starting from another device's total); such a reading is "
    "rejected: its interval's PV is unknown (NULL) and its hour incomplete."
)


def _implausible(table: str, who: str, extra: str) -> Check:
    return Check(
        table,
        f"{table}_pv_plausible",
        IMPLAUSIBLE.format(who="the device (its generatorPower)" if who == "device_id" else "the plant's inverters"),
        f"SELECT {who}, day, {extra}ts_sent AS row_time, pv_wh, round(pv_limit_wh) AS limit_wh FROM {table} "
        f"WHERE NOT plausible ORDER BY {who}, day, end_utc",
    )


STAGING = StagingSet(
    [
        StagingTable(
            VENDOR,
            "stg_plants",
            raw=("raw_plants",),
            description="One row per plant and day from /v1/plants: name, IANA time zone, country code, peak and AC "
            "nominal power (W; NULL where Sunny Portal says 'not configured'), location, commissioning.",
        ),
        StagingTable(
            VENDOR,
            "stg_devices",
            raw=("raw_devices",),
            description="One row per device and day from /v1/plants/{plantId}/devices/lean (deactivated ones too): "
            "type, product, serial, AC and DC nominal power (W), deactivation (plant-local), and the measurement "
            "sets it offers.",
        ),
        StagingTable(
            VENDOR,
            "stg_energy_balance",
            raw=("raw_energy_balance",),
            staged=("stg_plants", "stg_devices"),
            description="One row per plant and EnergyBalance row of its local day: Wh of PV, consumption, grid "
            "purchase and feed-in, battery charge and discharge (NULL where SMA left the property out), SOC, and "
            "the interval the row stands for (SMA stamps the END; a row after missing rows carries their energy).",
            checks=(_implausible("stg_energy_balance", "plant_id", ""),),
        ),
        StagingTable(
            VENDOR,
            "stg_device_samples",
            raw=("raw_device_sets",),
            staged=("stg_plants", "stg_devices"),
            description="One row per device, set and row of the plant-local day from the EnergyAndPowerPv and "
            "EnergyAndPowerBattery sets: Wh of PV, battery charge and discharge, SOC, and the interval it stands "
            "for.",
            checks=(_implausible("stg_device_samples", "device_id", "plant_id, set_type, "),),
        ),
        StagingTable(
            VENDOR,
            "stg_alarms",
            raw=("raw_logs",),
            staged=("stg_plants",),
            description="One row per fault occurrence seen in the day's plant and device logs: its device, message, "
            "event id, category, start and end in UTC (paired Began/Ended entries), open/closed.",
        ),
    ],
    params=lambda: {"time_basis": SmaSettings.from_env().time_basis},
)

staging_assets = STAGING.assets()
