"""What the time-of-use tests look for in the truth (Fleet(tou=True))."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np


def trading_days(fleet, plant, first: int = 0, last: int = 300) -> list[date]:
    """The plant's days (indices [first, last)) on which the battery charged from the grid and exported to it."""
    both = (fleet.daily_array(plant, "grid_to_battery", first, last) > 0) & (
        fleet.daily_array(plant, "battery_to_grid", first, last) > 0
    )
    return [fleet.start_date + timedelta(days=first + int(i)) for i in np.nonzero(both)[0]]
