"""SMA's section of the configuration (`SMA_*`) and its rate limit.

Three base URLs, so that the sandbox or a stand-in is one variable away: the token endpoint is
`{SMA_AUTH_URL}/oauth2/token`, the owner-consent endpoint `{SMA_CONSENT_URL}/oauth2/v2/bc-authorize`, the
Monitoring API's paths (`/v1/plants`, ...) live under `SMA_API_URL` (the sandbox:
`https://sandbox.smaapis.de/monitoring`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core.settings import env

DEFAULT_AUTH_URL = "https://auth.smaapis.de"
DEFAULT_CONSENT_URL = "https://async-auth.smaapis.de"
DEFAULT_API_URL = "https://monitoring.smaapis.de"
# The variables that enable the vendor: set both to land SMA data.
VARIABLES = ("SMA_CLIENT_ID", "SMA_CLIENT_SECRET")
TIME_BASES = ("local", "utc")

# SMA limits the Monitoring API with one token bucket per API key (every endpoint draws on it), refilled
# every 5 minutes, and answers HTTP 429 with Retry-After past it; the bucket's size is not published. The
# client paces every Monitoring call under one budget at this rate and waits out a 429 for its Retry-After
# (pipelines.core.transport); the token and consent endpoints are not limited.
MONITORING = "monitoring"
PACE_QPS: dict[str, float | None] = {MONITORING: 10.0, "token": None, "consent": None}


@dataclass(frozen=True, repr=False)
class SmaSettings:
    client_id: str | None
    client_secret: str | None
    auth_url: str
    consent_url: str
    api_url: str
    time_basis: str  # how the series' `time` is written: plant-local wall time (as captured) or UTC (as the FAQ says)

    @classmethod
    def from_env(cls) -> SmaSettings:
        basis = (env("SMA_TIME_BASIS", "local") or "local").lower()
        if basis not in TIME_BASES:
            raise ValueError(f"SMA_TIME_BASIS={basis!r}: 'local' (plant wall time, the default) or 'utc'")
        return cls(
            client_id=env("SMA_CLIENT_ID"),
            client_secret=env("SMA_CLIENT_SECRET"),
            auth_url=_url("SMA_AUTH_URL", DEFAULT_AUTH_URL),
            consent_url=_url("SMA_CONSENT_URL", DEFAULT_CONSENT_URL),
            api_url=_url("SMA_API_URL", DEFAULT_API_URL),
            time_basis=basis,
        )

    def __repr__(self) -> str:  # never show the secret
        return f"SmaSettings(client_id={self.client_id!r}, api_url={self.api_url!r}, time_basis={self.time_basis!r})"


def _url(name: str, default: str) -> str:
    return (env(name, default) or default).rstrip("/")
