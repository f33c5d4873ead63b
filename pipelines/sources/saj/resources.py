"""The SAJ API as a Dagster resource.

Credentials are not part of the resource's configuration unless a caller passes them (tests do): by default
the client reads `SAJ_APP_ID`/`SAJ_APP_SECRET` from the environment when it is created, so the secret never
shows in the Dagster UI's resource configuration, and an unconfigured SAJ does not stop the code location
from loading (its assets then land nothing and say so).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from pipelines.sources.saj.client import SajClient
from pipelines.sources.saj.settings import SajSettings


class SajApiResource(dg.ConfigurableResource):
    """The SAJ Elekeeper Open Platform (`SAJ_APP_ID`, `SAJ_APP_SECRET`, `SAJ_BASE_URL`)."""

    cache_dir: str  # the shared token and rate-limit slots of this deployment
    app_id: str | None = None
    app_secret: str | None = None
    base_url: str | None = None
    qps_scale: float = 1.0
    max_workers: int = 16
    timeout_s: float = 30  # seconds to wait for one answer before retrying it

    _client: SajClient | None = PrivateAttr(default=None)

    def _settings(self) -> SajSettings:
        env = SajSettings.from_env()
        return SajSettings(
            app_id=self.app_id or env.app_id,
            app_secret=self.app_secret or env.app_secret,
            base_url=(self.base_url or env.base_url).rstrip("/"),
            alarm_poll_seconds=env.alarm_poll_seconds,
        )

    @property
    def configured(self) -> bool:
        settings = self._settings()
        return bool(settings.app_id and settings.app_secret)

    def client(self) -> SajClient:
        if self._client is None:
            settings = self._settings()
            self._client = SajClient(
                app_id=settings.app_id,
                app_secret=settings.app_secret,
                base_url=settings.base_url,
                cache_dir=Path(self.cache_dir),
                qps_scale=self.qps_scale,
                max_workers=self.max_workers,
                timeout_s=self.timeout_s,
            )
        return self._client
