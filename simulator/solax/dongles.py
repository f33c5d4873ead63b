"""SolaX Cloud's view of a `Fleet`: one dongle per inverter, when each dongle uploads, and what it uploads.

What this module guarantees (docs/simulator.md, "SolaX Cloud"):

- Every fleet device is one SolaX inverter with one communication dongle: a registration number `wifiSn`
  (10 characters) and an `inverterSN` (14), deterministic per seed, like the token (`token_for`).
- A dongle uploads every 5 minutes at its own phase: at every UTC slot boundary + `phase_s` (0-299 s).
  An upload at instant t reports the interval (t - 300 s, t]: each power is that interval's mean, exact
  from the truth (which is constant within a 5-minute slot, so the mean weighs the two slots the
  interval straddles); each counter is the truth's energy from its origin through t, floored to the
  counter's step. Hence the powers of consecutive uploads integrate to the truth's energy (to the whole-W
  rounding), and the difference of a counter between two uploads is the truth's energy between their
  instants to within one step.
- An upload happens unless the slot that ended at t - phase_s is in one of the fleet's intrinsic logger
  outages, or t falls in an `offline` span of the server's faults. A dongle that did not upload keeps
  showing its last upload (same instant, same values).
- Roles: `pv` (a grid-tied inverter: its own PV share), `hybrid` (the storage plant's inverter: PV,
  battery, and the plant's grid meter), `ac_battery` (the AC-coupled plant's X1-AC: battery, the plant's
  grid meter, and meter 2 on the PV inverter beside it when the plant has a load monitor). Grid-tied
  plants with a load monitor have a SolaX meter on their first inverter; the others have no meter. From
  the dongles of a metered plant, pv + import + discharge = load + export + charge rebuilds exactly.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

from ..core.fleet import ALARM_CODES, STEP_S, Device, Fleet, Plant, _h, _u

KWH_01 = 360_000  # J in 0.1 kWh: the step of yieldtoday / yieldtotal
KWH_001 = 36_000  # J in 0.01 kWh: the step of feedinenergy / consumeenergy
DC_EFFICIENCY = 0.975  # the MPPT inputs see the AC power / 0.975
BATTERY_CODES = frozenset(c[0] for c in ALARM_CODES if c[3])
_ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I, as on printed labels

# kind of inverter -> (model, inverterType as the API sends it, inverterSN prefix): the types are the codes
# client mappings give for these models (field guide: inverterType "1"-"47", "100"-"105").
MODELS = {
    "pv3": ("X3-MIC/PRO-G2", "16", "MC2"),
    "pv_small": ("X1-Mini-G4", "22", "XM3"),
    "pv": ("X1-Boost-G4", "18", "XB3"),
    "hybrid3": ("X3-Hybrid-G4", "14", "H34"),
    "hybrid": ("X1-Hybrid-G4", "15", "H45"),
    "ac_battery": ("X1-AC", "9", "XAC"),
}


@dataclass(frozen=True)
class Dongle:
    """One SolaX inverter and its dongle. Counter bases are in the counters' steps."""

    wifi_sn: str
    inverter_sn: str
    device: Device
    plant: Plant
    role: str  # "pv", "hybrid" or "ac_battery"
    model: str
    inverter_type: str
    meter: bool  # a grid meter: feedinpower, feedinenergy and consumeenergy are the plant's
    meter2: bool  # X1-AC with meter 2 on the PV inverter beside it: feedinpowerM2
    phase_s: int  # uploads at UTC slot boundaries + phase_s
    dc_share: float  # MPPT 1's share of the DC power
    yield_base: int  # yieldtotal before the fleet's first day (0.1 kWh)
    feedin_base: int  # feedinenergy before the fleet's first day (0.01 kWh), 0 without a meter
    consume_base: int  # consumeenergy likewise

    @property
    def battery(self) -> bool:
        return self.role != "pv"

    @property
    def yield_series(self) -> str:
        """The truth series the yield counters count: the inverter's PV, for the X1-AC its AC output."""
        return "dis" if self.role == "ac_battery" else f"dev:{self.device.sn}"

    def describe(self) -> dict:
        return {
            "wifiSn": self.wifi_sn,
            "inverterSN": self.inverter_sn,
            "device_sn": self.device.sn,
            "plant_id": self.plant.plant_id,
            "role": self.role,
            "model": self.model,
            "inverterType": self.inverter_type,
            "phases": self.device.phases,
            "meter": self.meter,
            "meter2": self.meter2,
            "phase_s": self.phase_s,
        }


