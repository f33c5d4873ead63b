"""The SolaX Cloud User API as a Dagster resource.

The token is not part of the resource's configuration unless a caller passes it (tests do): by default the
client reads `SOLAX_TOKEN_ID` from the environment when it is created, so the token never shows in the
Dagster UI's resource configuration, and an unconfigured SolaX does not stop the code location from loading
(its assets then land nothing and say so). The other settings (`SOLAX_BASE_URL`, `SOLAX_SITES_FILE`,
`SOLAX_CALLS_PER_MINUTE`, `SOLAX_CALLS_PER_DAY`, `SOLAX_POLL_MINUTES`) come from the environment too, unless
given here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from pipelines.sources.solax.client import SolaxClient
from pipelines.sources.solax.quota import CallLedger, Plan, plan
from pipelines.sources.solax.settings import SolaxSettings
from pipelines.sources.solax.sites import Sites, load_sites


class SolaxApiResource(dg.ConfigurableResource):
    """SolaX Cloud's User API (`SOLAX_TOKEN_ID` enables it; see README, 'SolaX Cloud')."""

    cache_dir: str  # the shared pacing slots and call ledger of this deployment
    token_id: str | None = None
    base_url: str | None = None
    sites_file: str | None = None
    calls_per_minute: int | None = None
    calls_per_day: int | None = None
    poll_minutes: int | None = None
    timeout_s: float = 30  # seconds to wait for one answer before retrying it

    def settings(self) -> SolaxSettings:
        env = SolaxSettings.from_env()
        overrides = {
            "token_id": self.token_id,
            "base_url": self.base_url.rstrip("/") if self.base_url else None,
            "sites_file": self.sites_file,
            "calls_per_minute": self.calls_per_minute,
            "calls_per_day": self.calls_per_day,
            "poll_minutes": self.poll_minutes,
        }
        settings = dataclasses.replace(env, **{k: v for k, v in overrides.items() if v is not None})
        settings.validate()
        return settings

    @property
    def configured(self) -> bool:
        return bool(self.settings().token_id)

    def client(
        self, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> SolaxClient:
        settings = self.settings()
        return SolaxClient(
            settings.token_id,
            settings.base_url,
            cache_dir=Path(self.cache_dir),
            calls_per_minute=settings.calls_per_minute,
            clock=clock,
            sleep=sleep,
            timeout_s=self.timeout_s,
        )

    def sites(self) -> Sites:
        return load_sites(self.settings().sites_file)

    def plan(self, sites: Sites) -> Plan:
        return plan(len(sites), self.settings())

    def ledger(self, client: SolaxClient) -> CallLedger:
        return CallLedger(self.cache_dir, client.namespace)
