"""Physics of the simulated fleet: PV, household load, battery and grid on a 5-minute grid.

Everything is laid out per plant-local day: a day is padded to ``SLOTS`` (300) five-minute slots, of which
the first 276, 288 or 300 are real (spring-forward, normal, fall-back day). Days are grouped in blocks of
``BLOCK_DAYS``; the random inputs of a block are drawn from a generator seeded by (fleet seed, plant, block),
so any day can be recomputed alone and comes out bit-identical to the bulk pass, whatever the request order.

The battery is sequential: the bulk pass walks the days in order (vectorised over plants) and remembers the
stored energy at the start of every day, so a single day can later be replayed from that state.

Dispatch: by default a battery serves self-consumption (charged by PV surplus, discharged into the load).
A plant on a time-of-use tariff (`PlantPhysics.tou`) also force-charges from the grid in the cheap night
window up to the day's target and, on some days, discharges at full power in the evening peak window, to
the load first and the rest to the grid (`tou_block`). Either way every interval balances in whole watts
(`pv + import + discharge = load + export + charge`), never imports and exports at once, never charges and
discharges at once, and keeps the battery within its SOC and power limits. `flows` attributes each
interval's terms to the seven energy flows (PV, grid and battery to where they went).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

STEP_S = 300
SLOTS = 300  # 25 h of 5-minute slots: room for the longest (fall-back) day
BLOCK_DAYS = 32
DT_H = STEP_S / 3600.0
ETA_C = 0.96  # charge efficiency
ETA_D = 0.96  # discharge efficiency
SOC_MIN = 0.10
SOC_MAX = 1.00

# Time-of-use dispatch: local wall-clock hours [start, end) of the cheap night window (force-charge from
# the grid) and of the evening peak window (discharge to the grid on export days), the share of days that
# are export days, the SOC an export stops at (the household keeps it for its night), and the forced
# charge and discharge powers as shares of the battery's power limit.
TOU_CHEAP_HOURS = (1.0, 5.0)
TOU_PEAK_HOURS = (17.0, 20.0)
TOU_EXPORT_SHARE = 0.3
TOU_RESERVE_SOC = 0.30
TOU_TOP_SOC = 0.95  # the highest night target
TOU_CHARGE_SHARE = 0.5
TOU_DISCHARGE_SHARE = 1.0
SELF_USE, GRID_CHARGE, GRID_DISCHARGE, HOLD = 0, 1, 2, 3  # the dispatch modes of a slot

# Climates: weather state distributions (clear, partly cloudy, overcast) at the local summer and winter
# solstice, persistence of the day-to-day Markov chain, temperature (mean, seasonal amplitude), seasonal load,
# haze (a factor on clear-sky irradiance) and the night load of air conditioning (a share of the daily profile);
# one row per climate, read as a dict of these fields.
CLIMATE_FIELDS = ("pi_summer", "pi_winter", "persist", "t_mean", "t_amp", "load_season", "haze", "night_ac")
CLIMATES = {
    name: dict(zip(CLIMATE_FIELDS, row, strict=True))
    for name, row in {
        "temperate": ((0.34, 0.44, 0.22), (0.08, 0.32, 0.60), 0.55, 10.0, 9.0, 0.22, 1.0, 0.0),
        "subtropical": ((0.42, 0.36, 0.22), (0.52, 0.32, 0.16), 0.5, 18.0, 5.0, 0.10, 0.97, 0.14),
        "tropical": ((0.14, 0.61, 0.25), (0.14, 0.61, 0.25), 0.45, 28.0, 0.5, 0.0, 0.90, 0.30),
        "humid_subtropical": ((0.22, 0.50, 0.28), (0.30, 0.36, 0.34), 0.55, 22.0, 7.0, -0.12, 0.88, 0.15),
    }.items()
}
STATE_KC = {  # daily mean clear-sky index range and intra-day variability per weather state
    0: (0.90, 1.00, 0.03),
    1: (0.45, 0.80, 0.22),
    2: (0.12, 0.38, 0.07),
}


@dataclass
class PlantPhysics:
    """Parameters of one plant's physical model (internal)."""

    index: int
    tz: str
    lat: float
    lon: float
    tilt_deg: float
    azimuth_deg: float  # panel azimuth, degrees clockwise from north
    kwp: float
    ac_max_w: float
    annual_kwh: float
    climate: str
    battery_wh: float  # 0 = no battery
    battery_pmax_w: float
    pv_fractions: tuple  # fractions of PV per PV-producing inverter (sum 1)
    tou: bool = False  # a time-of-use tariff: grid charging at night, export in the evening peak on some days


