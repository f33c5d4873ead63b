"""Fault injection for the simulator: transport faults, API errors, damaged data, outages, lateness."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone


@dataclass
class Faults:
    """What can go wrong. Rates are probabilities per request (or per sample for data faults).

    offline: {sn (device or load-monitor module): [(start_utc, end_utc), ...]} -- samples in these spans
    are not served (truth ``reported`` is False). late_s: samples whose interval ended less than late_s
    seconds ago are not served yet. token_ttl_s: tokens expire after this many seconds (earlier than the
    ``expires`` the token endpoint announces).
    """

    seed: int = 0
    http_5xx_rate: float = 0.0
    code_10001_rate: float = 0.0
    latency_s: float = 0.0
    truncate_rate: float = 0.0
    missing_field_rate: float = 0.0
    wrong_type_rate: float = 0.0
    duplicate_sample_rate: float = 0.0
    token_ttl_s: float | None = None
    offline: dict = field(default_factory=dict)
    late_s: float = 0.0

    def __post_init__(self):
        off = {}
        for sn, spans in (self.offline or {}).items():
            off[str(sn)] = [(parse_instant(a), parse_instant(b)) for a, b in spans]
        self.offline = off
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    @classmethod
    def from_dict(cls, d: dict) -> Faults:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**d)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["offline"] = {sn: [(a.isoformat(), b.isoformat()) for a, b in spans] for sn, spans in self.offline.items()}
        return d

    def roll(self, rate: float) -> bool:
        """One seeded draw: True with probability rate."""
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def randint(self, a: int, b: int) -> int:
        with self._lock:
            return self._rng.randint(a, b)

    def choice(self, seq):
        with self._lock:
            return self._rng.choice(seq)


def parse_instant(v) -> datetime:
    """An aware UTC datetime from a datetime or an ISO-8601 text (naive means UTC)."""
    if isinstance(v, datetime):
        dt = v
    else:
        dt = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
