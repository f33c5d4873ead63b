"""What SAJ's answers say: their envelopes, what each code means for the client, and what to do about it.

The API answers in several shapes:

- `{"code": 200, "msg": "...", "data": ...}` (most endpoints; `code` 0 on the alarm endpoints);
- `{"errCode": 0 | "0", "errMsg": "", "data": ...}` (plant statistics, storage realtime data);
- page endpoints without a `data` wrapper: `{"total", "rows", "code", "msg", "totalPage"}` at the top.

Success is code 200 or 0. Code 10006 means either "too frequent access" or "parameter error":
the message tells which.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pipelines.core import transport as kinds

SUCCESS_CODES = frozenset({0, 200})

# The codes, grouped by what the client does about them.
TOKEN_CODES = frozenset({200010, 10002, 10007})  # refresh the token once and retry
CREDENTIAL_CODES = frozenset({100009, 200008, 200014})
PERMISSION_CODES = frozenset({10004, 10005, 200015})
PARAMETER_CODES = frozenset({10003})
TRANSIENT_CODES = frozenset({10001})
DEVICE_TIMEOUT_CODES = frozenset({10016})
TOO_FREQUENT_CODE = 10006

_TOO_FREQUENT = re.compile(r"frequen|too many|rate limit|频繁|过快", re.I)


@dataclass(frozen=True)
class Envelope:
    code: int | None
    msg: str | None
    data: Any
    has_data: bool  # the payload had a `data` key
    rows: list | None  # page endpoints: the rows
    total: int | None  # page endpoints: total rows
    total_page: int | None  # page endpoints: number of pages
    paged: bool  # the top-level page shape (total/rows/totalPage without a data wrapper)


def to_int(value: Any) -> int | None:
    """A code/count as an int: accepts ints, "0", "200", 200.0; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        s = value.strip()
        if re.fullmatch(r"[+-]?\d+", s):
            return int(s)
        try:
            f = float(s)
        except ValueError:
            return None
        return int(f) if math.isfinite(f) and f.is_integer() else None
    return None


def normalise(payload: Any) -> Envelope:
    """The envelope of a parsed JSON payload, whatever its shape."""
    if not isinstance(payload, dict):
        return Envelope(None, None, payload, False, None, None, None, False)
    if "code" in payload:
        code, msg = to_int(payload.get("code")), payload.get("msg")
    else:
        code, msg = to_int(payload.get("errCode")), payload.get("errMsg")
    if msg is not None and not isinstance(msg, str):
        msg = str(msg)
    has_data = "data" in payload
    data = payload.get("data")

    paged = "rows" in payload and not has_data
    source = payload if paged else (data if isinstance(data, dict) and "rows" in data else None)
    rows = total = total_page = None
    if source is not None:
        rows = source.get("rows")
        if rows is not None and not isinstance(rows, list):
            rows = None
        total = to_int(source.get("total"))
        total_page = to_int(source.get("totalPage"))
    return Envelope(code, msg, data, has_data, rows, total, total_page, paged)


def is_success(code: int | None) -> bool:
    return code in SUCCESS_CODES


def is_too_frequent(code: int | None, msg: str | None) -> bool:
    """Code 10006 with a message about frequency ("Too frequent access"): a rate-limit rejection."""
    return code == TOO_FREQUENT_CODE and bool(msg) and bool(_TOO_FREQUENT.search(msg or ""))


# what the client does about a documented code (the first group that holds it); any other code is kinds.OTHER
_KIND_OF_CODES = (
    (TOKEN_CODES, kinds.TOKEN),
    (CREDENTIAL_CODES, kinds.CREDENTIALS),
    (PERMISSION_CODES, kinds.PERMISSION),
    (PARAMETER_CODES, kinds.PARAMETER),
    (TRANSIENT_CODES, kinds.TRANSIENT),
    (DEVICE_TIMEOUT_CODES, kinds.SLOW_DEVICE),
)


def classify(code: int | None, msg: str | None) -> str:
    """What a code means for the client (the kinds of `pipelines.core.transport`)."""
    if is_success(code):
        return kinds.OK
    if code == TOO_FREQUENT_CODE:
        return kinds.RATE if is_too_frequent(code, msg) else kinds.PARAMETER
    return next((kind for codes, kind in _KIND_OF_CODES if code in codes), kinds.OTHER)


def total_pages(env: Envelope, page_size: int) -> int:
    """How many pages a page endpoint has: `totalPage`, else from `total`; at least 1."""
    if env.total_page is not None:
        return max(1, env.total_page)
    if env.total is not None and page_size > 0:
        return max(1, math.ceil(env.total / page_size))
    return 1


# code -> what the user should do about it
HINTS: dict[int, str] = {
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
    "requesting tokens for the same app (only one token per app is live); share the pipeline's token "
    "store (FLEET_DATA_DIR, or FLEET_COORDINATION_URL across hosts) or stop the other program.",
    10002: "the server says not logged in even after a token refresh: check the credentials and that "
    "no other program requests tokens for this app.",
    10007: "the server logged the app out even after a token refresh: check that no other program "
    "requests tokens for this app.",
    10016: "the device did not answer the server (device connection timeout): retry later.",
    10021: "the server reports a data exception (for secData: the plant has no load monitor).",
    10001: "the SAJ service had a system error: retry later.",
}


def hint_for(code: int | None) -> str | None:
    return HINTS.get(code) if code is not None else None
