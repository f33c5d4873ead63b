"""SAJ's request signing and its access-token answer.

SAJ keeps one live token per app: asking for a new one invalidates the previous one, so the client shares
one token through the core's token store (`pipelines.core.tokens`); this module only says how SAJ signs a
device call and how its token endpoint answers.
"""

from __future__ import annotations

import hashlib

DEFAULT_EXPIRES_S = 7200  # what the reference's example shows; used when the server sends none


def sign(app_id: str, device_sn: str) -> str:
    """clientSign: sha256 hex of "appId=<appId>,deviceSN=<deviceSn>"."""
    return hashlib.sha256(f"appId={app_id},deviceSN={device_sn}".encode()).hexdigest()


def parse_token_data(data: object) -> tuple[str, float] | None:
    """(token, lifetime in seconds) of an access_token answer's `data`; None when it holds no token."""
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        return None
    expires = data.get("expires")
    try:
        expires_s = float(expires) if expires not in (None, "") else DEFAULT_EXPIRES_S
    except (TypeError, ValueError):
        expires_s = DEFAULT_EXPIRES_S
    if expires_s <= 0:
        expires_s = DEFAULT_EXPIRES_S
    return data["access_token"], expires_s