def token_for(fleet: Fleet) -> str:
    """The fleet's tokenId: 23 digits that start with a yyyyMMddHHmmss stamp, like the one seen in the wild."""
    issued = datetime(fleet.start_date.year, fleet.start_date.month, fleet.start_date.day, tzinfo=timezone.utc)
    issued -= timedelta(seconds=int(_u(fleet.seed, "solax-token-at") * 90 * 86400))
    return issued.strftime("%Y%m%d%H%M%S") + "%09d" % (_h(fleet.seed, "solax-token") % 10**9)


def _code(seed: int, *salt, n: int) -> str:
    x = _h(seed, *salt)
    out = []
    for _ in range(n):
        x, r = divmod(x, len(_ALNUM))
        out.append(_ALNUM[r])
    return "".join(out)


def build_dongles(fleet: Fleet) -> list[Dongle]:
    """The fleet's dongles, in the fleet's device order."""
    out, used = [], set()
    for plant in fleet.plants:
        for k, dev in enumerate(plant.devices):
            if dev.device_type == 0:
                role = "pv"
                key = "pv3" if dev.phases == 3 else "pv_small" if dev.rated_w <= 3000 else "pv"
                meter = plant.plant_type == 0 and plant.has_load_monitor and k == 0
            elif dev.device_type == 1:
                # a SolaX hybrid runs self-use from its own meter (or CT): it always knows the grid
                role, key, meter = "hybrid", "hybrid3" if dev.phases == 3 else "hybrid", True
            else:
                role, key, meter = "ac_battery", "ac_battery", True
            model, itype, prefix = MODELS[key]
            salt = 0
            while True:
                wifi = (
                    "S" + "WRPU"[_h(fleet.seed, "wifi-kind", dev.sn) % 4] + _code(fleet.seed, "wifi", dev.sn, salt, n=8)
                )
                inv = prefix + _code(fleet.seed, "inv", dev.sn, salt, n=14 - len(prefix))
                if wifi not in used and inv not in used:
                    break
                salt += 1
            used.update((wifi, inv))
            u = lambda what, sn=dev.sn: _u(fleet.seed, "solax", what, sn)  # noqa: E731
            out.append(
                Dongle(
                    wifi_sn=wifi,
                    inverter_sn=inv,
                    device=dev,
                    plant=plant,
                    role=role,
                    model=model,
                    inverter_type=itype,
                    meter=meter,
                    meter2=role == "ac_battery" and plant.has_load_monitor,
                    phase_s=int(u("phase") * STEP_S),
                    dc_share=round(0.42 + 0.16 * u("dc"), 3),
                    yield_base=int(u("yield0") * 15_000),
                    feedin_base=int(u("feedin0") * 150_000) if meter else 0,
                    consume_base=int(u("consume0") * 300_000) if meter else 0,
                )
            )
    return out


def sites_rows(dongles: list[Dongle]) -> list[dict]:
    """The sites a user keeps for the pipeline: one row per registration number."""
    return [
        {
            "wifi_sn": d.wifi_sn,
            "plant_id": d.plant.plant_id,
            "plant_name": d.plant.name,
            "time_zone": d.plant.time_zone,
            "system_power_kwp": d.plant.system_power_kwp,
        }
        for d in dongles
    ]


