"""Where every vendor's client keeps its access token and its rate-limit schedule: chosen here, once, by configuration.

    token_store(cache_dir)            # TokenStore
    slot_store(cache_dir, shared)     # SlotStore, for pipelines.core.ratelimit.RateLimiter

- `FLEET_COORDINATION_URL` set (a libpq DSN): PostgreSQL (`pipelines.core.postgres`), shared by every thread,
  process and host of the deployment: one token per app, one budget per endpoint.
- otherwise, with a cache folder: files behind `flock` under it (the embedded default: the processes of one machine);
- without one: in memory (one client alone: tests, a script).

A token store holds small JSON records under a lock, one per key; besides tokens it keeps SolaX's call ledger
(`pipelines.sources.solax.quota.CallLedger`), the count of a token's daily quota every host must share.

`shared=False` asks for a schedule of the client's own (a rate limit not shared with other clients), whatever
the profile. Every vendor's resources call these functions; none chooses a store itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.core.ratelimit import FileSlotStore, MemorySlotStore, SlotStore
from pipelines.core.settings import env
from pipelines.core.tokens import FileTokenStore, MemoryTokenStore, TokenStore

COORDINATION = "FLEET_COORDINATION_URL"


def coordinated() -> bool:
    """True when the deployment coordinates through PostgreSQL."""
    return env(COORDINATION) is not None


def token_store(cache_dir: str | os.PathLike | None) -> TokenStore:
    if coordinated():
        from pipelines.core.postgres import PostgresTokenStore  # psycopg2 only where it is used

        return PostgresTokenStore(env(COORDINATION))
    if cache_dir is None:
        return MemoryTokenStore()
    return FileTokenStore(Path(cache_dir) / "tokens")


def slot_store(cache_dir: str | os.PathLike | None, shared: bool = True) -> SlotStore:
    if not shared:
        return MemorySlotStore()
    if coordinated():
        from pipelines.core.postgres import PostgresSlotStore

        return PostgresSlotStore(env(COORDINATION))
    if cache_dir is None:
        return MemorySlotStore()
    return FileSlotStore(Path(cache_dir) / "ratelimit")
