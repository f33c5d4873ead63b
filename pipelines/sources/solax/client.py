"""The SolaX Cloud User API (token) client: one call, the latest snapshot of one dongle.

    POST {SOLAX_BASE_URL}/api/v2/dataAccess/realtimeInfo/get   header tokenId, JSON {"wifiSn": ...}

Built on the core transport (`pipelines.core.transport`: pacing, retries of 5xx, truncated bodies and the
service's generic failure, stats). This module says what SolaX's answers mean:

- success is `success: true` with `code` 0 and a `result` object; `code` 2002 (the dongle never uploaded)
  comes back as an answer too, so the raw layer keeps it;
- the token refused (1001, 103) raises `ApiCredentialsError`; a dongle the token may not read (1003, or the
  code-less "no auth!" / "this sn did not access!" bodies) `ApiPermissionError`; 1002 `ApiParameterError`;
- the limits (104: the minute, 3: the day, 1: locked out for an hour) raise `QuotaError` at once, never
  retried here: every refused call is a violation, three in a row lock the token out, so only the poller,
  which sees the whole round, decides when to ask again (`pipelines.sources.solax.poller`).

The token is a secret: it travels only in the `tokenId` header, is registered for redaction, and is scrubbed
from every body before anything keeps it (the lock-out answer echoes it). `clock` is the time the client
lives in (a stand-in's movable clock in tests and the demo): it paces the calls and stamps `fetched_at`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.core import stores
from pipelines.core import transport as kinds
from pipelines.core.errors import (
    ApiCredentialsError,
    ApiError,
    ApiParameterError,
    ApiPermissionError,
    ConfigurationError,
    redact_text,
    register_secret,
)
from pipelines.core.ratelimit import RateLimiter
from pipelines.core.transport import ApiClient, ApiResponse
from pipelines.sources.solax.settings import CALLS_PER_MINUTE, LOCKOUT_S, REALTIME, VARIABLES

VENDOR = "SolaX"
NO_DATA = 2002  # "Data not found": the dongle has not uploaded anything yet

# What a code means. The limits are kinds of their own: the transport raises them at once.
CREDENTIAL_CODES = frozenset({1001, 103})
PERMISSION_CODES = frozenset({1003})
PARAMETER_CODES = frozenset({1002, 1004})
TRANSIENT_CODES = frozenset({2001})
MINUTE, DAY, LOCKED = "quota_minute", "quota_day", "quota_locked"
QUOTA_CODES = {104: MINUTE, 3: DAY, 1: LOCKED}
PERMISSION_TEXTS = ("no auth!", "this sn did not access!")

HINTS = {
    kinds.CREDENTIALS: "the tokenId was refused: copy it again from SolaX Cloud (Service > API) into SOLAX_TOKEN_ID "
    "(regenerating it on the portal ends the old one), and check that SOLAX_BASE_URL is your account's server "
    "(global, eu, in or na .solaxcloud.com).",
    kinds.PERMISSION: "this token may not read the dongle: check the wifi_sn in SOLAX_SITES_FILE is the dongle's "
    "registration number (10 characters, the 'sn' SolaX Cloud shows; not the inverter's serial) and that the "
    "dongle belongs to the account of SOLAX_TOKEN_ID.",
    kinds.PARAMETER: "SolaX refused the request's parameters: check the wifi_sn in SOLAX_SITES_FILE.",
    NO_DATA: "SolaX has no upload from this dongle yet: check that it is online (its Wi-Fi or LAN) and registered "
    "in SolaX Cloud; it is polled again every round.",
    MINUTE: "more calls reached the token in one minute than SolaX allows (another program using the token, or "
    "SOLAX_CALLS_PER_MINUTE above the account's limit): the round waits a minute before asking again.",
    DAY: "the token's calls for the day are used up (another program using the token, or SOLAX_CALLS_PER_DAY above "
    "the account's limit): polling pauses for an hour; poll fewer dongles or less often (SOLAX_POLL_MINUTES).",
    LOCKED: f"SolaX locked the token out after repeated violations of its limits: polling pauses for "
    f"{LOCKOUT_S // 60} minutes without calling; make sure no other program uses this token.",
}


class QuotaError(ApiError):
    """SolaX refused a call for the token's limits; `kind` says which (MINUTE, DAY or LOCKED)."""

    kind = ""


class MinuteLimitError(QuotaError):
    kind = MINUTE


class DayLimitError(QuotaError):
    kind = DAY


class LockedOutError(QuotaError):
    kind = LOCKED


_QUOTA_ERRORS = {MINUTE: MinuteLimitError, DAY: DayLimitError, LOCKED: LockedOutError}


