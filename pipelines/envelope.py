"""Normalising the SAJ API's response envelopes (pure functions).

The API answers in several shapes:

- `{"code": 200, "msg": "...", "data": ...}` (most endpoints; `code` 0 on the alarm endpoints);
- `{"errCode": 0 | "0", "errMsg": "", "data": ...}` (plant statistics, storage realtime data);
- page endpoints without a `data` wrapper: `{"total", "rows", "code", "msg", "totalPage"}` at the top.

Success is code 200 or 0. Code 10006 means either "too frequent access" or "parameter error":
the message tells which.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

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


def parse_body(body_text: str) -> Any:
    """The JSON payload of a body, or None when it is not valid JSON (e.g. truncated)."""
    if not body_text or not body_text.strip():
        return None
    try:
        return json.loads(body_text)
    except (ValueError, RecursionError):
        return None


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


def classify(code: int | None, msg: str | None) -> str:
    """What a code means for the client:

    ok, rate, token, credentials, permission, parameter, transient, device_timeout, other.
    """
    if is_success(code):
        return "ok"
    if code == TOO_FREQUENT_CODE:
        return "rate" if is_too_frequent(code, msg) else "parameter"
    if code in TOKEN_CODES:
        return "token"
    if code in CREDENTIAL_CODES:
        return "credentials"
    if code in PERMISSION_CODES:
        return "permission"
    if code in PARAMETER_CODES:
        return "parameter"
    if code in TRANSIENT_CODES:
        return "transient"
    if code in DEVICE_TIMEOUT_CODES:
        return "device_timeout"
    return "other"


def total_pages(env: Envelope, page_size: int) -> int:
    """How many pages a page endpoint has: `totalPage`, else from `total`; at least 1."""
    if env.total_page is not None:
        return max(1, env.total_page)
    if env.total is not None and page_size > 0:
        return max(1, math.ceil(env.total / page_size))
    return 1
