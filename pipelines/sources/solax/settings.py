"""SolaX Cloud's section of the configuration (`SOLAX_*`) and the limits SolaX documents for a token."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.core.settings import env, env_int

DEFAULT_BASE_URL = "https://global.solaxcloud.com"
# The variable that enables the vendor. The sites file is needed too, but a missing one is an error to fix,
# not a vendor switched off.
VARIABLES = ("SOLAX_TOKEN_ID",)

# The one endpoint of the User API (token): the latest snapshot of one dongle.
REALTIME = "api/v2/dataAccess/realtimeInfo/get"

# What SolaX documents per token: 10 calls a minute and 10,000 a day; repeated violations lock the token out
# for an hour.
CALLS_PER_MINUTE = 10
CALLS_PER_DAY = 10_000
POLL_MINUTES = 5  # dongles upload every 5 minutes: polling faster only repeats snapshots
LOCKOUT_S = 3600


@dataclass(frozen=True, repr=False)
class SolaxSettings:
    token_id: str | None
    base_url: str
    sites_file: str | None
    calls_per_minute: int
    calls_per_day: int
    poll_minutes: int

    @classmethod
    def from_env(cls) -> SolaxSettings:
        settings = cls(
            token_id=env("SOLAX_TOKEN_ID"),
            base_url=(env("SOLAX_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL).rstrip("/"),
            sites_file=env("SOLAX_SITES_FILE"),
            calls_per_minute=env_int("SOLAX_CALLS_PER_MINUTE", CALLS_PER_MINUTE),
            calls_per_day=env_int("SOLAX_CALLS_PER_DAY", CALLS_PER_DAY),
            poll_minutes=env_int("SOLAX_POLL_MINUTES", POLL_MINUTES),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        for name, value in (
            ("SOLAX_CALLS_PER_MINUTE", self.calls_per_minute),
            ("SOLAX_CALLS_PER_DAY", self.calls_per_day),
            ("SOLAX_POLL_MINUTES", self.poll_minutes),
        ):
            if value < 1:
                raise ValueError(f"{name}={value}: at least 1")
        if self.poll_minutes > 1440:
            raise ValueError(f"SOLAX_POLL_MINUTES={self.poll_minutes}: at most 1440 (a day)")

    def __repr__(self) -> str:  # never show the token
        return (
            f"SolaxSettings(base_url={self.base_url!r}, sites_file={self.sites_file!r}, "
            f"calls_per_minute={self.calls_per_minute}, calls_per_day={self.calls_per_day}, "
            f"poll_minutes={self.poll_minutes})"
        )