class TzCalendar:
    """Local-day layout of one time zone from the commissioning date: the UTC start of every local day."""

    def __init__(self, tz: str, start: date):
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.start = start
        self._starts: list[int] = []  # utc epoch seconds of local midnight of day i
        self._lock = threading.Lock()
        self._extend(400)

    def _extend(self, n: int):
        with self._lock:
            i = len(self._starts)
            while len(self._starts) < n:
                d = self.start + timedelta(days=i)
                dt = datetime(d.year, d.month, d.day, tzinfo=self.zone)
                self._starts.append(int(dt.timestamp()))
                i += 1

    def day_start(self, i: int) -> int:
        if i + 1 >= len(self._starts):
            self._extend(i + 400)
        return self._starts[i]

    def day_len(self, i: int) -> int:
        """Number of 5-minute slots of local day i (276, 288 or 300)."""
        return (self.day_start(i + 1) - self.day_start(i)) // STEP_S

    def day_of_utc(self, ts: float) -> int:
        """Local day index containing the UTC instant ts (seconds)."""
        self.day_start(int((ts - self._starts[0]) // 86400) + 2)
        return int(np.searchsorted(np.asarray(self._starts), ts, side="right")) - 1

    def block_times(self, block: int):
        """UTC seconds (BLOCK_DAYS, SLOTS), validity mask, local hour of day, local day-of-year."""
        cache = getattr(self, "_bt", None)
        if cache is None:
            cache = self._bt = {}
        hit = cache.get(block)
        if hit is not None:
            return hit
        d0 = block * BLOCK_DAYS
        starts = np.array([self.day_start(d0 + j) for j in range(BLOCK_DAYS + 1)], dtype=np.int64)
        lens = (starts[1:] - starts[:-1]) // STEP_S
        slot = np.arange(SLOTS, dtype=np.int64)
        utc = starts[:-1, None] + STEP_S * slot[None, :]
        valid = slot[None, :] < lens[:, None]
        idx = pd.DatetimeIndex(pd.to_datetime(utc.ravel(), unit="s", utc=True)).tz_convert(self.zone)
        local_hour = (idx.hour.to_numpy() + idx.minute.to_numpy() / 60.0).reshape(utc.shape)
        weekday = np.array([(self.start + timedelta(days=d0 + j)).weekday() for j in range(BLOCK_DAYS)])
        doy = np.array([(self.start + timedelta(days=d0 + j)).timetuple().tm_yday for j in range(BLOCK_DAYS)])
        res = (utc, valid, local_hour, weekday, doy)
        if len(cache) > 64:
            cache.clear()
        cache[block] = res
        return res


_DOY_CACHE: dict = {}


def _doys(start: date, first: int, n: int) -> np.ndarray:
    key = (start, first, n)
    if key not in _DOY_CACHE:
        _DOY_CACHE[key] = np.array([(start + timedelta(days=first + j)).timetuple().tm_yday for j in range(n)])
    return _DOY_CACHE[key]


def _stationary(clim: dict, doy: np.ndarray, lat: float) -> np.ndarray:
    summer_doy = 172 if lat >= 0 else 355
    w = (1 + np.cos(2 * np.pi * (doy - summer_doy) / 365.25)) / 2  # 1 at local summer
    s = np.asarray(clim["pi_summer"])
    wi = np.asarray(clim["pi_winter"])
    return w[:, None] * s[None, :] + (1 - w[:, None]) * wi[None, :]


class Weather:
    """Day-to-day Markov weather per plant, drawn in 366-day chunks seeded by (seed, plant, chunk)."""

    CHUNK = 366

    def __init__(self, seed: int, plant: PlantPhysics, start: date):
        self.seed = seed
        self.p = plant
        self.start = start
        self.state = np.zeros(0, dtype=np.int8)
        self.kc_mean = np.zeros(0)
        self.kc_sd = np.zeros(0)
        self.load_f = np.zeros(0)

    def ensure(self, n_days: int):
        while len(self.state) < n_days:
            c = len(self.state) // self.CHUNK
            rng = np.random.default_rng([self.seed, self.p.index, c, 0xC10D])
            n = self.CHUNK
            u_persist = rng.random(n)
            u_state = rng.random(n)
            u_kc = rng.random(n)
            load_f = np.exp(rng.normal(0.0, 0.10, n))
            clim = CLIMATES[self.p.climate]
            doy = _doys(self.start, c * n, n)
            pi = np.cumsum(_stationary(clim, doy, self.p.lat), axis=1)
            prev = int(self.state[-1]) if len(self.state) else 1
            st = np.empty(n, dtype=np.int8)
            for j in range(n):
                if u_persist[j] < clim["persist"]:
                    prev = prev
                else:
                    prev = int(np.searchsorted(pi[j], u_state[j] * pi[j, -1]))
                    prev = min(prev, 2)
                st[j] = prev
            lo = np.array([STATE_KC[s][0] for s in range(3)])[st]
            hi = np.array([STATE_KC[s][1] for s in range(3)])[st]
            sd = np.array([STATE_KC[s][2] for s in range(3)])[st]
            self.state = np.concatenate([self.state, st])
            self.kc_mean = np.concatenate([self.kc_mean, lo + (hi - lo) * u_kc])
            self.kc_sd = np.concatenate([self.kc_sd, sd])
            self.load_f = np.concatenate([self.load_f, load_f])


def _load_shape(hour: np.ndarray, weekend: np.ndarray, night_ac: float) -> np.ndarray:
    def g(mu, sig):
        d = np.abs(hour - mu)
        d = np.minimum(d, 24 - d)
        return np.exp(-0.5 * (d / sig) ** 2)

    wd = 0.42 + 0.65 * g(7.3, 0.9) + 0.30 * g(12.5, 2.0) + 1.10 * g(19.3, 1.7) + 0.30 * g(22.3, 1.0)
    we = 0.42 + 0.35 * g(8.8, 1.2) + 0.60 * g(12.5, 2.5) + 1.00 * g(19.0, 1.8) + 0.30 * g(22.5, 1.0)
    shape = np.where(weekend, we * 1.06, wd)
    shape = shape + night_ac * g(1.5, 3.0) * 2.0
    return shape / (0.80 + night_ac * 0.50)  # roughly mean 1 over a day


def block_inputs(seed: int, plants: list[PlantPhysics], cal: TzCalendar, block: int):
    """PV and load in whole watts for a block of days of plants sharing one time zone.

    Returns pv (P, BLOCK_DAYS, SLOTS) int64 and load (same), zero in padding slots. Every operation is
    elementwise per plant, so a plant computed alone gives the same result as in a group.
    """
    utc, valid, hour, weekday, doy = cal.block_times(block)
    P = len(plants)
    shape = (P, BLOCK_DAYS, SLOTS)
    d0 = block * BLOCK_DAYS
    lat = np.array([p.lat for p in plants])
    lon = np.array([p.lon for p in plants])
    # --- random inputs: weather of the days, smoothed intra-day noise, appliance spikes ---
    kc_mean = np.empty((P, BLOCK_DAYS))
    kc_sd = np.empty((P, BLOCK_DAYS))
    load_f = np.empty((P, BLOCK_DAYS))
    f32 = np.float32
    z = np.empty(shape, dtype=f32)
    lnoise = np.empty(shape, dtype=f32)
    spikes = np.empty(shape, dtype=f32)
    N = BLOCK_DAYS * SLOTS
    for i, p in enumerate(plants):
        w = p._weather
        w.ensure(d0 + BLOCK_DAYS)
        kc_mean[i] = w.kc_mean[d0 : d0 + BLOCK_DAYS]
        kc_sd[i] = w.kc_sd[d0 : d0 + BLOCK_DAYS]
        load_f[i] = w.load_f[d0 : d0 + BLOCK_DAYS]
        rng = np.random.default_rng([seed, p.index, block, 0xB10C])
        cs = np.cumsum(rng.standard_normal(N + 6, dtype=f32))
        z[i] = ((cs[6:] - cs[:-6]) * f32(1 / math.sqrt(6))).reshape(BLOCK_DAYS, SLOTS)
        cs2 = np.cumsum(rng.standard_normal(N + 3, dtype=f32))
        lnoise[i] = ((cs2[3:] - cs2[:-3]) * f32(1 / math.sqrt(3))).reshape(BLOCK_DAYS, SLOTS)
        u = rng.random(N, dtype=f32)
        spk = u < f32(0.035)
        spikes[i] = (spk * (f32(600.0) + u * f32(2000.0 / 0.035))).reshape(BLOCK_DAYS, SLOTS)
    # --- solar position at the middle of each interval (time terms are shared by the plants) ---
    t = (utc + STEP_S / 2).astype(np.float64)
    gamma = 2 * np.pi * np.mod(t / 86400.0 - 10957.0, 365.2422) / 365.2422  # fractional year from 1 Jan
    decl = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    eot_min = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    ha0 = (np.mod(t, 86400.0) / 3600.0 + eot_min / 60.0 - 12.0) * 15.0  # degrees, before longitude
    ha0 = np.mod(ha0 + 180.0, 360.0) - 180.0
    ha_deg = ha0.astype(f32)[None] + lon.astype(f32)[:, None, None]  # within [-360, 360)
    ha_deg -= f32(360.0) * (ha_deg >= f32(180.0))
    ha_deg += f32(360.0) * (ha_deg < f32(-180.0))
    # sunrise/sunset hour angle per plant and day (with a margin), to skip the night cheaply
    phi = np.radians(lat)
    dmid = decl[:, SLOTS // 2]
    cos_h0 = np.clip(-np.tan(phi)[:, None] * np.tan(dmid)[None, :], -1.0, 1.0)
    h0 = (np.degrees(np.arccos(cos_h0)) + 3.0).astype(f32)
    day = (np.abs(ha_deg) < h0[:, :, None]) & valid[None]
    flat = np.flatnonzero(day)
    pi_, rem = np.divmod(flat, BLOCK_DAYS * SLOTS)
    di_ = rem // SLOTS
    # compressed daytime arrays (float32: plenty for physics, and fast)
    ha = np.radians(ha_deg.ravel()[flat])
    dec = decl.astype(f32).ravel()[rem]
    ph = phi.astype(f32)[pi_]
    sd, cd = np.sin(dec), np.cos(dec)
    sphi, cphi, cha = np.sin(ph), np.cos(ph), np.cos(ha)
    up = sd * sphi + cd * cha * cphi
    east = -cd * np.sin(ha)
    north = sd * cphi - cd * cha * sphi
    sun = up > 0.0087  # above ~0.5 degree
    cosz = np.clip(up, f32(1e-3), f32(1.0))
    zdeg = np.degrees(np.arccos(cosz))
    am = f32(1.0) / (cosz + f32(0.50572) * np.power(np.maximum(f32(96.07995) - zdeg, f32(0.1)), f32(-1.6364)))
    haze = np.array([CLIMATES[p.climate]["haze"] for p in plants], dtype=f32)[pi_] * sun
    ghi_cs = f32(1098.0) * cosz * np.exp(f32(-0.057) / cosz) * haze
    dni_cs = f32(1361.0) * np.power(f32(0.7), np.power(am, f32(0.678))) * haze
    # clouds: daily mean clear-sky index plus smoothed intra-day variability
    pd_ = pi_ * BLOCK_DAYS + di_
    sdk = kc_sd.astype(f32).ravel()[pd_]
    kc = kc_mean.astype(f32).ravel()[pd_] + sdk * z.ravel()[flat]
    kc = np.clip(kc, f32(0.04), f32(1.02) + f32(0.13) * (sdk >= f32(0.05)))
    ghi = kc * ghi_cs
    dni = dni_cs * np.clip((kc - f32(0.25)) / f32(0.75), f32(0.0), f32(1.0)) ** f32(1.3)
    dhi = np.maximum(ghi - dni * cosz, f32(0.0))
    # plane of array
    beta = np.radians(np.array([p.tilt_deg for p in plants])).astype(f32)
    az = np.radians(np.array([p.azimuth_deg for p in plants])).astype(f32)
    n_e, n_n, n_u = (np.sin(beta) * np.sin(az))[pi_], (np.sin(beta) * np.cos(az))[pi_], np.cos(beta)[pi_]
    cos_aoi = np.clip(east * n_e + north * n_n + up * n_u, f32(0.0), f32(1.0))
    poa = dni * cos_aoi + dhi * (f32(1) + n_u) / f32(2) + ghi * f32(0.1) * (f32(1) - n_u)
    # temperature and losses
    t_mean = np.array([CLIMATES[p.climate]["t_mean"] for p in plants])
    t_amp = np.array([CLIMATES[p.climate]["t_amp"] for p in plants])
    summer = np.where(lat >= 0, 200.0, 17.0)
    t_day = t_mean[:, None] + t_amp[:, None] * np.cos(2 * np.pi * (doy[None, :] - summer[:, None]) / 365.25)
    t_amb = (
        t_day.astype(f32).ravel()[pd_]
        + (f32(4.0) * np.sin(np.pi * (hour.astype(f32) - f32(9.0)) / f32(12.0))).ravel()[rem]
    )
    derate = f32(0.86) * (f32(1.0) - f32(0.0037) * (t_amb + poa * f32(0.028) - f32(25.0)))
    kwp = np.array([p.kwp for p in plants], dtype=f32)[pi_]
    ac_max = np.array([p.ac_max_w for p in plants], dtype=f32)[pi_]
    pvc = np.rint(np.minimum(kwp * poa * derate, ac_max))
    pvc = pvc * (pvc > f32(3.0))
    pv_w = np.zeros(P * BLOCK_DAYS * SLOTS, dtype=np.int64)
    pv_w[flat] = pvc.astype(np.int64)
    pv_w = pv_w.reshape(shape)
    # --- load ---
    weekend = (weekday >= 5)[:, None]
    night_ac = np.array([CLIMATES[p.climate]["night_ac"] for p in plants])
    ls = np.array([CLIMATES[p.climate]["load_season"] for p in plants])[:, None]
    winter = np.where(lat >= 0, 15.0, 196.0)[:, None]
    season = 1.0 + ls * np.cos(2 * np.pi * (doy[None, :] - winter) / 365.25)
    mean_w = np.array([p.annual_kwh * 1000.0 / 8760.0 for p in plants])
    dayf = (season * load_f * (mean_w * 0.88)[:, None]).astype(f32)[:, :, None]
    shapes = {}
    for na in set(night_ac.tolist()):  # the daily profile depends only on the climate
        shapes[na] = _load_shape(hour, weekend, na).astype(f32)
    shp = np.stack([shapes[na] for na in night_ac.tolist()])
    spike_s = spikes
    spike_s[:, :, 1:] += f32(0.6) * spikes[:, :, :-1].copy()
    load = shp * dayf * np.exp(f32(0.22) * lnoise - f32(0.024))
    load += spike_s * (mean_w / 550.0 * 0.55).astype(f32)[:, None, None]
    load = np.maximum(np.rint(load), f32(80.0)) * valid[None]
    return pv_w, load.astype(np.int64)


@dataclass
class TouDay:
    """What a time-of-use tariff makes the battery do over one padded day of P plants (rows).

    mode: (P, SLOTS) SELF_USE, GRID_CHARGE (charge at `charge_w` up to `target_wh`, from PV and the grid),
    HOLD (charge from PV surplus, never discharge: keep the charge for the peak) or GRID_DISCHARGE
    (discharge at `discharge_w` down to `floor_wh`, to the load and the grid)."""

    mode: np.ndarray
    charge_w: np.ndarray
    target_wh: np.ndarray
    discharge_w: np.ndarray
    floor_wh: np.ndarray

    def day(self, j: int) -> TouDay:
        """Day j of a block (the arrays of `tou_block` carry a day axis after the plant axis)."""
        return TouDay(self.mode[:, j], self.charge_w, self.target_wh[:, j], self.discharge_w, self.floor_wh)


def tou_block(seed: int, plants: list[PlantPhysics], cal: TzCalendar, block: int) -> TouDay:
    """The time-of-use dispatch of a block of days of plants sharing one time zone (mode (P, BLOCK_DAYS,
    SLOTS), target (P, BLOCK_DAYS)); plants without a tariff stay in SELF_USE.

    Every night the battery charges in the cheap window (wall-clock hours, so the repeated hour of a
    fall-back day counts twice) up to a target that the day's forecast sets: its clear-sky index, so a dull
    day is prepared for from the grid and a clear one is left to the sun. About one day in three (drawn per
    plant and block) is an export day: the battery charges to the top at night, keeps its charge through the
    day (PV may top it up) and in the evening peak discharges at full power down to the reserve, the load
    first and the rest to the grid (arbitrage, or a virtual power plant's call). Elementwise per plant,
    like `block_inputs`."""
    _, valid, hour, _, _ = cal.block_times(block)
    P = len(plants)
    d0 = block * BLOCK_DAYS
    mode = np.zeros((P, BLOCK_DAYS, SLOTS), dtype=np.int8)
    target = np.zeros((P, BLOCK_DAYS))
    cheap = (hour >= TOU_CHEAP_HOURS[0]) & (hour < TOU_CHEAP_HOURS[1]) & valid
    peak = (hour >= TOU_PEAK_HOURS[0]) & (hour < TOU_PEAK_HOURS[1]) & valid
    between = (hour >= TOU_CHEAP_HOURS[1]) & (hour < TOU_PEAK_HOURS[0]) & valid
    for i, p in enumerate(plants):
        if not p.tou or p.battery_wh <= 0:
            continue
        p._weather.ensure(d0 + BLOCK_DAYS)
        kc = p._weather.kc_mean[d0 : d0 + BLOCK_DAYS]
        export = np.random.default_rng([seed, p.index, block, 0x70D]).random(BLOCK_DAYS) < TOU_EXPORT_SHARE
        target[i] = p.battery_wh * np.where(export, TOU_TOP_SOC, np.clip(TOU_TOP_SOC - 0.9 * kc, SOC_MIN, TOU_TOP_SOC))
        mode[i][cheap] = GRID_CHARGE
        mode[i][between & export[:, None]] = HOLD
        mode[i][peak & export[:, None]] = GRID_DISCHARGE
    pmax = np.array([p.battery_pmax_w for p in plants])
    return TouDay(
        mode=mode,
        charge_w=np.floor(pmax * TOU_CHARGE_SHARE),
        target_wh=target,
        discharge_w=np.floor(pmax * TOU_DISCHARGE_SHARE),
        floor_wh=np.array([p.battery_wh * TOU_RESERVE_SOC for p in plants]),
    )


def dispatch_day(
    pv_w: np.ndarray,
    load_w: np.ndarray,
    e0: np.ndarray,
    cap_wh: np.ndarray,
    pmax_w: np.ndarray,
    tou: TouDay | None = None,
):
    """The battery over one padded day for P plants (rows): self-consumption, or a time-of-use day.

    pv_w, load_w: (P, SLOTS) int; e0: stored energy (Wh) at the start of the day; cap_wh: 0 for no battery.
    Returns charge_w, discharge_w (int64), energy after each slot (float, Wh), energy at end of day.
    The stored energy follows E_k = E_{k-1} + d_k, stopped at the slot's bounds [lo_k, hi_k] (SOC limits,
    or a forced charge's target and a forced discharge's floor): a bound stops a move towards it but never
    reverses one, so a battery above a night's target is left alone. Solved exactly by restarting the
    cumulative sum where a bound stops it (a handful of iterations per day), vectorised over plants.
    """
    P, n = pv_w.shape
    s = (pv_w - load_w).astype(np.float64)
    pm = pmax_w[:, None]
    d = np.where(s > 0, np.minimum(s, pm) * ETA_C * DT_H, -np.minimum(-s, pm) / ETA_D * DT_H)
    lo = (cap_wh * SOC_MIN)[:, None]  # bounds per slot, or one column for the whole day
    hi = (cap_wh * SOC_MAX)[:, None]
    if tou is not None:
        charge, discharge = tou.mode == GRID_CHARGE, tou.mode == GRID_DISCHARGE
        d = np.where(charge, (tou.charge_w * ETA_C * DT_H)[:, None], d)
        d = np.where(discharge, -(tou.discharge_w / ETA_D * DT_H)[:, None], d)
        d = np.where(tou.mode == HOLD, np.maximum(d, 0.0), d)
        hi = np.where(charge, tou.target_wh[:, None], hi)
        lo = np.where(discharge, tou.floor_wh[:, None], lo)
    has = cap_wh > 0
    d = np.where(has[:, None], d, 0.0)
    E = np.empty((P, n))
    base = e0.astype(np.float64).copy()
    start = np.zeros(P, dtype=np.int64)
    k = np.arange(n)[None, :]
    E[:] = base[:, None]
    rows = np.nonzero(has)[0]
    moving = tou is not None  # bounds that move; with fixed ones the store never lies beyond a bound
    for _ in range(n + 1):
        if len(rows) == 0:
            break
        dr, lr, hr, st = d[rows], lo[rows], hi[rows], start[rows]
        after = k >= st[:, None]
        S = base[rows][:, None] + np.cumsum(np.where(after, dr, 0.0), axis=1)
        above, below = S > hr + 1e-9, S < lr - 1e-9
        if moving:  # only a move towards a bound is stopped by it
            above &= dr > 0
            below &= dr < 0
        viol = after & (above | below)
        anyv = viol.any(axis=1)
        j = np.where(anyv, np.argmax(viol, axis=1), n)
        take = after & (k < j[:, None])
        Er = np.where(take, S, E[rows])
        v = np.nonzero(anyv)[0]
        if len(v):
            jj = j[v]
            at_hi = above[v, jj]
            hb, lb = hr[v, jj % hr.shape[1]], lr[v, jj % lr.shape[1]]  # (one column: the day's bounds)
            Ej = np.where(at_hi, hb, lb)
            # the store stays there until the flow changes direction
            turn = np.where(at_hi[:, None], dr[v] < 0, dr[v] > 0)
            if moving:
                # ... or the bound moves (a window ends); a store already beyond the bound is held where it is
                prev = np.where(jj > 0, S[v, np.maximum(jj - 1, 0)], base[rows[v]])
                Ej = np.where(at_hi, np.where(prev > hb + 1e-9, prev, hb), np.where(prev < lb - 1e-9, prev, lb))
                turn |= np.where(at_hi[:, None], hr[v] != hb[:, None], lr[v] != lb[:, None])
            turn &= k > jj[:, None]
            m = np.where(turn.any(axis=1), np.argmax(turn, axis=1), n)
            pin = (k >= jj[:, None]) & (k < m[:, None])
            Er[v] = np.where(pin, Ej[:, None], Er[v])
            base[rows[v]] = Ej
            start[rows[v]] = m
        E[rows] = Er
        rows = rows[v[start[rows[v]] < n]] if len(v) else rows[:0]
    prev = np.concatenate([e0[:, None].astype(np.float64), E[:, :-1]], axis=1)
    dE = E - prev
    chg = np.floor(np.maximum(dE, 0.0) / (ETA_C * DT_H) + 1e-6).astype(np.int64)
    dis = np.floor(np.maximum(-dE, 0.0) * ETA_D / DT_H + 1e-6).astype(np.int64)
    # self-use charges from PV surplus only and discharges into the load only; forced slots use the grid
    pos = np.maximum(pv_w - load_w, 0)
    neg = np.maximum(load_w - pv_w, 0)
    if tou is None:
        chg = np.minimum(chg, pos)
        dis = np.minimum(dis, neg)
    else:
        chg = np.where(tou.mode == GRID_CHARGE, chg, np.minimum(chg, pos))
        dis = np.where(tou.mode == GRID_DISCHARGE, dis, np.minimum(dis, neg))
    return chg, dis, E, E[:, -1].copy()


FLOWS = (
    "pv_to_load",
    "pv_to_battery",
    "pv_to_grid",
    "grid_to_load",
    "grid_to_battery",
    "battery_to_load",
    "battery_to_grid",
)


def flows(pv, load, chg, dis, daily: bool = False) -> dict:
    """The seven energy flows of intervals (whole W, arrays of any shape) from their balanced terms; with
    `daily`, their sums over the last axis.

    The rule the dispatch follows: PV serves the load first, then charges the battery, and the rest is
    exported; the battery's discharge serves the load PV left, and the rest is exported; the grid supplies
    what is left of the load and of the charge. So pv = pv_to_load + pv_to_battery + pv_to_grid,
    load = pv_to_load + grid_to_load + battery_to_load, charge = pv_to_battery + grid_to_battery,
    discharge = battery_to_load + battery_to_grid, and (as an interval never imports and exports, nor
    charges and discharges, at once) import = grid_to_load + grid_to_battery, export = pv_to_grid +
    battery_to_grid."""
    pv_to_load = np.minimum(pv, load)
    battery_to_load = np.minimum(dis, load - pv_to_load)
    pv_to_battery = np.minimum(chg, pv - pv_to_load)
    if daily:  # the other flows are linear in these three and the terms: derive them from the sums
        pv, load, chg, dis, pv_to_load, battery_to_load, pv_to_battery = (
            x.sum(axis=-1) for x in (pv, load, chg, dis, pv_to_load, battery_to_load, pv_to_battery)
        )
    return {
        "pv_to_load": pv_to_load,
        "pv_to_battery": pv_to_battery,
        "pv_to_grid": pv - pv_to_load - pv_to_battery,
        "grid_to_load": load - pv_to_load - battery_to_load,
        "grid_to_battery": chg - pv_to_battery,
        "battery_to_load": battery_to_load,
        "battery_to_grid": dis - battery_to_load,
    }
