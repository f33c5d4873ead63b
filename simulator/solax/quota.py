"""The SolaX Cloud call quota of one token, on the simulated clock.

Guarantees: a call is admitted while the token made fewer than `per_minute` admitted calls in the last
60 s and fewer than `per_day` in the last 24 h (both sliding windows; a rolling 24 h is the stricter
reading of "10,000 a day", so a client that keeps to it keeps to any calendar day too). A rejected call
does not use up a window but is a violation; `violations` rejections in a row (no admitted call between
them) lock the token out for `lockout_s` seconds, during which every call is refused and nothing counts.
All instants are the caller's clock (the fleet's `now`: frozen, moved by `POST /admin/clock`, or real),
so a test waits a lock-out out by moving the clock. A clock moved backwards forgets calls "in the future".
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

OK, MINUTE, DAY, LOCKED = "ok", "minute", "day", "locked"


@dataclass
class _TokenState:
    minute: deque = field(default_factory=deque)
    day: deque = field(default_factory=deque)
    streak: int = 0
    locked: tuple[float, float] | None = None  # [from, until)


class Quota:
    def __init__(self, per_minute: int = 10, per_day: int = 10_000, violations: int = 3, lockout_s: float = 3600.0):
        self.per_minute = per_minute
        self.per_day = per_day
        self.violations = violations
        self.lockout_s = lockout_s
        self._lock = threading.Lock()
        self._tokens: dict[str, _TokenState] = {}

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()

    @staticmethod
    def _slide(w: deque, now: float, window_s: float) -> None:
        while w and w[-1] > now:
            w.pop()
        while w and now - w[0] >= window_s:
            w.popleft()

    def admit(self, token: str, now: float) -> str:
        """OK (the call counts), MINUTE or DAY (a violation), or LOCKED."""
        with self._lock:
            st = self._tokens.setdefault(token, _TokenState())
            if st.locked is not None:
                if st.locked[0] <= now < st.locked[1]:
                    return LOCKED
                st.locked, st.streak = None, 0
            self._slide(st.minute, now, 60.0)
            self._slide(st.day, now, 86400.0)
            if len(st.day) >= self.per_day:
                verdict = DAY
            elif len(st.minute) >= self.per_minute:
                verdict = MINUTE
            else:
                st.minute.append(now)
                st.day.append(now)
                st.streak = 0
                return OK
            st.streak += 1
            if st.streak >= self.violations:
                st.locked = (now, now + self.lockout_s)
                return LOCKED
            return verdict

    def state(self, token: str, now: float) -> dict:
        """What the quota holds for a token at `now` (for the admin route and tests)."""
        with self._lock:
            st = self._tokens.get(token) or _TokenState()
            locked = st.locked is not None and st.locked[0] <= now < st.locked[1]
            return {
                "calls_last_minute": sum(1 for x in st.minute if 0 <= now - x < 60.0),
                "calls_last_24h": sum(1 for x in st.day if 0 <= now - x < 86400.0),
                "violations_in_a_row": st.streak,
                "locked": locked,
                "locked_until": st.locked[1] if locked else None,
                "per_minute": self.per_minute,
                "per_day": self.per_day,
                "violations_to_lockout": self.violations,
                "lockout_s": self.lockout_s,
            }
