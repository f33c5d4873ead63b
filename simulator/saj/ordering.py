"""The order in which the SAJ stand-in serves the samples of a window: time order by default, sorted by
their local time stamp on request.

Nobody knows in which order the real API sends the repeated hour of a fall-back day. By default every
endpoint answers in time order (02:00 … 02:55 of the first pass, then 02:00 … 02:55 of the second). In
``stamp`` order an endpoint sorts the time-ordered samples by their local time string, stably: each repeated
stamp's two samples are adjacent, the earlier instant first (02:00, 02:00, 02:05, 02:05, …); outside the
repeated hour stamps grow with time, so nothing else moves. Switch it per endpoint with
``SimulatorServer(sample_order={endpoint: order})``, ``--sample-order ENDPOINT=ORDER`` (``--stamp-order``:
every endpoint below) or ``POST /admin/saj/sample-order``.
"""

from __future__ import annotations

import numpy as np

ORDERS = ("time", "stamp")

#: the endpoints that serve the samples of a window (minute data: uploadData and secData with timeUnit 0)
ENDPOINTS = (
    "device/uploadData",
    "device/secData",
    "device/historyDataCommon",
    "device/emsHistoryData",
    "device/emsHistoryData4Meter",
)


def checked(mapping: dict) -> dict:
    """`mapping` ({endpoint: order}) validated against the endpoints and orders above."""
    for endpoint, order in mapping.items():
        if endpoint not in ENDPOINTS:
            raise ValueError(f"{endpoint!r} does not serve samples (one of {', '.join(ENDPOINTS)})")
        if order not in ORDERS:
            raise ValueError(f"sample order {order!r} is not one of {', '.join(ORDERS)}")
    return dict(mapping)


def arrange(order: str, stamps: list[str], idx: np.ndarray) -> np.ndarray:
    """The time-ordered sample indices `idx` of one local day in `order` (stamps: the day's local stamps)."""
    if order == "time":
        return idx
    return idx[np.argsort(np.asarray([stamps[i] for i in idx]), kind="stable")]
