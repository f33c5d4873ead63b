"""The local days on which daylight-saving time changes the length of a day in the fleet's zones (23 hours when
the clocks go forward, 25 when they go back), and days of 24 hours to set beside them: (time zone, day, hours).
The simulator must serve these days, and the models read them, with exactly these lengths."""

from __future__ import annotations

from datetime import date

DST_DAYS = [
    ("Europe/Berlin", date(2025, 3, 30), 23),
    ("Europe/Berlin", date(2025, 10, 26), 25),
    ("Australia/Sydney", date(2025, 4, 6), 25),
    ("Australia/Sydney", date(2025, 10, 5), 23),
]
# the same dates where the zone has no daylight saving, and a summer day of a zone that has it
PLAIN_DAYS = [
    ("PRC", date(2025, 3, 30), 24),
    ("PRC", date(2025, 10, 26), 24),
    ("Asia/Kuala_Lumpur", date(2025, 6, 1), 24),
    ("Europe/Berlin", date(2025, 6, 1), 24),
]
