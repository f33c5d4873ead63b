"""The SMA Monitoring API client: OAuth2 client credentials, the owner-consent request, the Monitoring endpoints.

Built on the core transport (`pipelines.core.transport`: pacing, the shared token, retries on 5xx and timeouts,
HTTP 429 waited out for its Retry-After, fan-out, stats); this module says where SMA's three services live,
what their statuses mean and how each endpoint is asked. Every answer comes back as an `ApiResponse` holding
the body exactly as received.

- Tokens: `POST {SMA_AUTH_URL}/oauth2/token` with `grant_type=client_credentials` and the client id and
  secret as HTTP Basic. One token per client, shared by every thread and process (`pipelines.core.tokens`),
  retired 10 % of its life (30 s of SMA's 300 s) before `expires_in`; a 401 on a token that should still be
  valid makes the core fetch a new one and retry, so `expires_in` is never trusted alone.
- Rate limit: one budget per API key for every Monitoring endpoint (`limit_key`), paced at `PACE_QPS`;
  SMA's HTTP 429 is waited out for its Retry-After by the core.
- Identifiers from the API go into URL paths only after `checked_identifier` (and URL quoting).
- No secret or token is ever logged, stored in `params` or shown by `repr`.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from datetime import date
from typing import Any
from urllib.parse import quote

from pipelines.core import stores
from pipelines.core import transport as kinds
from pipelines.core.errors import (
    ApiCredentialsError,
    ApiError,
    ApiParameterError,
    ApiPermissionError,
    ConfigurationError,
    register_secret,
)
from pipelines.core.lake import checked_identifier
from pipelines.core.ratelimit import RateLimiter, SlotStore
from pipelines.core.tokens import TokenProvider, TokenStore
from pipelines.core.transport import ApiClient, ApiResponse
from pipelines.sources.sma.settings import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    DEFAULT_CONSENT_URL,
    MONITORING,
    PACE_QPS,
    VARIABLES,
)

VENDOR = "SMA"
TOKEN = "oauth2/token"
CONSENT = "oauth2/v2/bc-authorize"
DEFAULT_EXPIRES_S = 300.0  # what SMA announces (expires_in); used when an answer has none
# The sets a device's per-device hours need (energy values: Wh per interval); meters' sets are left out, as the
# plant's EnergyBalance carries the same consumption and grid terms.
DEVICE_SETS = ("EnergyAndPowerPv", "EnergyAndPowerBattery")
CONSENT_HINT = "ask the plant's owner for consent with `python3 run.py sma-consent OWNER_EMAIL` (README, 'SMA consent')"

HINTS = {
    400: "SMA rejected the request's parameters: see the response body landed in the raw layer.",
    403: "the owner of this plant has not consented to these client credentials, or revoked it: " + CONSENT_HINT + ".",
    404: "SMA does not know this plant or device (any more), or the consent to it was withdrawn.",
}


def parse_token(payload: object) -> tuple[str, float] | None:
    """(token, lifetime in seconds) of a token answer; None when it holds no token."""
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str) or not payload["access_token"]:
        return None
    try:
        expires_s = float(payload.get("expires_in") or DEFAULT_EXPIRES_S)
    except (TypeError, ValueError):
        expires_s = DEFAULT_EXPIRES_S
    return payload["access_token"], expires_s if expires_s > 0 else DEFAULT_EXPIRES_S


class SmaClient(ApiClient):
    """Client of SMA's token, consent and Monitoring services (see the module docstring).

    cache_dir: where the shared token and rate-limit slots live (every process of a deployment on one
    machine shares them); token_store / slot_store: other stores (Postgres, across hosts).
    """

    vendor = VENDOR

    def __init__(
        self,
        client_id: str | None,
        client_secret: str | None,
        api_url: str = DEFAULT_API_URL,
        auth_url: str = DEFAULT_AUTH_URL,
        consent_url: str = DEFAULT_CONSENT_URL,
        cache_dir: str | os.PathLike | None = None,
        qps_scale: float = 1.0,
        *,
        rate_limit: bool = True,
        token_store: TokenStore | None = None,
        slot_store: SlotStore | None = None,
        **transport: Any,
    ) -> None:
        missing = [n for n, v in zip(VARIABLES, (client_id, client_secret)) if not v]
        if missing:
            raise ConfigurationError(
                f"SMA credentials missing: set {' and '.join(missing)} in the environment (the client credentials "
                "SMA's API developer support issued for the Monitoring API); see README, 'Configuration'."
            )
        self.client_id: str = client_id  # type: ignore[assignment]
        register_secret(client_secret)
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        register_secret(self._basic[6:])
        self.auth_url, self.consent_url = auth_url.rstrip("/"), consent_url.rstrip("/")
        api_url = api_url.rstrip("/")
        namespace = f"{self.client_id}\n{api_url}"  # SMA's bucket is per API key
        if slot_store is None:
            slot_store = stores.slot_store(cache_dir)
        limiter = RateLimiter(
            PACE_QPS, None, qps_scale=qps_scale, enabled=rate_limit, store=slot_store, namespace=namespace
        )
        if token_store is None:
            token_store = stores.token_store(cache_dir)
        tokens = TokenProvider(f"sma\n{self.client_id}\n{self.auth_url}", self._fetch_token, token_store, label=VENDOR)
        super().__init__(api_url, limiter, tokens, **transport)

    def __repr__(self) -> str:
        return f"SmaClient(client_id={self.client_id!r}, api_url={self.base_url!r})"

    # --- what SMA's answers mean ---------------------------------------------------------------
    def url(self, endpoint: str) -> str:
        if endpoint == TOKEN:
            return f"{self.auth_url}/{endpoint}"
        if endpoint.startswith(CONSENT):
            return f"{self.consent_url}/{endpoint}"
        return f"{self.base_url}/{endpoint}"

    def limit_key(self, endpoint: str) -> str:
        """One budget for every Monitoring call (SMA's bucket is per API key); tokens and consent apart."""
        if endpoint == TOKEN:
            return "token"
        return "consent" if endpoint.startswith(CONSENT) else MONITORING

    def envelope(self, payload: Any) -> tuple[int | None, str | None]:
        """SMA has no code in its bodies; error bodies carry a message (problem details, OAuth2 errors, the
        consent endpoint's reason)."""
        if not isinstance(payload, dict):
            return None, None
        for key in ("detail", "message", "error_description", "title", "error"):
            if isinstance(payload.get(key), str) and payload[key]:
                return None, payload[key]
        return None, None

    def classify(self, response: ApiResponse) -> str:
        status = response.http_status
        if 200 <= status < 300:
            return kinds.OK
        if status == 401:
            return kinds.CREDENTIALS if response.endpoint == TOKEN else kinds.TOKEN
        if status == 403:
            return kinds.PERMISSION
        if status in (400, 404, 405, 409, 422):
            return kinds.PARAMETER
        return kinds.HTTP_ERROR

    def error(self, kind: str, endpoint: str, params: dict[str, Any], response: ApiResponse) -> ApiError:
        status = response.http_status
        if endpoint == TOKEN:
            return ApiCredentialsError(
                VENDOR,
                endpoint,
                {"client_id": self.client_id},
                None,
                response.msg,
                response=response,
                hint="SMA's token endpoint refused the client credentials: check SMA_CLIENT_ID and SMA_CLIENT_SECRET "
                "(and SMA_AUTH_URL).",
            )
        if kind == kinds.CREDENTIALS:  # 401 again right after fresh tokens
            return ApiCredentialsError(
                VENDOR,
                endpoint,
                params,
                None,
                response.msg,
                response=response,
                hint="SMA refused freshly issued tokens: check that these client credentials are entitled to the "
                "Monitoring API (scope monitoringApi:read) and that SMA_AUTH_URL and SMA_API_URL are one environment.",
            )
        cls = {kinds.PERMISSION: ApiPermissionError, kinds.PARAMETER: ApiParameterError}.get(kind, ApiError)
        return cls(VENDOR, endpoint, params, None, response.msg, response=response, hint=HINTS.get(status))

    def _fetch_token(self) -> tuple[str, float]:
        """The token fetch the TokenProvider uses: the same retries, stats and redaction as every call."""
        form, headers = {"grant_type": "client_credentials"}, {"Authorization": self._basic}
        response = self.request(TOKEN, method="POST", form=form, headers=headers, auth=False)
        token = parse_token(response.payload)
        if token is None:
            raise ApiError(
                VENDOR, TOKEN, {"client_id": self.client_id}, None, "no access_token in the answer", response=response
            )
        return token

    # --- calls --------------------------------------------------------------------------------
    def _call(self, template: str, ids: dict[str, str], params: dict[str, Any] | None = None, **kw: Any) -> ApiResponse:
        """`template` (e.g. "v1/plants/{plantId}/logs") with the checked, quoted ids in its path; the answer's
        params name the ids too, so the raw layer says what was asked."""
        checked = {k: checked_identifier(v, k, VENDOR) for k, v in ids.items()}
        path = template.format(**{k: quote(v, safe="") for k, v in checked.items()})
        response = self.request(template, params, path=path, **kw)
        return dataclasses.replace(response, params={**checked, **response.params})

    def plants(self) -> ApiResponse:
        """The plants of every owner who consented (an empty list without consent, not an error)."""
        return self._call("v1/plants", {})

    def devices(self, plant_id: str) -> ApiResponse:
        """A plant's devices, deactivated ones too (they keep their history)."""
        return self._call("v1/plants/{plantId}/devices/lean", {"plantId": plant_id}, {"WithDeactivatedDevices": "true"})

    def device_sets(self, device_id: str) -> ApiResponse:
        """The measurement sets a device offers (only those can be asked)."""
        return self._call("v1/devices/{deviceId}/measurements/sets", {"deviceId": device_id})

    def energy_balance(self, plant_id: str, day: date) -> ApiResponse:
        """The plant's EnergyBalance of its local `day` at the best resolution SMA keeps, in Wh per interval."""
        return self._call(
            "v1/plants/{plantId}/measurements/sets/EnergyBalance/Day",
            {"plantId": plant_id},
            {"Date": day.isoformat(), "ReturnEnergyValues": "true"},
        )

    def device_set(self, device_id: str, set_type: str, day: date) -> ApiResponse:
        """One of a device's EnergyAndPower* sets for the plant-local `day`, in Wh per interval."""
        return self._call(
            "v1/devices/{deviceId}/measurements/sets/{setType}/Day",
            {"deviceId": device_id, "setType": set_type},
            {"Date": day.isoformat(), "ReturnEnergyValues": "true"},
        )

    def plant_logs(self, plant_id: str, day: date) -> ApiResponse:
        return self._call("v1/plants/{plantId}/logs", {"plantId": plant_id}, {"Date": day.isoformat()})

    def device_logs(self, device_id: str, day: date) -> ApiResponse:
        return self._call("v1/devices/{deviceId}/logs", {"deviceId": device_id}, {"Date": day.isoformat()})

    def request_consent(self, owner_email: str) -> ApiResponse:
        """Ask SMA to e-mail the owner a permission request (custom flow). A `loginHint` that owns no plant is
        answered 400 with the reason: raised as an ApiParameterError whose `msg` is that reason."""
        return self.request(CONSENT, method="POST", body={"loginHint": owner_email})

    def consent_state(self, owner_email: str) -> ApiResponse:
        """The state of the request made for `owner_email` (404 when none was ever made)."""
        return self.request(f"{CONSENT}/{{loginHint}}", path=f"{CONSENT}/{quote(owner_email, safe='@')}")
