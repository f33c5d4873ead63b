"""Which days of an SMA log a day's landing needs: the day's own, and the earlier days back to where each fault
that ended on it began.

A log (`/v1/plants/{id}/logs`, `/v1/devices/{id}/logs`) answers one plant-local day of entries: one when a fault
began, one when it ended, paired by device and message (`messageTagId`). A fault that ends on day D may have
begun days before; its occurrence is known by its start, so D's landing also holds the earlier days' answers back
to that start (at most `LOOKBACK_DAYS`), and staging pairs the entries without reading another day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from pipelines.core.transport import ApiResponse

LOOKBACK_DAYS = 14  # a fault open longer than this is landed with an unknown start on the day it ends

Key = tuple[str, str]


def _entries(payload: object) -> list[tuple[Key, str]]:
    logs = payload.get("logs") if isinstance(payload, dict) else None
    return [
        ((str(e.get("deviceId") or ""), str(e.get("messageTagId") or "")), str(e.get("status")))
        for e in logs or []
        if isinstance(e, dict)
    ]


def ended_without_start(payload: object) -> set[Key]:
    """Faults that end in this answer without having begun in it (the answer lists entries in time order)."""
    open_, missing = set(), set()
    for key, status in _entries(payload):
        if status == "Began":
            open_.add(key)
        elif status == "Ended":
            if key in open_:
                open_.discard(key)
            else:
                missing.add(key)
    return missing


def open_at_end(payload: object) -> set[Key]:
    """Faults that began in this answer and had not ended by its end."""
    open_: set[Key] = set()
    for key, status in _entries(payload):
        if status == "Began":
            open_.add(key)
        elif status == "Ended":
            open_.discard(key)
    return open_


def with_lookback(fetch: Callable[[date], ApiResponse], day: date) -> list[ApiResponse]:
    """fetch(day), then fetch(earlier day) for as long as a fault that ends on `day` has not been seen beginning
    (at most LOOKBACK_DAYS back; the days need not be partitions)."""
    answers = [fetch(day)]
    missing = ended_without_start(answers[0].payload)
    back = day - timedelta(days=1)
    while missing and (day - back).days <= LOOKBACK_DAYS:
        answers.append(fetch(back))
        missing -= open_at_end(answers[-1].payload)
        back -= timedelta(days=1)
    return answers
