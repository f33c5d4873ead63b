"""The SAJ Elekeeper Open Platform client: calls, retries, pagination, windows, fan-out.

Every asset pulls through `SajClient`. It

- paces each endpoint just under its documented QPS (`pipelines.ratelimit`), shared by threads and,
  through `cache_dir`, by processes; a "Too frequent access" answer backs off and retries;
- shares one access token per app across threads and processes (`pipelines.auth`) and refreshes it
  once when the server refuses it;
- retries transient failures (HTTP 5xx, connection errors, timeouts, code 10001, bodies that are not
  valid JSON) with bounded exponential backoff and full jitter;
- raises typed errors (`pipelines.errors`) for everything else, carrying the last `ApiResponse`;
- returns every answer as an `ApiResponse` holding the body exactly as received.

Secrets (the app secret, access tokens) never appear in logs, exceptions, reprs or stored params.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import requests
from requests.adapters import HTTPAdapter

from pipelines.auth import TokenProvider, parse_token_data, sign, token_error
from pipelines.envelope import classify, normalise, parse_body, total_pages
from pipelines.errors import (
    SajApiError,
    SajCredentialsError,
    SajParameterError,
    SajPermissionError,
    SajTransientError,
    install_log_redaction,
    redact_params,
    redact_text,
    register_secret,
)
from pipelines.ratelimit import RateLimiter

log = logging.getLogger("pipelines.client")

API_PREFIX = "/open/api/"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE = 100
MINUTE_SPAN = timedelta(hours=24)  # uploadData timeUnit 0, historyDataCommon, secData minutes
EMS_METER_SPAN = timedelta(hours=2)  # emsHistoryData4Meter

T = TypeVar("T")
R = TypeVar("R")


# ------------------------------------------------------------------------------------------------
# ApiResponse


@dataclass(frozen=True, repr=False)
class ApiResponse:
    """One answer of the API, as received."""

    endpoint: str  # e.g. "device/uploadData"
    params: dict[str, Any]  # the query parameters sent (never a secret)
    http_status: int
    code: int | None  # code / errCode, as a number
    msg: str | None  # msg / errMsg
    body_text: str  # the body exactly as received (UTF-8)
    payload: Any  # the parsed JSON, None when the body is not valid JSON
    fetched_at: datetime  # aware UTC
    attempts: int = 1
    latency_s: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.http_status < 300 and self.payload is not None and classify(self.code, self.msg) == "ok"

    @property
    def envelope(self):
        return normalise(self.payload)

    @property
    def data(self) -> Any:
        """The `data` member (the whole payload for page endpoints, which have no wrapper)."""
        env = self.envelope
        return env.data if env.has_data or not env.paged else self.payload

    @property
    def rows(self) -> list:
        """Page endpoints' rows ([] when none)."""
        return list(self.envelope.rows or [])

    @property
    def total(self) -> int | None:
        return self.envelope.total

    @property
    def total_page(self) -> int | None:
        return self.envelope.total_page

    def __repr__(self) -> str:
        return (
            f"ApiResponse(endpoint={self.endpoint!r}, params={self.params!r}, http_status={self.http_status}, "
            f"code={self.code!r}, msg={self.msg!r}, attempts={self.attempts}, latency_s={self.latency_s:.3f}, "
            f"body={len(self.body_text)} chars)"
        )


# ------------------------------------------------------------------------------------------------
# Time windows


def fmt_time(value: datetime | date | str) -> str:
    """A naive plant-local time as "yyyy-MM-dd HH:mm:ss" (a date means its 00:00:00)."""
    if isinstance(value, str):
        return fmt_time(parse_time(value))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError("SAJ times are naive plant-local wall-clock times; got an aware datetime")
        return value.strftime(TIME_FORMAT)
    return datetime(value.year, value.month, value.day).strftime(TIME_FORMAT)