def sites_csv(dongles: list[Dongle]) -> str:
    """`sites_rows` as the CSV the pipeline reads (header `wifi_sn,plant_id,plant_name,time_zone,system_power_kwp`)."""
    buf = io.StringIO()
    rows = sites_rows(dongles)
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["wifi_sn"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


@dataclass(frozen=True)
class Reading:
    """What one upload at instant `t` (epoch s) carries, in exact integers.

    `*_j`: the truth's energy over (t - 300 s, t] in joules (mean power = J / 300); `soc`: % at the last
    slot boundary; counters in their steps; `fault`: an inverter alarm of level >= 2 open at t;
    `battery_fault`: a battery alarm open at t."""

    t: int
    pv_j: int  # the dongle's own PV (the device's share; the plant's for hybrid and X1-AC meter 2)
    imp_j: int
    exp_j: int
    chg_j: int
    dis_j: int
    soc: int | None
    yield_today: int
    yield_total: int
    feedin_total: int
    consume_total: int
    fault: bool
    battery_fault: bool


class SolaxView:
    """The dongles of `fleet` and their uploads. Thread-safe; cheap per call once a day is cached."""

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.dongles = build_dongles(fleet)
        self.by_wifi = {d.wifi_sn: d for d in self.dongles}
        self.by_inverter = {d.inverter_sn: d for d in self.dongles}
        self._lock = threading.Lock()
        self._cum: OrderedDict = OrderedDict()
        self._alarm_until = 0.0
        self._alarm_spans: dict[str, list[tuple[float, float, int, bool]]] = {}
        for p in fleet.plants:  # the phases assume 5-minute slots aligned on UTC (true of every zone served)
            assert fleet._cals[p.time_zone].day_start(0) % STEP_S == 0

    # ------------------------------------------------------------------ energies
    def _day_of(self, plant: Plant, t: int) -> int:
        """The index of the plant-local day holding instant t: a guess by 24 h, then at most a step either
        way (local days are 23-25 h long). O(1), unlike a search over all days."""
        cal = self.fleet._cals[plant.time_zone]
        i = int((t - cal.day_start(0)) // 86400)
        while i > 0 and cal.day_start(i) > t:
            i -= 1
        while cal.day_start(i + 1) <= t:
            i += 1
        return i

    def _day_cum(self, plant: Plant, d: int, series: str) -> tuple[np.ndarray, np.ndarray]:
        """(lifetime J at each slot boundary of local day d, W per slot) of a truth series."""
        key = (plant.index, d, series)
        with self._lock:
            hit = self._cum.get(key)
            if hit is not None:
                self._cum.move_to_end(key)
                return hit
        fl = self.fleet
        dd = fl._day(plant, fl.start_date + timedelta(days=d))
        if series.startswith("dev:"):
            sn = series[4:]
            x = dd["devices"][sn]["pv"]
            before = int(fl.device_daily_pv(fl.device(sn), 0, d).sum())
        else:
            x = dd["plant"][series]
            before = int(fl.daily_array(plant, series, 0, d).sum())
        cum = (before + np.concatenate(([0], np.cumsum(x)))) * STEP_S
        with self._lock:
            self._cum[key] = (cum, x)
            if len(self._cum) > 2048:
                self._cum.popitem(last=False)
        return cum, x

    def energy(self, plant: Plant, series: str, t: int) -> int:
        """The truth's energy (J) of `series` ("dev:<sn>" for a device's PV, else a plant key: pv, imp,
        exp, chg, dis) from the fleet's first day through instant t."""
        cal = self.fleet._cals[plant.time_zone]
        if t <= cal.day_start(0):
            return 0
        d = self._day_of(plant, t)
        j, f = divmod(t - cal.day_start(d), STEP_S)
        cum, x = self._day_cum(plant, d, series)
        return int(cum[j]) + f * int(x[j])

    def local_midnight(self, plant: Plant, t: int) -> int:
        """The instant of the plant-local midnight that began the day holding t."""
        return self.fleet._cals[plant.time_zone].day_start(self._day_of(plant, t))

    # ------------------------------------------------------------------ uploads
    def upload_at_or_before(self, d: Dongle, ts: float) -> int:
        """The latest upload instant of d's schedule at or before ts (whether it happened or not)."""
        return int((ts - d.phase_s) // STEP_S) * STEP_S + d.phase_s

    def uploaded(self, d: Dongle, t: int) -> bool:
        """Whether the upload scheduled at t happened (ignoring the clock)."""
        fl = self.fleet
        cal = fl._cals[d.plant.time_zone]
        slot = t - d.phase_s - STEP_S  # the slot that ended just before the upload
        if slot < cal.day_start(0):
            return False
        di = self._day_of(d.plant, slot)
        dd = fl._day(d.plant, fl.start_date + timedelta(days=di))
        if dd["gaps"][d.device.sn][(slot - cal.day_start(di)) // STEP_S]:
            return False
        return not any(a.timestamp() <= t < b.timestamp() for a, b in fl.offline.get(d.device.sn, ()))

    def last_upload(self, d: Dongle, now: float | None = None) -> int | None:
        """The instant of d's latest upload the cloud shows at `now` (default the fleet's clock, less the
        lateness fault), or None before its first upload."""
        fl = self.fleet
        now = fl.now.timestamp() if now is None else now
        t = self.upload_at_or_before(d, now - fl.late_s)
        first = fl._cals[d.plant.time_zone].day_start(0) + STEP_S + d.phase_s
        spans = fl.offline.get(d.device.sn, ())
        while t >= first:
            inside = [a.timestamp() for a, b in spans if a.timestamp() <= t < b.timestamp()]
            if inside:  # jump over an offline span at once (it may be days long)
                t = self.upload_at_or_before(d, min(inside) - 1)
            elif self.uploaded(d, t):
                return t
            else:  # an intrinsic outage: at most a few hours
                t -= STEP_S
        return None

    def schedule(self, d: Dongle, day: date) -> list[tuple[int, bool]]:
        """(instant, happened) of every upload scheduled in d's plant-local `day` (the clock ignored)."""
        cal = self.fleet._cals[d.plant.time_zone]
        di = (day - self.fleet.start_date).days
        if di < 0:
            return []
        t0, t1 = cal.day_start(di), cal.day_start(di + 1)
        t = self.upload_at_or_before(d, t0 - 1) + STEP_S
        out = []
        while t < t1:
            out.append((t, self.uploaded(d, t)))
            t += STEP_S
        return out

    # ------------------------------------------------------------------ alarms
    def _faults_at(self, d: Dongle, t: int) -> tuple[bool, bool]:
        with self._lock:
            if t >= self._alarm_until:
                # Alarms are drawn per device on a timeline that does not depend on the clock, so one
                # draw to a horizon a month ahead serves every upload before it.
                horizon = t + 30 * 86400
                spans: dict[str, list] = {}
                for _, end, a in self.fleet.alarm_timeline(horizon):
                    spans.setdefault(a.device_sn, []).append(
                        (a.started_at.timestamp(), end, a.alarm_level, a.alarm_code in BATTERY_CODES)
                    )
                self._alarm_spans, self._alarm_until = spans, horizon
            spans = self._alarm_spans.get(d.device.sn, ())
        fault = any(s <= t < e and lvl >= 2 and not bat for s, e, lvl, bat in spans)
        battery = any(s <= t < e and bat for s, e, lvl, bat in spans)
        return fault, battery

    # ------------------------------------------------------------------ readings
    def reading(self, d: Dongle, t: int) -> Reading:
        """What the upload at t carries (t: an instant of d's schedule)."""
        p = d.plant
        at_t = {}  # energy through t per series: the counters and the interval share it

        def through_t(series):
            if series not in at_t:
                at_t[series] = self.energy(p, series, t)
            return at_t[series]

        def interval(series):
            return through_t(series) - self.energy(p, series, t - STEP_S)

        imp = exp = chg = dis = 0
        soc = None
        if d.meter:
            imp, exp = interval("imp"), interval("exp")
        if d.battery:
            chg, dis = interval("chg"), interval("dis")
            fl = self.fleet
            slot = t - d.phase_s - STEP_S  # SOC is the truth's at the end of a slot: the last one ended
            di = self._day_of(p, slot)
            dd = fl._day(p, fl.start_date + timedelta(days=di))
            soc = int(dd["plant"]["soc"][(slot - fl._cals[p.time_zone].day_start(di)) // STEP_S])
        y_total = through_t(d.yield_series)
        y_midnight = self.energy(p, d.yield_series, self.local_midnight(p, t))
        fault, bfault = self._faults_at(d, t)
        return Reading(
            t=t,
            pv_j=interval("pv" if d.role == "ac_battery" else f"dev:{d.device.sn}"),
            imp_j=imp,
            exp_j=exp,
            chg_j=chg,
            dis_j=dis,
            soc=soc,
            yield_today=(y_total - y_midnight) // KWH_01,
            yield_total=d.yield_base + y_total // KWH_01,
            feedin_total=d.feedin_base + through_t("exp") // KWH_001 if d.meter else 0,
            consume_total=d.consume_base + through_t("imp") // KWH_001 if d.meter else 0,
            fault=fault,
            battery_fault=bfault and d.battery,
        )