@dataclasses.dataclass(frozen=True, repr=False)
class SolaxResponse(ApiResponse):
    """An answer of the User API, with every registered secret (the token) scrubbed from its body."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "body_text", redact_text(self.body_text))
        if self.msg is not None:
            object.__setattr__(self, "msg", redact_text(self.msg))

    @property
    def result(self) -> dict | None:
        payload = self.payload
        result = payload.get("result") if isinstance(payload, dict) else None
        return result if isinstance(result, dict) else None


def envelope(payload: Any) -> tuple[int | None, str | None]:
    """`code` (absent in some bodies) and `exception`, SolaX's message."""
    if not isinstance(payload, dict):
        return None, None
    code = payload.get("code")
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    msg = payload.get("exception")
    return code, (str(msg) if msg is not None else None)


def classify(payload: Any, code: int | None) -> str:
    if not isinstance(payload, dict):
        return kinds.OTHER
    if code in QUOTA_CODES:
        return QUOTA_CODES[code]
    if payload.get("success") is True and code in (0, None):
        return kinds.OK if isinstance(payload.get("result"), dict) else kinds.OTHER
    if code in CREDENTIAL_CODES:
        return kinds.CREDENTIALS
    if code in PERMISSION_CODES:
        return kinds.PERMISSION
    if code is None and any(
        str(payload.get(key, "")).strip() == text for key in ("exception", "result") for text in PERMISSION_TEXTS
    ):
        return kinds.PERMISSION  # the code-less bodies users report for a serial the token may not read
    if code in PARAMETER_CODES:
        return kinds.PARAMETER
    if code in TRANSIENT_CODES:
        return kinds.TRANSIENT
    return kinds.OTHER


class SolaxClient(ApiClient):
    """Client of the SolaX Cloud User API (see the module docstring).

    cache_dir: where the pacing slots live, shared by every process of the deployment (None: this process
    only). calls_per_minute: the token's limit the calls are paced under (at 95 % of it).
    """

    vendor = VENDOR
    response_class = SolaxResponse

    def __init__(
        self,
        token_id: str | None,
        base_url: str,
        cache_dir: str | Path | None = None,
        calls_per_minute: int = CALLS_PER_MINUTE,
        *,
        rate_limit: bool = True,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 3,
        **transport: Any,
    ) -> None:
        if not token_id:
            raise ConfigurationError(
                f"SolaX token missing: set {VARIABLES[0]} to the tokenId of SolaX Cloud (Service > API); "
                "see README, 'SolaX Cloud'."
            )
        register_secret(token_id)
        self._token = token_id
        self.clock = clock
        self.sleep = sleep
        base_url = base_url.rstrip("/")
        # who shares the budget: the token (hashed: the name of the slot file must not reveal it) and the server
        self.namespace = hashlib.sha256(f"{token_id}\n{base_url}".encode()).hexdigest()[:16]
        store = stores.slot_store(cache_dir)
        limiter = RateLimiter(
            {REALTIME: calls_per_minute / 60.0},
            None,
            enabled=rate_limit,
            store=store,
            namespace=self.namespace,
            sleep=sleep,
            clock=clock,
        )
        # one dongle per call and a quota of calls: no thread pool, and few attempts (each costs quota)
        super().__init__(base_url, limiter, None, max_attempts=max_attempts, max_workers=1, **transport)

    def __repr__(self) -> str:
        return f"SolaxClient(base_url={self.base_url!r})"

    # --- what SolaX's answers mean -------------------------------------------------------------
    def envelope(self, payload: Any) -> tuple[int | None, str | None]:
        return envelope(payload)

    def classify(self, response: ApiResponse) -> str:
        kind = classify(response.payload, response.code)
        if kind == kinds.OTHER and response.http_status >= 400:
            return kinds.HTTP_ERROR
        return kind

    def error(self, kind: str, endpoint: str, params: dict[str, Any], response: ApiResponse) -> ApiError:
        cls = {
            kinds.CREDENTIALS: ApiCredentialsError,
            kinds.PERMISSION: ApiPermissionError,
            kinds.PARAMETER: ApiParameterError,
            **_QUOTA_ERRORS,
        }.get(kind, ApiError)
        return cls(VENDOR, endpoint, params, response.code, response.msg, response=response, hint=HINTS.get(kind))

    # --- the call -----------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def realtime(self, wifi_sn: str) -> SolaxResponse:
        """The latest snapshot of dongle `wifi_sn` (or its "no data yet" answer, code 2002), stamped with
        the client's clock. Raises an `ApiError` subclass otherwise, carrying the last answer."""
        try:
            response = self.request(
                REALTIME,
                method="POST",
                body={"wifiSn": wifi_sn},
                headers={"tokenId": self._token, "Content-Type": "application/json"},
                accept_codes={NO_DATA},
            )
        except ApiError as exc:
            if exc.response is not None:
                exc.response = dataclasses.replace(exc.response, fetched_at=self.now())
            raise
        return dataclasses.replace(response, fetched_at=self.now())  # type: ignore[return-value]

    def wait(self, seconds: float) -> None:
        """Wait on the client's clock (a pause the poller decides, e.g. for a minute window to slide)."""
        if seconds > 0:
            self.sleep(seconds)