def parse_time(value: datetime | date | str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    s = value.strip()
    for f in (TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(s, f)
        except ValueError:
            continue
    raise ValueError(f"not a time in the form yyyy-MM-dd HH:mm:ss: {value!r}")


def windows(start: datetime | date | str, end: datetime | date | str, max_span: timedelta) -> list[tuple[datetime, datetime]]:
    """Split the inclusive range [start, end] into consecutive windows no longer than `max_span`.

    Windows end one second before the next one starts (the API's times are inclusive, to the
    second), so a local day 00:00:00–23:59:59 is one window and 48 h are two.
    """
    s, e = parse_time(start), parse_time(end)
    if e < s:
        raise ValueError(f"window end {e} is before its start {s}")
    if max_span <= timedelta(seconds=1):
        raise ValueError("max_span must be longer than a second")
    out: list[tuple[datetime, datetime]] = []
    while True:
        nxt = s + max_span
        if nxt >= e:
            out.append((s, e))
            return out
        out.append((s, nxt - timedelta(seconds=1)))
        s = nxt


# ------------------------------------------------------------------------------------------------
# The client


class _Retry(Exception):
    """Internal: this attempt failed transiently."""

    def __init__(self, cause: str, response: ApiResponse | None = None, retry_after: float | None = None):
        super().__init__(cause)
        self.cause = cause
        self.response = response
        self.retry_after = retry_after


class SajClient:
    """Client of the SAJ Elekeeper Open Platform (see the module docstring)."""

    def __init__(
        self,
        app_id: str | None,
        app_secret: str | None,
        base_url: str,
        cache_dir: str | os.PathLike,
        qps: float | Mapping[str, float | None] | None = None,
        qps_scale: float = 1.0,
        max_attempts: int = 6,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30,
        timeout_s: float = 30,
        max_workers: int = 16,
        verify_tls: bool = True,
        *,
        rate_limit: bool = True,
        share_rate_limits: bool = True,
        max_rate_retries: int = 20,
        device_timeout_attempts: int = 2,
        language: str = "en_US",
    ) -> None:
        missing = [n for n, v in (("SAJ_APP_ID", app_id), ("SAJ_APP_SECRET", app_secret)) if not v]
        if missing:
            raise SajCredentialsError.missing(missing)
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.app_id: str = app_id  # type: ignore[assignment]
        register_secret(app_secret)
        install_log_redaction()
        self.base_url = base_url.rstrip("/")
        self.cache_dir = Path(cache_dir)
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.timeout_s = timeout_s
        self.max_workers = max_workers
        self.verify_tls = verify_tls
        self.max_rate_retries = max_rate_retries
        self.device_timeout_attempts = device_timeout_attempts
        self.language = language
        self.limiter = RateLimiter(
            qps=qps,
            qps_scale=qps_scale,
            enabled=rate_limit,
            shared_dir=(self.cache_dir / "ratelimit") if share_rate_limits else None,
            namespace=f"{self.app_id}\n{self.base_url}",
        )
        self.tokens = TokenProvider(app_id, app_secret, self.base_url, self.cache_dir,  # type: ignore[arg-type]
                                    fetcher=self._fetch_token)
        self._local = threading.local()
        self._sessions: dict[threading.Thread, requests.Session] = {}
        self._sessions_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()
        self._codes: dict[str, Counter] = defaultdict(Counter)

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> "SajClient":
        """A client from `pipelines.settings.Settings` (token cache under data_dir/.saj-cache)."""
        cache_dir = kwargs.pop("cache_dir", Path(settings.data_dir) / ".saj-cache")
        return cls(settings.app_id, settings.app_secret, settings.base_url, cache_dir, **kwargs)

    def __repr__(self) -> str:
        return f"SajClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    # --- plumbing -----------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        """This thread's Session (connection pooling). Sessions of threads that have ended (each
        fan-out has its own pool) are closed here, so a long backfill does not leak sockets."""
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

    def __enter__(self) -> "SajClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self._counts[key] += n

    @property
    def stats(self) -> dict[str, Any]:
        """Counters for Dagster metadata: calls per endpoint, attempts, retries, rate rejections,
        token refreshes, failures, answers per code."""
        with self._stats_lock:
            return {
                "calls": sum(self._calls.values()),
                "calls_per_endpoint": dict(self._calls),
                "attempts": self._counts["attempts"],
                "retries": self._counts["retries"],
                "rate_rejections": self._counts["rate_rejections"],
                "token_refreshes": self.tokens.refreshes,
                "token_rejections": self._counts["token_rejections"],
                "failures": self._counts["failures"],
                "accepted_errors": self._counts["accepted_errors"],
                "rate_wait_s": round(self.limiter.waited_s, 3),
                "codes_per_endpoint": {k: dict(v) for k, v in self._codes.items()},
            }

    def log_totals(self) -> None:
        st = self.stats
        log.info(
            "SAJ client totals: %d calls, %d attempts, %d retries, %d rate rejections, %d token refreshes, "
            "%d failures; per endpoint %s",
            st["calls"], st["attempts"], st["retries"], st["rate_rejections"], st["token_refreshes"],
            st["failures"], st["calls_per_endpoint"],
        )

    def _backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter: uniform(0, min(max, base * 2^(attempt-1))); at least Retry-After if given."""
        delay = random.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1)))
        if retry_after is not None:
            delay = max(delay, min(self.backoff_max_s, retry_after))
        return delay

    def _rate_backoff(self, endpoint: str, n: int) -> float:
        """After the n-th "too frequent" answer: wait for the server's 1 s window to slide, growing
        with repeated rejections, with jitter so threads do not come back together."""
        base = min(self.backoff_max_s, 0.5 * 2 ** min(n - 1, 4))
        return random.uniform(0.5, 1.0) * base + random.uniform(0, 0.25)

    def _send(self, endpoint: str, params: Mapping[str, Any], headers: Mapping[str, str],
              stored_params: dict[str, Any], attempt: int) -> tuple[ApiResponse, float | None]:
        """One HTTP attempt -> ApiResponse, or _Retry on network failures."""
        url = self.base_url + API_PREFIX + endpoint
        t0 = time.monotonic()
        try:
            r = self._session().get(url, params=dict(params), headers=dict(headers), timeout=self.timeout_s)
            content = r.content  # read the whole body inside the try: a cut connection raises here
        except requests.exceptions.SSLError as exc:  # not transient; verification stays on
            raise SajApiError(endpoint, stored_params, None, f"TLS error: {type(exc).__name__}",
                              hint="the server's TLS certificate could not be verified: fix the CA bundle "
                              "(REQUESTS_CA_BUNDLE) or SAJ_BASE_URL; verification is not turned off.") from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as exc:
            raise _Retry(f"{type(exc).__name__}: {redact_text(exc)}") from None
        latency = time.monotonic() - t0
        body_text = content.decode("utf-8", errors="replace")
        payload = parse_body(body_text)
        env = normalise(payload)
        return ApiResponse(
            endpoint=endpoint,
            params=stored_params,
            http_status=r.status_code,
            code=env.code,
            msg=env.msg,
            body_text=body_text,
            payload=payload,
            fetched_at=datetime.now(timezone.utc),
            attempts=attempt,
            latency_s=latency,
        ), _retry_after(r)

    def _fetch_token(self, app_id: str, app_secret: str) -> tuple[str, float]:
        """The token fetch used by the TokenProvider: the same retries, stats and redaction."""
        resp = self._call("access_token", {"appId": app_id, "appSecret": app_secret}, authed=False)
        return parse_token_data(resp.data)

    # --- calls --------------------------------------------------------------------------------
    def call(self, endpoint: str, params: Mapping[str, Any] | None = None, sign_sn: str | None = None,
             accept_codes: Iterable[int] = ()) -> ApiResponse:
        """GET /open/api/<endpoint> with `params`; the ApiResponse of a successful answer (or of an
        answer whose code is in `accept_codes`). Raises a `SajApiError` subclass otherwise."""
        return self._call(endpoint.strip("/"), dict(params or {}), sign_sn=sign_sn,
                          accept_codes=frozenset(accept_codes))

    def _call(self, endpoint: str, params: dict[str, Any], sign_sn: str | None = None,
              accept_codes: frozenset[int] = frozenset(), authed: bool = True) -> ApiResponse:
        params = {k: v for k, v in params.items() if v is not None}
        stored = redact_params(params)
        headers: dict[str, str] = {"content-language": self.language}
        if sign_sn is not None:
            headers["clientSign"] = sign(self.app_id, sign_sn)
        with self._stats_lock:
            self._calls[endpoint] += 1

        attempt = 0  # HTTP attempts made
        transient = 0  # transient failures so far
        rate_rejections = 0
        token_refusals = 0  # tokens refused in a row, since the server last took one
        token_refreshes = 0
        device_timeouts = 0
        last: ApiResponse | None = None
        while True:
            self.limiter.acquire(endpoint)
            token = None
            if authed:
                token = self.tokens.get()
                headers["accessToken"] = token
            attempt += 1
            self._count("attempts")
            retry_after = None
            try:
                resp, retry_after = self._send(endpoint, params, headers, stored, attempt)
            except SajApiError:
                self._count("failures")
                raise
            except _Retry as r:
                resp, cause = None, r.cause
                log.debug("SAJ %s %s attempt %d failed: %s", endpoint, stored, attempt, cause)
            else:
                last = resp
                with self._stats_lock:
                    self._codes[endpoint][str(resp.code if resp.code is not None else f"http{resp.http_status}")] += 1
                log.debug("SAJ %s %s attempt %d: HTTP %d code %s (%s) in %.3f s", endpoint, stored, attempt,
                          resp.http_status, resp.code, redact_text(resp.msg), resp.latency_s)
                kind = self._kind(resp)
                if kind == "ok":
                    return resp
                if kind != "token" and resp.payload is not None and resp.http_status < 500:
                    # the server took the token (it checks it first): if it refuses one later in this call (it
                    # expired during a backoff), that is a new expiry, worth refreshing again
                    token_refusals = 0
                if resp.code is not None and resp.code in accept_codes and resp.http_status < 500:
                    self._count("accepted_errors")
                    return resp
                if kind == "rate":
                    rate_rejections += 1
                    self._count("rate_rejections")
                    if rate_rejections > self.max_rate_retries:
                        self._count("failures")
                        raise SajTransientError(endpoint, stored, attempt, f"rate limited {rate_rejections} times "
                                                f"(code {resp.code} {resp.msg})", response=resp,
                                                code=resp.code, msg=resp.msg)
                    delay = self._rate_backoff(endpoint, rate_rejections)
                    if retry_after is not None:
                        delay = max(delay, min(self.backoff_max_s, retry_after))
                    self.limiter.on_rejected(endpoint)
                    self.limiter.pause(endpoint, delay * 0.5)
                    self._count("retries")
                    time.sleep(delay)
                    continue
                if kind == "token" and authed:
                    self._count("token_rejections")
                    # Refresh and retry. Twice in a row is normal when threads share a token that dies: the
                    # token another thread just fetched may be dead too by the time this one uses it. A third
                    # refusal in a row means someone else keeps taking the app's one live token.
                    token_refusals += 1
                    if token_refusals <= 2 and token_refreshes < self.max_attempts:
                        token_refreshes += 1
                        self.tokens.invalidate(token)  # type: ignore[arg-type]
                        self._count("retries")
                        continue
                    self._count("failures")
                    raise SajCredentialsError(endpoint, stored, resp.code, resp.msg, response=resp)
                if kind == "device_timeout":
                    device_timeouts += 1
                    if device_timeouts < self.device_timeout_attempts and transient + 1 < self.max_attempts:
                        transient += 1
                        self._count("retries")
                        time.sleep(self._backoff(transient))
                        continue
                    self._count("failures")
                    raise SajApiError(endpoint, stored, resp.code, resp.msg, response=resp)
                if kind == "transient":
                    if resp.http_status >= 500:
                        cause = f"HTTP {resp.http_status}"
                    elif resp.payload is None:
                        cause = f"body is not valid JSON (truncated?), {len(resp.body_text)} chars"
                    else:
                        cause = f"code {resp.code} ({resp.msg})"
                else:
                    self._count("failures")
                    raise self._error(kind, endpoint, stored, resp)
            transient += 1
            if transient >= self.max_attempts:
                self._count("failures")
                log.warning("SAJ %s %s failed after %d attempts: %s", endpoint, stored, attempt, cause)
                raise SajTransientError(endpoint, stored, attempt, cause, response=last,
                                        code=last.code if last else None, msg=last.msg if last else None)
            self._count("retries")
            time.sleep(self._backoff(transient, retry_after))

    @staticmethod
    def _kind(resp: ApiResponse) -> str:
        if resp.http_status == 429:
            return "rate"
        if resp.http_status >= 500:
            return "transient"
        if resp.payload is None:
            # 2xx/4xx with a body that is not JSON: a truncated or mangled answer
            return "transient" if resp.http_status < 400 else "http_error"
        kind = classify(resp.code, resp.msg)
        if kind == "other" and resp.code is None:
            return "http_error" if resp.http_status >= 400 else "no_code"
        return kind

    def _error(self, kind: str, endpoint: str, params: dict[str, Any], resp: ApiResponse) -> SajApiError:
        cls = {"credentials": SajCredentialsError, "permission": SajPermissionError,
               "parameter": SajParameterError, "token": SajCredentialsError}.get(kind, SajApiError)
        if endpoint == "access_token" and kind in ("credentials", "permission", "other"):
            return token_error(resp.code, resp.msg, resp)
        return cls(endpoint, params, resp.code, resp.msg, response=resp)

    # --- pagination ---------------------------------------------------------------------------
    def pages(self, endpoint: str, params: Mapping[str, Any] | None = None, page_size: int = PAGE_SIZE) -> list[ApiResponse]:
        """Every page of a page endpoint (pageSize 100), in order."""
        base = dict(params or {})
        first = self.call(endpoint, {**base, "pageSize": page_size, "pageNum": 1})
        n = total_pages(first.envelope, page_size)
        if n <= 1:
            return [first]
        rest = self.fan_out(lambda p: self.call(endpoint, {**base, "pageSize": page_size, "pageNum": p}),
                            range(2, n + 1), max_workers=min(self.max_workers, 4))
        out = [first]
        for page, result in rest:
            if isinstance(result, BaseException):
                raise result
            out.append(result)
        got = sum(len(r.rows) for r in out)
        if first.total is not None and got != first.total:
            log.warning("SAJ %s: %d rows over %d pages but total says %d (the list changed while paging?)",
                        endpoint, got, n, first.total)
        return out

    # --- fan-out ------------------------------------------------------------------------------
    def fan_out(self, fn: Callable[[T], R], items: Iterable[T], max_workers: int | None = None) -> list[tuple[T, R | BaseException]]:
        """fn(item) for every item on a bounded thread pool; [(item, result or the exception)] in
        input order. No item is dropped: a failure comes back as its exception."""
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
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="saj") as pool:
                results = list(pool.map(safe, items))
        failed = [r for r in results if isinstance(r, BaseException)]
        log.log(logging.WARNING if failed else logging.INFO,
                "SAJ fan-out: %d items on %d threads in %.1f s, %d failed%s", len(items), workers,
                time.monotonic() - t0, len(failed), f" (first: {failed[0]})" if failed else "")
        return list(zip(items, results))

    # --- endpoints ----------------------------------------------------------------------------
    def plant_page(self) -> list[ApiResponse]:
        return self.pages("developer/plant/page", {"appId": self.app_id})

    def device_page(self) -> list[ApiResponse]:
        return self.pages("developer/device/page", {"appId": self.app_id})

    def plant_details(self, plant_id: str) -> ApiResponse:
        return self.call("plant/details", {"plantId": plant_id})

    def plant_devices(self, plant_id: str) -> ApiResponse:
        return self.call("plant/getPlantAllDeviceList", {"plantId": plant_id, "userId": ""})

    def upload_data(self, device_sn: str, start: datetime | date | str, end: datetime | date | str,
                    time_unit: int) -> list[ApiResponse]:
        """Device data; minute data (time_unit 0) split into windows of at most 24 h. Signed."""
        spans = windows(start, end, MINUTE_SPAN) if int(time_unit) == 0 else [(parse_time(start), parse_time(end))]
        return [
            self.call("device/uploadData", {"deviceSn": device_sn, "startTime": fmt_time(s), "endTime": fmt_time(e),
                                            "timeUnit": int(time_unit)}, sign_sn=device_sn)
            for s, e in spans
        ]

    def history_data(self, device_sn: str, start: datetime | date | str, end: datetime | date | str) -> list[ApiResponse]:
        """historyDataCommon in windows of at most 24 h. Signed."""
        return [
            self.call("device/historyDataCommon", {"deviceSn": device_sn, "startTime": fmt_time(s),
                                                   "endTime": fmt_time(e)}, sign_sn=device_sn)
            for s, e in windows(start, end, MINUTE_SPAN)
        ]

    def sec_data(self, plant_id: str, start: datetime | date | str, end: datetime | date | str,
                 time_unit: int) -> list[ApiResponse]:
        """Load-monitor data; minute data split into 24 h windows. A plant without a load monitor
        answers code 10021: returned (not raised) so the raw layer lands it."""
        spans = windows(start, end, MINUTE_SPAN) if int(time_unit) == 0 else [(parse_time(start), parse_time(end))]
        out = []
        for s, e in spans:
            r = self.call("device/secData", {"plantId": plant_id, "startTime": fmt_time(s), "endTime": fmt_time(e),
                                             "timeUnit": int(time_unit)}, accept_codes={10021})
            out.append(r)
            if r.code == 10021:  # no load monitor: the other windows would say the same
                break
        return out

    def plant_statistics(self, plant_id: str, client_date: datetime | date | str) -> ApiResponse:
        """Plant statistics up to `client_date` (plant-local; a date means that day's 23:59:59)."""
        if isinstance(client_date, date) and not isinstance(client_date, datetime):
            client_date = datetime(client_date.year, client_date.month, client_date.day, 23, 59, 59)
        return self.call("plant/getPlantStatisticsData", {"plantId": plant_id, "clientDate": fmt_time(client_date)})

    def alarm_list(self, start: datetime | date | str | None = None, end: datetime | date | str | None = None,
                   device_sn: str | None = None, status: int | str | Sequence[int] | None = None,
                   alarm_level: int | str | Sequence[int] | None = None) -> ApiResponse:
        params: dict[str, Any] = {"deviceSn": device_sn} if device_sn else {"appId": self.app_id}
        if start is not None:
            params["startTime"] = fmt_time(start)
        if end is not None:
            params["endTime"] = fmt_time(end)
        if status is not None:
            params["status"] = _csv(status)
        if alarm_level is not None:
            params["alarmLevel"] = _csv(alarm_level)
        return self.call("device/alarmList", params)

    def device_alarm_list(self, device_sn: str, alarm_common_state: int, alarm_device_type: int = 1) -> ApiResponse:
        return self.call("device/getDeviceAlarmList", {"deviceSn": device_sn, "alarmCommonState": int(alarm_common_state),
                                                       "alarmDeviceType": int(alarm_device_type)})

    def realtime(self, device_sn: str) -> ApiResponse:
        return self.call("device/realtimeDataCommon", {"deviceSn": device_sn}, sign_sn=device_sn)


def _csv(value: int | str | Sequence[int]) -> str:
    if isinstance(value, (int, str)):
        return str(value)
    return ",".join(str(v) for v in value)


def _retry_after(r: requests.Response) -> float | None:
    v = r.headers.get("Retry-After")
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        return None
