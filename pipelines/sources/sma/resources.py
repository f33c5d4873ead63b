"""The SMA Monitoring API as a Dagster resource.

Credentials are not part of the resource's configuration unless a caller passes them (tests and the demo
do): by default the client reads `SMA_CLIENT_ID`/`SMA_CLIENT_SECRET` from the environment when it is
created, so the secret never shows in the Dagster UI's resource configuration, and an unconfigured SMA does
not stop the code location from loading (its assets then land nothing and say so).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from pipelines.sources.sma.client import SmaClient
from pipelines.sources.sma.settings import SmaSettings


class SmaApiResource(dg.ConfigurableResource):
    """SMA's Monitoring API (`SMA_CLIENT_ID`, `SMA_CLIENT_SECRET`, `SMA_AUTH_URL`, `SMA_CONSENT_URL`,
    `SMA_API_URL`, `SMA_TIME_BASIS`)."""

    cache_dir: str  # the shared token and rate-limit slots of this deployment
    client_id: str | None = None
    client_secret: str | None = None
    auth_url: str | None = None
    consent_url: str | None = None
    api_url: str | None = None
    qps_scale: float = 1.0
    max_workers: int = 16
    timeout_s: float = 30  # seconds to wait for one answer before retrying it

    _client: SmaClient | None = PrivateAttr(default=None)

    def settings(self) -> SmaSettings:
        env = SmaSettings.from_env()
        return SmaSettings(
            client_id=self.client_id or env.client_id,
            client_secret=self.client_secret or env.client_secret,
            auth_url=(self.auth_url or env.auth_url).rstrip("/"),
            consent_url=(self.consent_url or env.consent_url).rstrip("/"),
            api_url=(self.api_url or env.api_url).rstrip("/"),
            time_basis=env.time_basis,
        )

    @property
    def configured(self) -> bool:
        settings = self.settings()
        return bool(settings.client_id and settings.client_secret)

    def client(self) -> SmaClient:
        if self._client is None:
            settings = self.settings()
            self._client = SmaClient(
                client_id=settings.client_id,
                client_secret=settings.client_secret,
                api_url=settings.api_url,
                auth_url=settings.auth_url,
                consent_url=settings.consent_url,
                cache_dir=Path(self.cache_dir),
                qps_scale=self.qps_scale,
                max_workers=self.max_workers,
                timeout_s=self.timeout_s,
            )
        return self._client
