"""The HTTP transport every vendor's client is built on: sessions, pacing, tokens, retries, fan-out, stats.

`ApiClient.request` sends one API call and returns an `ApiResponse` holding the body exactly as received.
It

- paces each endpoint just under its documented limit (`pipelines.core.ratelimit`), shared by threads
  and processes; a "too frequent" answer (HTTP 429, or the vendor's own code) backs off, slows the
  endpoint down and retries;
- shares one access token per app (`pipelines.core.tokens`) and refreshes it when the server refuses it;
- retries transient failures (HTTP 5xx, connection errors, timeouts, bodies that are not valid JSON, the
  vendor's "system error" codes) with bounded exponential backoff and full jitter;
- raises typed errors (`pipelines.core.errors`) for everything else, carrying the last response.

A vendor's client subclasses `ApiClient` and says what its answers mean: `envelope` (where code and message
are), `classify` (what a code means: ok, rate, token, transient, ...), `error` (the typed error with what to
do), `authorize` (where the token goes), `url`.

Why the retry loop is our own rather than tenacity's or urllib3's `Retry`: most vendor errors arrive as
HTTP 200 with an error code in the body (urllib3 sees only statuses), and the loop's substance is the
budgets per kind of failure (token refusals in a row, rate rejections with limiter feedback, slow
devices) and the token refresh between attempts; tenacity would need the same state in custom stop and
wait callables. The jittered backoff itself is one line (`_backoff`).

Secrets (app secrets, access tokens) never appear in logs, exceptions, reprs or stored params.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter

from pipelines.core.errors import (
    ApiError,
    ApiTransientError,
    install_log_redaction,
    logger,
    redact_params,
    redact_text,
)
from pipelines.core.ratelimit import RateLimiter
from pipelines.core.tokens import TokenProvider

log = logger("pipelines.core.transport")

T = TypeVar("T")
R = TypeVar("R")

# What an answer means for the client.
OK, RATE, TOKEN, TRANSIENT, SLOW_DEVICE = "ok", "rate", "token", "transient", "slow_device"
CREDENTIALS, PERMISSION, PARAMETER, OTHER, HTTP_ERROR = "credentials", "permission", "parameter", "other", "http_error"


@dataclass(frozen=True, repr=False)
class ApiResponse:
    """One answer of an API, as received."""

    endpoint: str  # the endpoint's name, e.g. "device/uploadData"
    params: dict[str, Any]  # what was asked (query parameters or body fields), never a secret
    http_status: int
    code: int | None  # the API's own code, as a number
    msg: str | None  # the API's own message
    body_text: str  # the body exactly as received (UTF-8)
    payload: Any  # the parsed JSON, None when the body is not valid JSON
    fetched_at: datetime  # aware UTC
    attempts: int = 1
    latency_s: float = 0.0
    ok: bool = False  # the client read it as a success

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ApiResponse:
        """A successful answer landed in the raw lake, as the response it was (to land it again: a snapshot)."""
        return cls(
            endpoint=row["endpoint"],
            params=json.loads(row["request_params"]),
            http_status=row["http_status"],
            code=row["api_code"],
            msg=row["api_msg"],
            body_text=row["body"],
            payload=parse_body(row["body"]),
            fetched_at=row["fetched_at"],
            attempts=row["attempts"],
            ok=True,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, params={self.params!r}, "
            f"http_status={self.http_status}, code={self.code!r}, msg={self.msg!r}, ok={self.ok}, "
            f"attempts={self.attempts}, "
            f"latency_s={self.latency_s:.3f}, body={len(self.body_text)} chars)"
        )


def parse_body(body_text: str) -> Any:
    """The JSON payload of a body, or None when it is not valid JSON (e.g. truncated)."""
    if not body_text or not body_text.strip():
        return None
    try:
        return json.loads(body_text)
    except (ValueError, RecursionError):
        return None


class _Retry(Exception):
    """Internal: this attempt failed in transport."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class ApiClient:
    """Base of every vendor's client (see the module docstring)."""

    vendor = "vendor"  # how messages name the vendor: "SAJ", "SMA", "SolaX"
    response_class: type[ApiResponse] = ApiResponse

    def __init__(
        self,
        base_url: str,
        limiter: RateLimiter,
        tokens: TokenProvider | None = None,
        max_attempts: int = 6,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30,
        timeout_s: float = 30,
        max_workers: int = 16,
        verify_tls: bool = True,
        *,
        max_rate_retries: int = 20,
        slow_device_attempts: int = 2,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.tokens = tokens
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.timeout_s = timeout_s
        self.max_workers = max_workers
        self.verify_tls = verify_tls
        self.max_rate_retries = max_rate_retries
        self.slow_device_attempts = slow_device_attempts
        self._local = threading.local()
        self._sessions: dict[threading.Thread, requests.Session] = {}
        self._sessions_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()
        self._per_endpoint: dict[str, Counter] = defaultdict(Counter)  # endpoint -> attempts, retries, ...
        self._codes: dict[str, Counter] = defaultdict(Counter)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # --- what a vendor says -----------------------------------------------------------------
    def url(self, endpoint: str) -> str:
        return f"{self.base_url}/{endpoint}"

    def envelope(self, payload: Any) -> tuple[int | None, str | None]:
        """The API's own code and message in a parsed body."""
        return None, None

    def classify(self, response: ApiResponse) -> str:
        """What a parsed answer means (one of the kinds above); transport-level kinds (HTTP 429, 5xx, bodies
        that are not JSON) are decided before this is asked."""
        return OK if 200 <= response.http_status < 300 else HTTP_ERROR

    def error(self, kind: str, endpoint: str, params: dict[str, Any], response: ApiResponse) -> ApiError:
        """The typed error for an answer that is not retried."""
        return ApiError(self.vendor, endpoint, params, response.code, response.msg, response=response)

    def authorize(self, headers: dict[str, str], token: str) -> None:
        headers["Authorization"] = f"Bearer {token}"

    def limit_key(self, endpoint: str) -> str:
        """The rate-limit budget a call draws on (default: one per endpoint)."""
        return endpoint

    # --- plumbing -----------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        """This thread's Session (connection pooling). Sessions of threads that have ended (each fan-out
        has its own pool) are closed here, so a long backfill does not leak sockets."""
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=4, max_retries=0)
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            s.verify = self.verify_tls
            self._local.session = s
            with self._sessions_lock:
                for thread, old in list(self._sessions.items()):
                    if not thread.is_alive():
                        old.close()
                        del self._sessions[thread]
                self._sessions[threading.current_thread()] = s
        return s

    @property
    def open_sessions(self) -> int:
        with self._sessions_lock:
            return len(self._sessions)

    def close(self) -> None:
        """Close the HTTP sessions and log the totals."""
        with self._sessions_lock:
            for s in self._sessions.values():
                s.close()
            self._sessions.clear()
        self.limiter.close()
        self.log_totals()

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _count(self, key: str, endpoint: str, n: int = 1) -> None:
        with self._stats_lock:
            self._counts[key] += n
            self._per_endpoint[endpoint][key] += n

    def counts_for(self, endpoints: Iterable[str]) -> dict[str, int]:
        """Calls, retries, rate rejections and failures of these endpoints so far (what one raw asset made,
        while other assets call other endpoints at the same time)."""
        endpoints = list(endpoints)
        with self._stats_lock:
            out = {"calls": sum(self._calls[e] for e in endpoints)}
            for key in ("attempts", "retries", "rate_rejections", "failures"):
                out[key] = sum(self._per_endpoint[e][key] for e in endpoints)
        return out

    @property
    def stats(self) -> dict[str, Any]:
        """Counters for Dagster metadata: calls per endpoint, attempts, retries, rate rejections, token
        refreshes, failures, answers per code."""
        with self._stats_lock:
            return {
                "calls": sum(self._calls.values()),
                "calls_per_endpoint": dict(self._calls),
                "attempts": self._counts["attempts"],
                "retries": self._counts["retries"],
                "rate_rejections": self._counts["rate_rejections"],
                "token_refreshes": self.tokens.refreshes if self.tokens else 0,
                "token_rejections": self._counts["token_rejections"],
                "failures": self._counts["failures"],
                "accepted_errors": self._counts["accepted_errors"],
                "rate_wait_s": round(self.limiter.waited_s, 3),
                "codes_per_endpoint": {k: dict(v) for k, v in self._codes.items()},
            }

    def log_totals(self) -> None:
        st = self.stats
        log.info(
            "%s client totals: %d calls, %d attempts, %d retries, %d rate rejections, %d token refreshes, "
            "%d failures; per endpoint %s",
            self.vendor,
            st["calls"],
            st["attempts"],
            st["retries"],
            st["rate_rejections"],
            st["token_refreshes"],
            st["failures"],
            st["calls_per_endpoint"],
        )

    def _backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter: uniform(0, min(max, base * 2^(attempt-1))); at least Retry-After if given."""
        delay = random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1)))
        if retry_after is not None:
            delay = max(delay, min(self.backoff_max_s, retry_after))
        return delay

    MAX_RETRY_AFTER_S = 900.0  # a Retry-After beyond this is taken for a server bug, not waited out whole

    def _rate_backoff(self, n: int, retry_after: float | None) -> float:
        """After the n-th "too frequent" answer: wait for the server's window to slide, growing with repeated
        rejections, with jitter so threads do not come back together; the whole Retry-After if given (a
        vendor's bucket may refill only every few minutes: asking earlier just costs another rejection)."""
        base = min(self.backoff_max_s, 0.5 * 2 ** min(n - 1, 4))
        delay = random.uniform(0.5, 1.0) * base + random.uniform(0, 0.25)
        return max(delay, min(retry_after, self.MAX_RETRY_AFTER_S)) if retry_after is not None else delay

    def _send(
        self,
        method: str,
        endpoint: str,
        url: str,
        query: Mapping[str, Any] | None,
        body: Any,
        form: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        stored: dict[str, Any],
        attempt: int,
    ) -> tuple[ApiResponse, float | None]:
        """One HTTP attempt -> ApiResponse and the Retry-After it announced, or _Retry on network failures."""
        t0 = time.monotonic()
        try:
            r = self._session().request(
                method,
                url,
                params=dict(query) if query else None,
                json=body,
                data=dict(form) if form else None,
                headers=dict(headers),
                timeout=self.timeout_s,
            )
            content = r.content  # read the whole body inside the try: a cut connection raises here
        except requests.exceptions.SSLError:  # not transient; verification stays on
            raise ApiError(
                self.vendor,
                endpoint,
                stored,
                None,
                "TLS error",
                hint="the server's TLS certificate could not be verified: fix the CA bundle "
                "(REQUESTS_CA_BUNDLE) or the base URL; verification is not turned off.",
            ) from None
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise _Retry(f"{type(exc).__name__}: {redact_text(exc)}") from None
        latency = time.monotonic() - t0
        body_text = content.decode("utf-8", errors="replace")
        payload = parse_body(body_text)
        code, msg = self.envelope(payload)
        response = self.response_class(
            endpoint=endpoint,
            params=stored,
            http_status=r.status_code,
            code=code,
            msg=msg,
            body_text=body_text,
            payload=payload,
            fetched_at=datetime.now(timezone.utc),
            attempts=attempt,
            latency_s=latency,
        )
        return response, _retry_after(r)

    def _kind(self, response: ApiResponse) -> str:
        if response.http_status == 429:
            return RATE
        if response.http_status >= 500:
            return TRANSIENT
        if response.payload is None:
            # 2xx/4xx with a body that is not JSON: a truncated or mangled answer
            return TRANSIENT if response.http_status < 400 else HTTP_ERROR
        return self.classify(response)

    # --- calls --------------------------------------------------------------------------------
    def request(
        self,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        path: str | None = None,
        body: Mapping[str, Any] | None = None,
        form: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        accept_codes: Iterable[int] = (),
    ) -> ApiResponse:
        """Send `method` to `url(path or endpoint)` with query `params`, a JSON `body` or a `form`; the
        response of a successful answer (or of an answer whose code is in `accept_codes`). Raises an
        `ApiError` subclass otherwise."""
        endpoint = endpoint.strip("/")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        stored = redact_params({**query, **(body or {}), **(form or {})})
        url = self.url(path or endpoint)
        accept = frozenset(accept_codes)
        sent_headers = dict(headers or {})
        with self._stats_lock:
            self._calls[endpoint] += 1

        attempt = 0  # HTTP attempts made
        transient = 0  # transient failures so far
        rate_rejections = 0
        token_refusals = 0  # tokens refused in a row, since the server last took one
        token_refreshes = 0
        slow_device = 0
        last: ApiResponse | None = None
        while True:
            self.limiter.acquire(self.limit_key(endpoint))
            token = None
            if auth and self.tokens is not None:
                token = self.tokens.get()
                self.authorize(sent_headers, token)
            attempt += 1
            self._count("attempts", endpoint)
            retry_after = None
            try:
                response, retry_after = self._send(
                    method, endpoint, url, query, body, form, sent_headers, stored, attempt
                )
            except ApiError:
                self._count("failures", endpoint)
                raise
            except _Retry as r:
                cause = r.cause
                log.debug("%s %s %s attempt %d failed: %s", self.vendor, endpoint, stored, attempt, cause)
            else:
                last = response
                with self._stats_lock:
                    code = response.code if response.code is not None else f"http{response.http_status}"
                    self._codes[endpoint][str(code)] += 1
                log.debug(
                    "%s %s %s attempt %d: HTTP %d code %s (%s) in %.3f s",
                    self.vendor,
                    endpoint,
                    stored,
                    attempt,
                    response.http_status,
                    response.code,
                    redact_text(response.msg),
                    response.latency_s,
                )
                kind = self._kind(response)
                if kind == OK:
                    return dataclasses.replace(response, ok=True)
                if kind != TOKEN and response.payload is not None and response.http_status < 500:
                    # the server took the token (it checks it first): if it refuses one later in this call (it
                    # expired during a backoff), that is a new expiry, worth refreshing again
                    token_refusals = 0
                if response.code is not None and response.code in accept and response.http_status < 500:
                    self._count("accepted_errors", endpoint)
                    return response
                if kind == RATE:
                    rate_rejections += 1
                    self._count("rate_rejections", endpoint)
                    if rate_rejections > self.max_rate_retries:
                        self._count("failures", endpoint)
                        raise ApiTransientError(
                            self.vendor,
                            endpoint,
                            stored,
                            attempt,
                            f"rate limited {rate_rejections} times (code {response.code} "
                            f"{response.msg}, HTTP {response.http_status})",
                            response=response,
                            code=response.code,
                            msg=response.msg,
                        )
                    delay = self._rate_backoff(rate_rejections, retry_after)
                    self.limiter.on_rejected(self.limit_key(endpoint))
                    self.limiter.pause(self.limit_key(endpoint), delay * 0.5)
                    self._count("retries", endpoint)
                    time.sleep(delay)
                    continue
                if kind == TOKEN and auth and self.tokens is not None:
                    self._count("token_rejections", endpoint)
                    # Refresh and retry. Twice in a row is normal when threads share a token that dies: the
                    # token another thread just fetched may be dead too by the time this one uses it. A third
                    # refusal in a row means someone else keeps taking the app's one live token.
                    token_refusals += 1
                    if token_refusals <= 2 and token_refreshes < self.max_attempts:
                        token_refreshes += 1
                        self.tokens.invalidate(token)  # type: ignore[arg-type]
                        self._count("retries", endpoint)
                        continue
                    self._count("failures", endpoint)
                    raise self.error(CREDENTIALS, endpoint, stored, response)
                if kind == SLOW_DEVICE:
                    slow_device += 1
                    if slow_device < self.slow_device_attempts and transient + 1 < self.max_attempts:
                        transient += 1
                        self._count("retries", endpoint)
                        time.sleep(self._backoff(transient))
                        continue
                    self._count("failures", endpoint)
                    raise self.error(OTHER, endpoint, stored, response)
                if kind == TRANSIENT:
                    if response.http_status >= 500:
                        cause = f"HTTP {response.http_status}"
                    elif response.payload is None:
                        cause = f"body is not valid JSON (truncated?), {len(response.body_text)} chars"
                    else:
                        cause = f"code {response.code} ({response.msg})"
                else:
                    self._count("failures", endpoint)
                    raise self.error(kind, endpoint, stored, response)
            transient += 1
            if transient >= self.max_attempts:
                self._count("failures", endpoint)
                log.warning("%s %s %s failed after %d attempts: %s", self.vendor, endpoint, stored, attempt, cause)
                raise ApiTransientError(
                    self.vendor,
                    endpoint,
                    stored,
                    attempt,
                    cause,
                    response=last,
                    code=last.code if last else None,
                    msg=last.msg if last else None,
                )
            self._count("retries", endpoint)
            time.sleep(self._backoff(transient, retry_after))

    # --- fan-out ------------------------------------------------------------------------------
    def fan_out(
        self, fn: Callable[[T], R], items: Iterable[T], max_workers: int | None = None
    ) -> list[tuple[T, R | BaseException]]:
        """fn(item) for every item on a bounded thread pool; [(item, result or the exception)] in input
        order. No item is dropped: a failure comes back as its exception."""
        items = list(items)
        if not items:
            return []
        workers = max(1, min(max_workers or self.max_workers, len(items)))

        def safe(item: T) -> R | BaseException:
            try:
                return fn(item)
            except Exception as exc:  # noqa: BLE001 - returned to the caller, never dropped
                return exc

        t0 = time.monotonic()
        if workers == 1:
            results = [safe(item) for item in items]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.vendor.lower()) as pool:
                results = list(pool.map(safe, items))
        failed = [r for r in results if isinstance(r, BaseException)]
        log.log(
            logging.WARNING if failed else logging.INFO,
            "%s fan-out: %d items on %d threads in %.1f s, %d failed%s",
            self.vendor,
            len(items),
            workers,
            time.monotonic() - t0,
            len(failed),
            f" (first: {failed[0]})" if failed else "",
        )
        return list(zip(items, results))


def _retry_after(r: requests.Response) -> float | None:
    v = r.headers.get("Retry-After")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        return None
