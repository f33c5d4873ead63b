"""The SAJ Elekeeper Open Platform client: its endpoints, envelopes, signing, pagination and windows.

Built on the core transport (`pipelines.core.transport`: pacing, the shared token, retries, fan-out,
stats); this module says what SAJ's answers mean and how its endpoints are asked. Every answer comes back
as a `SajResponse` holding the body exactly as received.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from pipelines.core import stores
from pipelines.core import transport as kinds
from pipelines.core.errors import (
    ApiCredentialsError,
    ApiError,
    ApiParameterError,
    ApiPermissionError,
    ConfigurationError,
    logger,
    register_secret,
)
from pipelines.core.ratelimit import RateLimiter, SlotStore
from pipelines.core.tokens import TokenProvider, TokenStore
from pipelines.core.transport import ApiClient, ApiResponse
from pipelines.sources.saj.auth import parse_token_data, sign
from pipelines.sources.saj.envelope import classify, hint_for, normalise, total_pages
from pipelines.sources.saj.settings import DEFAULT_QPS, DOCUMENTED_QPS, VARIABLES

VENDOR = "SAJ"
API_PREFIX = "/open/api/"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAGE_SIZE = 100
MINUTE_SPAN = timedelta(hours=24)  # uploadData timeUnit 0, historyDataCommon, secData minutes
EMS_METER_SPAN = timedelta(hours=2)  # emsHistoryData4Meter
CREDENTIAL_KINDS = (kinds.CREDENTIALS, kinds.TOKEN)

log = logger("pipelines.sources.saj.client")


class SajResponse(ApiResponse):
    """An answer of the SAJ API, with its envelope read (`code`/`errCode`, page shapes)."""

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


def windows(
    start: datetime | date | str, end: datetime | date | str, max_span: timedelta
) -> list[tuple[datetime, datetime]]:
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


class SajClient(ApiClient):
    """Client of the SAJ Elekeeper Open Platform (see the module docstring).

    cache_dir: where the shared token and rate-limit slots live (every process of a deployment on one
    machine shares them); token_store / slot_store: other stores (Postgres, across hosts).
    """

    vendor = VENDOR
    response_class = SajResponse

    def __init__(
        self,
        app_id: str | None,
        app_secret: str | None,
        base_url: str,
        cache_dir: str | os.PathLike | None = None,
        qps: float | Mapping[str, float | None] | None = None,
        qps_scale: float = 1.0,
        *,
        rate_limit: bool = True,
        share_rate_limits: bool = True,
        token_store: TokenStore | None = None,
        slot_store: SlotStore | None = None,
        language: str = "en_US",
        **transport: Any,
    ) -> None:
        missing = [n for n, v in zip(VARIABLES, (app_id, app_secret)) if not v]
        if missing:
            raise ConfigurationError(
                f"SAJ credentials missing: set {' and '.join(missing)} in the environment (the appId and appSecret "
                "of your Elekeeper Open Platform app); see README, 'Configuration'."
            )
        self.app_id: str = app_id  # type: ignore[assignment]
        register_secret(app_secret)
        self._secret = app_secret
        self.language = language
        base_url = base_url.rstrip("/")
        namespace = f"{self.app_id}\n{base_url}"
        if slot_store is None:
            slot_store = stores.slot_store(cache_dir, shared=share_rate_limits)
        limiter = RateLimiter(
            DOCUMENTED_QPS,
            DEFAULT_QPS,
            qps=qps,
            qps_scale=qps_scale,
            enabled=rate_limit,
            store=slot_store,
            namespace=namespace,
        )
        if token_store is None:
            token_store = stores.token_store(cache_dir)
        tokens = TokenProvider(f"saj\n{namespace}", self._fetch_token, token_store, label=VENDOR)
        super().__init__(base_url, limiter, tokens, **transport)

    def __repr__(self) -> str:
        return f"SajClient(app_id={self.app_id!r}, base_url={self.base_url!r})"

    # --- what SAJ's answers mean ---------------------------------------------------------------
    def url(self, endpoint: str) -> str:
        return self.base_url + API_PREFIX + endpoint

    def envelope(self, payload: Any) -> tuple[int | None, str | None]:
        env = normalise(payload)
        return env.code, env.msg

    def classify(self, response: ApiResponse) -> str:
        kind = classify(response.code, response.msg)
        if kind == kinds.OTHER and response.code is None and response.http_status >= 400:
            return kinds.HTTP_ERROR
        return kind

    def error(self, kind: str, endpoint: str, params: dict[str, Any], response: ApiResponse) -> ApiError:
        hint = hint_for(response.code)
        if endpoint == "access_token":
            params = {"appId": self.app_id, "appSecret": "***"}
            cls = ApiCredentialsError if kind in (*CREDENTIAL_KINDS, kinds.PERMISSION) else ApiError
            return cls(VENDOR, endpoint, params, response.code, response.msg, response=response, hint=hint)
        cls = {
            kinds.CREDENTIALS: ApiCredentialsError,
            kinds.TOKEN: ApiCredentialsError,
            kinds.PERMISSION: ApiPermissionError,
            kinds.PARAMETER: ApiParameterError,
        }.get(kind, ApiError)
        return cls(VENDOR, endpoint, params, response.code, response.msg, response=response, hint=hint)

    def authorize(self, headers: dict[str, str], token: str) -> None:
        headers["accessToken"] = token

    def _fetch_token(self) -> tuple[str, float]:
        """The token fetch the TokenProvider uses: the same retries, stats and redaction as every call."""
        response = self.request("access_token", {"appId": self.app_id, "appSecret": self._secret}, auth=False)
        token = parse_token_data(response.data)
        if token is None:
            raise ApiError(
                VENDOR,
                "access_token",
                {"appId": self.app_id},
                response.code,
                "no access_token in the answer",
                response=response,
            )
        return token

    # --- calls --------------------------------------------------------------------------------
    def call(
        self,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        sign_sn: str | None = None,
        accept_codes: Iterable[int] = (),
    ) -> SajResponse:
        """GET /open/api/<endpoint> with `params` (signed for device `sign_sn`); the response of a successful
        answer (or of an answer whose code is in `accept_codes`). Raises an `ApiError` subclass otherwise."""
        headers = {"content-language": self.language}
        if sign_sn is not None:
            headers["clientSign"] = sign(self.app_id, sign_sn)
        return self.request(endpoint, params, headers=headers, accept_codes=accept_codes)  # type: ignore[return-value]

    # --- pagination ---------------------------------------------------------------------------
    def pages(
        self, endpoint: str, params: Mapping[str, Any] | None = None, page_size: int = PAGE_SIZE
    ) -> list[SajResponse]:
        """Every page of a page endpoint (pageSize 100), in order."""
        base = dict(params or {})
        first = self.call(endpoint, {**base, "pageSize": page_size, "pageNum": 1})
        n = total_pages(first.envelope, page_size)
        if n <= 1:
            return [first]
        rest = self.fan_out(
            lambda p: self.call(endpoint, {**base, "pageSize": page_size, "pageNum": p}),
            range(2, n + 1),
            max_workers=min(self.max_workers, 4),
        )
        out = [first]
        for _page, result in rest:
            if isinstance(result, BaseException):
                raise result
            out.append(result)
        got = sum(len(r.rows) for r in out)
        if first.total is not None and got != first.total:
            log.warning(
                "SAJ %s: %d rows over %d pages but total says %d (the list changed while paging?)",
                endpoint,
                got,
                n,
                first.total,
            )
        return out

    # --- endpoints ----------------------------------------------------------------------------
    def plant_page(self) -> list[SajResponse]:
        return self.pages("developer/plant/page", {"appId": self.app_id})

    def device_page(self) -> list[SajResponse]:
        return self.pages("developer/device/page", {"appId": self.app_id})

    def plant_details(self, plant_id: str) -> SajResponse:
        return self.call("plant/details", {"plantId": plant_id})

    def plant_devices(self, plant_id: str) -> SajResponse:
        return self.call("plant/getPlantAllDeviceList", {"plantId": plant_id, "userId": ""})

    def upload_data(
        self, device_sn: str, start: datetime | date | str, end: datetime | date | str, time_unit: int
    ) -> list[SajResponse]:
        """Device data; minute data (time_unit 0) split into windows of at most 24 h. Signed."""
        spans = windows(start, end, MINUTE_SPAN) if int(time_unit) == 0 else [(parse_time(start), parse_time(end))]
        return [
            self.call(
                "device/uploadData",
                {"deviceSn": device_sn, "startTime": fmt_time(s), "endTime": fmt_time(e), "timeUnit": int(time_unit)},
                sign_sn=device_sn,
            )
            for s, e in spans
        ]

    def history_data(
        self, device_sn: str, start: datetime | date | str, end: datetime | date | str
    ) -> list[SajResponse]:
        """historyDataCommon in windows of at most 24 h. Signed."""
        return [
            self.call(
                "device/historyDataCommon",
                {"deviceSn": device_sn, "startTime": fmt_time(s), "endTime": fmt_time(e)},
                sign_sn=device_sn,
            )
            for s, e in windows(start, end, MINUTE_SPAN)
        ]

    def sec_data(
        self, plant_id: str, start: datetime | date | str, end: datetime | date | str, time_unit: int
    ) -> list[SajResponse]:
        """Load-monitor data; minute data split into 24 h windows. A plant without a load monitor
        answers code 10021: returned (not raised) so the raw layer lands it."""
        spans = windows(start, end, MINUTE_SPAN) if int(time_unit) == 0 else [(parse_time(start), parse_time(end))]
        out = []
        for s, e in spans:
            r = self.call(
                "device/secData",
                {"plantId": plant_id, "startTime": fmt_time(s), "endTime": fmt_time(e), "timeUnit": int(time_unit)},
                accept_codes={10021},
            )
            out.append(r)
            if r.code == 10021:  # no load monitor: the other windows would say the same
                break
        return out

    def plant_statistics(self, plant_id: str, client_date: datetime | date | str) -> SajResponse:
        """Plant statistics up to `client_date` (plant-local; a date means that day's 23:59:59)."""
        if isinstance(client_date, date) and not isinstance(client_date, datetime):
            client_date = datetime(client_date.year, client_date.month, client_date.day, 23, 59, 59)
        return self.call("plant/getPlantStatisticsData", {"plantId": plant_id, "clientDate": fmt_time(client_date)})

    def alarm_list(
        self,
        start: datetime | date | str | None = None,
        end: datetime | date | str | None = None,
        device_sn: str | None = None,
        status: int | str | Sequence[int] | None = None,
        alarm_level: int | str | Sequence[int] | None = None,
    ) -> SajResponse:
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

    def device_alarm_list(self, device_sn: str, alarm_common_state: int, alarm_device_type: int = 1) -> SajResponse:
        return self.call(
            "device/getDeviceAlarmList",
            {
                "deviceSn": device_sn,
                "alarmCommonState": int(alarm_common_state),
                "alarmDeviceType": int(alarm_device_type),
            },
        )

    def realtime(self, device_sn: str) -> SajResponse:
        return self.call("device/realtimeDataCommon", {"deviceSn": device_sn}, sign_sn=device_sn)


def _csv(value: int | str | Sequence[int]) -> str:
    if isinstance(value, (int, str)):
        return str(value)
    return ",".join(str(v) for v in value)
