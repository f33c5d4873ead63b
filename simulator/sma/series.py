"""SMA measurement sets computed from the fleet's truth: which rows a Day serves, what they carry, how they
are stamped.

Guarantees:
- A row covers ``slots_per_row`` 5-minute truth slots (1 on ennexOS plants, 3 on classic plants) and is
  stamped with the END of its interval as ``YYYY-MM-DDTHH:MM:SS`` without offset, in plant-local wall time
  (default) or in UTC (``basis="utc"``). A Day is the plant-local day: its last row is stamped next
  midnight 00:00; 288 (96) rows, 276 (92) on a spring-forward day, 300 (100) on a fall-back day, where
  the repeated hour's local stamps appear twice, in time order.
- A row is served once every slot in it was reported (logger up, not in an ``offline`` span, ended by
  now - late: ``Fleet.reported_mask``; plant-level series such as EnergyBalance and the meter's follow
  ``Fleet.plant_reported_mask``, the truth's plant ``reported``) and, on classic plants, once a processing
  run has passed its end.
- The first served row after missing rows carries their energy: its Wh are the counter delta over the whole
  span since the previous served row of the day, its mean W that energy over the span (so W x the time
  since the previous stamp gives the energy, as SMA tells clients to convert).
- Wh are deltas of a whole-Wh counter started at local midnight: each row is within 1 Wh of the truth and
  a day's rows add up to the floor of the truth's total over the slots they cover.
- A property without a value is left out of the row, never sent as null.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ..core.fleet import Fleet
from ..core.physics import STEP_S
from .layout import SmaDevice, SmaPlant

WH_PER_WSLOT = 12  # W x 5 min = W/12 Wh
VNOM = {"DE": 230.0, "AU": 240.0, "MY": 240.0, "CN": 220.0}
ISOLATION_CEILING = 3_000_000.0  # Ω, the value captured through the night


@dataclass
class Rows:
    """Served rows of one series on one day: spans [starts, ends) in slots, stamps, cumulative sums."""

    starts: np.ndarray
    ends: np.ndarray
    stamps: list
    _cs: dict
    _raw: dict

    def __len__(self) -> int:
        return len(self.ends)

    def wh(self, key: str) -> np.ndarray:
        cs = self._cum(key)
        return cs[self.ends] // WH_PER_WSLOT - cs[self.starts] // WH_PER_WSLOT

    def sum_w(self, key: str) -> np.ndarray:
        cs = self._cum(key)
        return cs[self.ends] - cs[self.starts]

    def mean_w(self, key: str) -> np.ndarray:
        return self.sum_w(key) / (self.ends - self.starts)

    def at_end(self, key: str) -> np.ndarray:
        return self._raw[key][self.ends - 1]

    def _cum(self, key: str) -> np.ndarray:
        cs = self._cs.get(key)
        if cs is None:
            cs = self._cs[key] = np.concatenate([[0], np.cumsum(self._raw[key], dtype=np.int64)])
        return cs


class SeriesMaker:
    """Rows of plants and devices for a fleet, with the clock, lateness and processing the server sets."""

    def __init__(self, fleet: Fleet, processing_s: float = 7200.0):
        self.fleet = fleet
        self.processing_s = processing_s
        self._stamps: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ availability
    def processed_until(self, sp: SmaPlant, now_ts: float) -> float:
        """Classic plants: the last batch processing run (every processing_s, plant-specific phase)."""
        if not sp.classic or self.processing_s <= 0:
            return now_ts
        return now_ts - ((now_ts - sp.processing_phase_s) % self.processing_s)

    # ------------------------------------------------------------------ rows
    def rows(
        self, sp: SmaPlant, day: date, values: dict, mask: np.ndarray, dd: dict, basis: str, first_row: int = 0
    ) -> Rows:
        k = sp.slots_per_row
        n = dd["n"]
        m = n // k
        ok = mask[: m * k].reshape(m, k).all(axis=1)
        row_end_ts = dd["utc"][k - 1 :: k][:m] + STEP_S
        ok &= row_end_ts <= self.processed_until(sp, self.fleet.now.timestamp())
        ok[:first_row] = False
        idx = np.nonzero(ok)[0]
        ends = (idx + 1) * k
        starts = np.concatenate([[first_row * k], ends[:-1]]).astype(np.int64) if len(ends) else ends
        stamps = self.stamps(sp, day, dd, basis)
        return Rows(starts=starts, ends=ends, stamps=[stamps[i] for i in idx], _cs={}, _raw=values)

    def stamps(self, sp: SmaPlant, day: date, dd: dict, basis: str) -> list:
        """Interval-end stamps of every row of the day (cached)."""
        k = sp.slots_per_row
        key = (sp.plant.index, day, k, basis)
        with self._lock:
            hit = self._stamps.get(key)
            if hit is not None:
                return hit
        ends = pd.to_datetime(dd["utc"][k - 1 :: k] + STEP_S, unit="s", utc=True)
        if basis == "local":
            ends = ends.tz_convert(self.fleet.zone(sp.plant))
        out = ends.strftime("%Y-%m-%dT%H:%M:%S").tolist()
        with self._lock:
            self._stamps[key] = out
            if len(self._stamps) > 512:
                self._stamps.popitem(last=False)
        return out

    def spike_row(self, sp: SmaPlant, dev: SmaDevice, dd: dict) -> int:
        """The row where a newly added device starts on its first day: the one just before its first PV."""
        pv = dd["devices"][dev.sn]["pv"]
        first = np.nonzero(pv > 0)[0]
        return max(int(first[0]) // sp.slots_per_row - 1, 0) if len(first) else 0


# ---------------------------------------------------------------------- set bodies
def energy_or_power(rows: Rows, key: str, energy: bool) -> list:
    """Per row: whole Wh (as x.0) or mean W (3 decimals)."""
    if energy:
        return [float(x) for x in rows.wh(key)]
    return [round(float(x), 3) for x in rows.mean_w(key)]


def derived_plant_values(v: dict) -> dict:
    """The EnergyBalance quantities per slot from the plant truth (W), the derived ones from its flows (so
    they hold when a battery charges from the grid or exports to it)."""
    return {
        **{k: v[k] for k in ("pv", "load", "imp", "exp", "chg", "dis", "soc")},
        "direct": v["pv_to_load"],  # PV used by the loads as it was produced
        "selfcons": v["pv"] - v["pv_to_grid"],  # PV kept on site (loads and battery)
        "selfsupply": v["load"] - v["grid_to_load"],  # load covered on site (PV and battery)
    }


def energy_balance_rows(rows: Rows, sp: SmaPlant, energy: bool, spike: tuple | None = None) -> list[dict]:
    """EnergyBalance rows: PV always; consumption and grid with a meter; battery with a battery; rates only
    where their denominator is not zero. spike: (slot end, Wh) added to pvGeneration in energy values."""
    cols = {"pvGeneration": energy_or_power(rows, "pv", energy)}
    if spike is not None and energy:
        end, wh = spike
        j = np.nonzero((rows.starts < end) & (rows.ends >= end))[0]
        if len(j):
            cols["pvGeneration"][int(j[0])] += float(wh)
    meter, battery = sp.has_meter, sp.has_battery
    if meter:
        cols["directConsumption"] = energy_or_power(rows, "direct", energy)
        cols["totalConsumption"] = energy_or_power(rows, "load", energy)
    if battery:
        cols["batteryCharging"] = energy_or_power(rows, "chg", energy)
        cols["batteryDischarging"] = energy_or_power(rows, "dis", energy)
        cols["batteryStateOfCharge"] = [float(x) for x in rows.at_end("soc")]
    if meter:
        cols["gridFeedIn"] = energy_or_power(rows, "exp", energy)
        cols["gridConsumption"] = energy_or_power(rows, "imp", energy)
        cols["selfConsumption"] = energy_or_power(rows, "selfcons", energy)
    out = _zip_rows(rows, cols)
    if meter:
        pv, sc = rows.sum_w("pv"), rows.sum_w("selfcons")
        load, ss = rows.sum_w("load"), rows.sum_w("selfsupply")
        supply = energy_or_power(rows, "selfsupply", energy)
        for i, r in enumerate(out):
            if load[i] > 0:
                r["autarkyRate"] = round(float(ss[i]) / float(load[i]), 3)
            if pv[i] > 0:
                r["selfConsumptionRate"] = round(float(sc[i]) / float(pv[i]), 3)
            r["selfSupply"] = supply[i]
    return out


def _zip_rows(rows: Rows, cols: dict) -> list[dict]:
    names = list(cols)
    lists = [cols[k] for k in names]
    return [dict(zip(["time", *names], vals)) for vals in zip(rows.stamps, *lists)]


def device_set_rows(
    set_type: str, rows: Rows, dev: SmaDevice, energy: bool, noise: dict, spike_wh: int | None = None
) -> list[dict]:
    """Rows of one device set. noise: per-slot arrays (volts, frequency, isolation, quirk draws)."""
    if set_type == "EnergyAndPowerPv":
        vals = energy_or_power(rows, "pv", energy)
        if spike_wh is not None and energy and vals:
            vals[0] += float(spike_wh)
        return _zip_rows(rows, {"pvGeneration": vals})
    if set_type == "EnergyAndPowerBattery":
        return _zip_rows(
            rows,
            {
                "batteryCharging": energy_or_power(rows, "chg", energy),
                "batteryDischarging": energy_or_power(rows, "dis", energy),
                "batteryStateOfCharge": [float(x) for x in rows.at_end("soc")],
            },
        )
    if set_type == "EnergyAndPowerInOut":
        return _zip_rows(
            rows,
            {
                "gridFeedIn": energy_or_power(rows, "exp", energy),
                "gridConsumption": energy_or_power(rows, "imp", energy),
            },
        )
    if set_type == "EnergyAndPowerConsumption":
        return _zip_rows(rows, {"consumption": energy_or_power(rows, "load", energy)})
    if set_type == "PowerAc":
        return _power_ac(rows, dev, noise)
    if set_type == "PowerDc":
        return _power_dc(rows, noise)
    raise KeyError(set_type)


def _power_ac(rows: Rows, dev: SmaDevice, noise: dict) -> list[dict]:
    """Means over the row: phase voltages and currents (single-phase inverters: phase A only, the others
    left out), active power (the AC output: PV, plus battery discharge, less charge on a hybrid)."""
    p = rows.mean_w("ac")
    volts = rows.at_end("_v")
    freq = rows.at_end("_f")
    three = noise["phases"] == 3
    out = []
    for t, w, v, f in zip(rows.stamps, p, volts, freq):
        r = {"time": t}
        phases = "ABC" if three else "A"
        cur = round(max(float(w), 0.0) / (len(phases) * float(v)), 3)
        for ph in phases:
            r[f"voltagePhase{ph}"] = round(float(v), 3)
        for ph in phases:
            r[f"currentPhase{ph}"] = cur
        r["activePower"] = round(float(w), 3)
        r["gridFrequency"] = round(float(f), 3)
        out.append(r)
    return out


def _power_dc(rows: Rows, noise: dict) -> list[dict]:
    """DC inputs A and B (arrays of {"index", "value"}) and the isolation resistance. At night a few rows
    come with empty arrays and without isolationResistance, as in the captured full day."""
    p = rows.mean_w("ac") / 0.975
    volt = rows.at_end("_dcv")
    iso = rows.at_end("_iso")
    quirk = rows.at_end("_q")
    out = []
    for t, w, v, ri, q in zip(rows.stamps, p, volt, iso, quirk):
        w = max(float(w), 0.0)
        if w <= 0 and q < 0.02:
            out.append({"time": t, "dcPowerInput": [], "dcVoltageInput": [], "dcCurrentInput": []})
            continue
        shares = (("A", 0.55), ("B", 0.45))
        vv = float(v) if w > 0 else 0.0
        r = {
            "time": t,
            "dcPowerInput": [{"index": i, "value": round(w * s, 3)} for i, s in shares],
            "dcVoltageInput": [{"index": i, "value": round(vv, 3)} for i, _ in shares],
            "dcCurrentInput": [{"index": i, "value": round(w * s / vv, 3) if vv else 0.0} for i, s in shares],
            "isolationResistance": float(ri) if w > 0 else ISOLATION_CEILING,
        }
        out.append(r)
    return out


def device_noise(fleet: Fleet, sp: SmaPlant, dev: SmaDevice, day_index: int, n: int) -> dict:
    """Deterministic per-slot draws of a device-day: grid voltage and frequency, DC voltage, isolation."""
    rng = np.random.default_rng([fleet.seed, int(dev.device_id), max(day_index, 0), 0x5A])
    vnom = VNOM.get(sp.plant.country_code, 230.0)
    return {
        "_v": vnom + rng.normal(0.0, 1.5, n),
        "_f": 50.0 + rng.normal(0.0, 0.01, n),
        "_dcv": 330.0 + rng.normal(0.0, 12.0, n),
        "_iso": np.round(2_200_000.0 + rng.uniform(0, 600_000, n), -3),
        "_q": rng.random(n),
        "phases": dev.phases,
    }
