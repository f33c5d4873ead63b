"""What SAJ's inverters and meters measure besides energy: string voltages and currents, grid voltages and
frequency, phases, temperatures.

Deterministic per (fleet seed, device, local day), whatever the request order; derived from the fleet's
truth (the powers) and never feeding back into it. Every endpoint that shows a device's strings or grid
voltage (uploadData, historyDataCommon, realtimeDataCommon, the EMS meter) reads them from here, so they
agree with each other sample by sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.fleet import SITES, Device, Plant, _u
from ..core.physics import CLIMATES

VNOM = {"DE": 230.0, "AU": 240.0, "MY": 240.0, "CN": 220.0}  # grid voltage per country
FREQ = 50.0  # every simulated country runs at 50 Hz
DC_EFFICIENCY = 0.975  # AC power / DC string power


@dataclass
class DayElectrics:
    """One device's measurements over a local day (arrays of the day's slots)."""

    l1: np.ndarray  # grid voltage of phase 1 (V, 0.1)
    l23: np.ndarray  # (2, n) grid voltages of phases 2 and 3 (V, 0.1); meaningful on three-phase devices only
    three_phase: bool
    vmp: np.ndarray  # (2, n) string voltages while producing (V, 0.1)
    night_v: np.ndarray  # (2, n) open string voltages while not producing (V, 0.1)
    split: float  # share of the DC power on string 1
    glitch: np.ndarray  # samples whose todayEnergy counter reads 0 (a counter that cannot always be trusted)

    def strings(self, power: int, i: int) -> tuple[int, int, float, float, float, float]:
        """(pv1Power, pv2Power, pv1Volt, pv2Volt, pv1Curr, pv2Curr) of sample i at AC power `power` (W)."""
        if power <= 0:
            return 0, 0, float(self.night_v[0, i]), float(self.night_v[1, i]), 0.0, 0.0
        dc = power / DC_EFFICIENCY
        p1 = int(round(dc * self.split))
        p2 = int(round(dc)) - p1
        v1, v2 = float(self.vmp[0, i]), float(self.vmp[1, i])
        return p1, p2, v1, v2, round(p1 / v1, 2), round(p2 / v2, 2)


def day_electrics(seed: int, plant: Plant, dev: Device, day_index: int, n: int) -> DayElectrics:
    """The measurements of `dev` on local day `day_index` (n slots)."""
    rng = np.random.default_rng([seed, dev.index, day_index, 0x707])
    vnom = VNOM.get(plant.country_code, 230.0)
    l1 = np.round(vnom + rng.normal(0, 2.0, n), 1)
    l23 = np.round(vnom + rng.normal(0, 2.0, (2, n)), 1)
    vmp = np.round(330 + 40 * rng.random((2, n)), 1)
    split = 0.4 + 0.2 * _u(seed, "split", dev.sn)
    night_v = np.round(rng.uniform(0, 30, (2, n)), 1)
    glitch = rng.random(n) < 0.02
    return DayElectrics(l1, l23, dev.phases == 3, vmp, night_v, split, glitch)


def ambient_c(plant: Plant) -> float:
    """The inverter's ambient sensor (°C): the site's mean temperature (an inverter hangs in a garage or under
    the eaves, out of the sun and the day's swings)."""
    return CLIMATES[SITES[plant.index % len(SITES)][6]]["t_mean"]


def temperatures(ambient: float, inverter_load: np.ndarray, battery_load: np.ndarray):
    """(heatsink, inverter board, battery) temperatures (°C) at loads (power / rating, 0..1)."""
    return ambient + 25.0 * inverter_load, ambient + 3.0 + 18.0 * inverter_load, ambient + 3.0 + 5.0 * battery_load
