"""Typed errors of the SAJ client, and the redaction every message goes through.

Every error that comes from an API answer carries the last `ApiResponse` (attribute `response`) so
the raw layer can land the error body verbatim. No message, `str()` or `repr()` ever contains the
app secret or an access token: parameters are redacted and known secrets are scrubbed from text.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable, Mapping

REDACTED = "***"

# Parameter / header names whose values are never shown.
_SECRET_KEY = re.compile(r"(secret|token|password|passwd|credential|sign|authorization|appkey)", re.I)

# Values that are registered at run time (the app secret, every access token this process has seen).
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


class SajError(Exception):
    """Base of every error raised by the SAJ client."""

    def __str__(self) -> str:  # scrub, whatever a subclass put in args
        return redact_text(super().__str__())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


# code -> what the user should do about it
_HINTS: dict[int, str] = {
    100009: "the appId/appSecret pair was refused: check SAJ_APP_ID and SAJ_APP_SECRET against the "
    "Elekeeper developer console (no spaces, the secret of this app).",
    200008: "the app does not exist: check SAJ_APP_ID (and SAJ_BASE_URL: the app lives on one regional server).",
    200014: "the app is not released yet: release it in the Elekeeper developer console, then retry.",
    10004: "authentication failed: check SAJ_APP_ID/SAJ_APP_SECRET and that the plant or device is "
    "authorised to this app.",
    10005: "no permission: authorise the plant or device to this app in Elekeeper (or the "
    "plantAuthByOpenapiKey endpoint), or use the app that owns it.",
    200015: "the data belongs to another app: authorise the plant or device to this app in Elekeeper.",
    10003: "the server rejected the parameters: check the ids and the time format yyyy-MM-dd HH:mm:ss.",
    10006: "the server rejected the parameters: check the ids, the time format yyyy-MM-dd HH:mm:ss and "
    "the span limits (minute data at most 24 h per call).",
    200010: "the access token was refused again right after a refresh: another program is probably "
    "requesting tokens for the same app (only one token per app is live); share SAJ_DATA_DIR's "
    "token cache or stop the other program.",
    10002: "the server says not logged in even after a token refresh: check the credentials and that "
    "no other program requests tokens for this app.",
    10007: "the server logged the app out even after a token refresh: check that no other program "
    "requests tokens for this app.",
    10016: "the device did not answer the server (device connection timeout): retry later.",
    10021: "the server reports a data exception (for secData: the plant has no load monitor).",
    10001: "the SAJ service had a system error: retry later.",
}


def hint_for(code: int | None, http_status: int | None = None) -> str:
    if code in _HINTS:
        return _HINTS[code]  # type: ignore[index]
    if http_status is not None and http_status >= 500:
        return "the SAJ service failed: retry later."
    if http_status is not None and http_status >= 400:
        return f"the server answered HTTP {http_status}: check SAJ_BASE_URL and the request."
    return "unexpected answer from the SAJ API: see the response body landed in the raw layer."


class SajApiError(SajError):
    """The API answered with a code the caller did not accept."""

    def __init__(
        self,
        endpoint: str,
        params: Mapping[str, Any] | None,
        code: int | None,
        msg: str | None,
        response: Any = None,
        hint: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.params = redact_params(params)
        self.code = code
        self.msg = msg
        self.response = response
        http_status = getattr(response, "http_status", None)
        self.hint = hint or hint_for(code, http_status)
        super().__init__(self._message())

    def _message(self) -> str:
        status = getattr(self.response, "http_status", None)
        where = f"{self.endpoint} {self.params}"
        what = f"code {self.code}" if self.code is not None else f"HTTP {status}"
        msg = f" ({self.msg})" if self.msg else ""
        return f"SAJ API {where} answered {what}{msg}: {self.hint}"

    def __reduce__(self):  # picklable across processes (Dagster, multiprocessing)
        return (type(self), (self.endpoint, self.params, self.code, self.msg, None, self.hint))


class SajCredentialsError(SajApiError):
    """The app's credentials are missing or refused (100009, 200008, 200014)."""

    @classmethod
    def missing(cls, names: Iterable[str]) -> "SajCredentialsError":
        names = list(names)
        return cls(
            "access_token",
            {},
            None,
            "credentials missing",
            hint=f"set {' and '.join(names)} in the environment (the appId and appSecret of your "
            "Elekeeper Open Platform app); see README, 'Configuration'.",
        )

    def _message(self) -> str:
        if self.code is None and self.msg == "credentials missing":
            return f"SAJ credentials missing: {self.hint}"
        return super()._message()


class SajPermissionError(SajApiError):
    """The app may not see this plant or device (10004, 10005, 200015)."""


class SajParameterError(SajApiError):
    """The server rejected the request's parameters (10003, 10006 'parameter error')."""


class SajTransientError(SajApiError):
    """A call kept failing transiently (5xx, network, 10001, truncated bodies, rate limits) until the
    attempts ran out."""

    def __init__(
        self,
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
            endpoint,
            params,
            code,
            msg,
            response=response,
            hint=f"gave up after {attempts} attempts; last cause: {self.last_cause}. "
            "The SAJ service or the network is failing: retry the run later.",
        )

    def _message(self) -> str:
        return f"SAJ API {self.endpoint} {self.params}: {self.hint}"

    def __reduce__(self):
        return (type(self), (self.endpoint, self.params, self.attempts, self.last_cause, None, self.code, self.msg))


class RedactingFilter:
    """A logging filter that scrubs registered secrets from a record's message (urllib3 logs full
    URLs at DEBUG, and the token request carries appSecret in its query string)."""

    def filter(self, record) -> bool:  # logging.Filter protocol
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


def install_log_redaction(names: Iterable[str] = ("urllib3.connectionpool", "urllib3", "requests",
                                                  "pipelines.client", "pipelines.auth")) -> None:
    """Attach the redacting filter to the loggers that may see a secret (idempotent)."""
    import logging

    for name in names:
        if name not in _installed:
            logging.getLogger(name).addFilter(_filter)
            _installed.add(name)
