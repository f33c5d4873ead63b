"""SAJ's section of the configuration (`SAJ_*`) and the limits SAJ documents."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core.settings import env, env_int

DEFAULT_BASE_URL = "https://intl-developer.saj-electric.com/prod-api"
# The variables that enable the vendor: set both to land SAJ data.
VARIABLES = ("SAJ_APP_ID", "SAJ_APP_SECRET")

DEFAULT_QPS = 5.0
# Appendix A of the reference; everything else is 5 QPS. The token endpoint is not limited.
DOCUMENTED_QPS: dict[str, float | None] = {
    "access_token": None,
    "developer/auth/plantAuthByOpenapiKey": None,
    "developer/device/page": 5,
    "developer/plant/page": 5,
    "plant/getPlantAllDeviceList": 5,
    "device/baseinfo": 5,
    "device/batInfo": 5,
    "device/realtimeDataCommon": 150,
    "device/emsRealtimeDataCommon": 10,
    "device/uploadData": 50,
    "device/historyDataCommon": 5,
    "device/emsHistoryData": 5,
    "device/emsHistoryData4Meter": 5,
    "plant/details": 5,
    "plant/energy": 5,
    "plant/getPlantStatisticsData": 5,
    "device/secData": 5,
    "device/alarmList": 5,
    "device/getDeviceAlarmList": 5,
}


@dataclass(frozen=True, repr=False)
class SajSettings:
    app_id: str | None
    app_secret: str | None
    base_url: str
    alarm_poll_seconds: int

    @classmethod
    def from_env(cls) -> SajSettings:
        return cls(
            app_id=env("SAJ_APP_ID"),
            app_secret=env("SAJ_APP_SECRET"),
            base_url=(env("SAJ_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/"),
            alarm_poll_seconds=env_int("SAJ_ALARM_POLL_SECONDS", 180),
        )

    def __repr__(self) -> str:  # never show the secret
        return f"SajSettings(app_id={self.app_id!r}, base_url={self.base_url!r})"
