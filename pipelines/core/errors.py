"""Typed errors of every vendor's client, and the redaction every message goes through.

Every error that comes from an API answer carries the last `ApiResponse` (attribute `response`) so the raw
layer can land the error body verbatim. No message, `str()` or `repr()` ever contains a secret (an app
secret, a client secret, an access token): parameters with secret-looking names are masked, and every
secret registered with `register_secret` is scrubbed from any text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"

# Parameter / header names whose values are never shown.
_SECRET_KEY = re.compile(r"(secret|token|password|passwd|credential|sign|authorization|appkey)", re.I)

# Values registered at run time (app and client secrets, every access token this process has seen).
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret so `redact_text` scrubs it from any text (logs, exception messages)."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def redact_text(text: Any) -> str:
    """`text` as a string with every registered secret replaced by ***."""
    s = str(text)
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in s:
            s = s.replace(secret, REDACTED)
    return s


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(str(key)))


def redact_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `params` safe to log, store or show: secret-named keys and registered secrets masked."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if is_secret_key(key):
            out[key] = REDACTED
        elif isinstance(value, str):
            out[key] = redact_text(value)
        else:
            out[key] = value
    return out


class FleetError(Exception):
    """Base of every error the pipeline raises about a vendor: its text is always scrubbed of secrets."""

    def __str__(self) -> str:  # scrub, whatever a subclass put in args
        return redact_text(super().__str__())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ConfigurationError(FleetError):
    """A vendor is not configured or misconfigured; the message names the variables to set."""


class ApiError(FleetError):
    """A vendor's API answered something the caller did not accept; `hint` says what to do about it."""

    def __init__(
        self,
        vendor: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        code: int | None,
        msg: str | None,
        response: Any = None,
        hint: str | None = None,
    ) -> None:
        self.vendor = vendor
        self.endpoint = endpoint
        self.params = redact_params(params)
        self.code = code
        self.msg = msg
        self.response = response
        self.hint = hint or generic_hint(vendor, getattr(response, "http_status", None))
        super().__init__(self._message())

    def _message(self) -> str:
        status = getattr(self.response, "http_status", None)
        what = f"code {self.code}" if self.code is not None else f"HTTP {status}"
        msg = f" ({self.msg})" if self.msg else ""
        return f"{self.vendor} API {self.endpoint} {self.params} answered {what}{msg}: {self.hint}"

    def __reduce__(self):  # picklable across processes (Dagster, multiprocessing)
        return (type(self), (self.vendor, self.endpoint, self.params, self.code, self.msg, None, self.hint))


class ApiCredentialsError(ApiError):
    """The credentials are missing or refused."""


class ApiPermissionError(ApiError):
    """The credentials may not see this plant or device."""


class ApiParameterError(ApiError):
    """The server rejected the request's parameters."""


class ApiTransientError(ApiError):
    """A call kept failing transiently (5xx, network, system errors, truncated bodies, rate limits) until
    the attempts ran out."""

    def __init__(
        self,
        vendor: str,
        endpoint: str,
        params: Mapping[str, Any] | None,
        attempts: int,
        last_cause: str,
        response: Any = None,
        code: int | None = None,
        msg: str | None = None,
    ) -> None:
        self.attempts = attempts
        self.last_cause = redact_text(last_cause)
        super().__init__(
            vendor,
            endpoint,
            params,
            code,
            msg,
            response=response,
            hint=f"gave up after {attempts} attempts; last cause: {self.last_cause}. "
            f"The {vendor} service or the network is failing: retry the run later.",
        )

    def _message(self) -> str:
        return f"{self.vendor} API {self.endpoint} {self.params}: {self.hint}"

    def __reduce__(self):
        return (
            type(self),
            (self.vendor, self.endpoint, self.params, self.attempts, self.last_cause, None, self.code, self.msg),
        )


def generic_hint(vendor: str, http_status: int | None) -> str:
    if http_status is not None and http_status >= 500:
        return f"the {vendor} service failed: retry later."
    if http_status is not None and http_status >= 400:
        return f"the server answered HTTP {http_status}: check the {vendor} base URL and the request."
    return f"unexpected answer from the {vendor} API: see the response body landed in the raw layer."


class RedactingFilter(logging.Filter):
    """Scrubs registered secrets from a record's message (urllib3 logs full URLs at DEBUG, and a token
    request may carry a secret in its query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's business
            return True
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_filter = RedactingFilter()
_installed: set[str] = set()


def install_log_redaction(names: Iterable[str] = ("urllib3.connectionpool", "urllib3", "requests")) -> None:
    """Attach the redacting filter to the libraries' loggers that may see a secret (idempotent)."""
    for name in names:
        if name not in _installed:
            logging.getLogger(name).addFilter(_filter)
            _installed.add(name)


def logger(name: str) -> logging.Logger:
    """The logger `name` with the redacting filter (a logger's filters apply to its own records only, so
    every module that may log something secret takes its logger from here)."""
    log = logging.getLogger(name)
    if _filter not in log.filters:
        log.addFilter(_filter)
    return log
