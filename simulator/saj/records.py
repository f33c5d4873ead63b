"""The inverter record of realtimeDataCommon and historyDataCommon: one 5-minute sample of a device in the
long shape of the captured real response (`open_device_historyDataCommon.json`).

Guarantees: the keys of the fixture in its order, `tOutPowerWatt` twice (first "0", then "-1": a plain
JSON parser keeps "-1"); numbers as strings except where the fixture has numbers, booleans or lists;
realtime records add `updateDate` after `invTime`. Values come from the fleet's truth and the device's
electrical model: powers of the sample, today's energies up to and including it, totals since
commissioning; a grid-tied inverter knows only its PV (load, battery and meter fields "0", as in the
fixture). Rendering goes through one text template per request (the duplicate key rules out dicts), so a
whole day of records costs a few milliseconds.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..core.fleet import KEYS, STEP_S, STRING_MODELS, Device, Plant, _u
from . import electrical
from .electrical import DayElectrics

KWH = STEP_S / 3600.0 / 1000.0  # kWh per W-slot
TFMT = "%Y-%m-%d %H:%M:%S"
BATTERY_VOLT = 51.2  # nominal voltage of the simulated LFP batteries


class _Col(str):
    """The name of a per-sample column of JSON-string values."""


def _f2(a) -> list[str]:
    return [f"{x:.2f}" for x in np.asarray(a, dtype=float).tolist()]


def _f1(a) -> list[str]:
    return [f"{x:.1f}" for x in np.asarray(a, dtype=float).tolist()]


def _int(a) -> list[str]:
    return list(map(str, np.asarray(a, dtype=np.int64).tolist()))


def _sign(a) -> list[str]:
    return [("1" if x > 0 else "-1" if x < 0 else "0") for x in a]


def inv_times(dd: dict, idx: np.ndarray) -> list[str]:
    """The devices' own clock of the samples `idx`: UTC to the minute ("2025-08-27T03:40Z"), as served."""
    return pd.DatetimeIndex(dd["utc"][idx] * 10**9, tz="UTC").strftime("%Y-%m-%dT%H:%MZ").tolist()


def _render(pairs: list[tuple[str, object]], cols: dict[str, list[str]]) -> list[str]:
    """One JSON object text per sample: constants baked into a template, columns filled in."""
    parts, names = [], []
    for key, spec in pairs:
        k = json.dumps(key)
        if isinstance(spec, _Col):
            parts.append(k + ':"{}"')
            names.append(spec)
        else:
            parts.append((k + ":" + json.dumps(spec, ensure_ascii=False)).replace("{", "{{").replace("}", "}}"))
    template = "{{" + ",".join(parts) + "}}"
    return [template.format(*row) for row in zip(*(cols[n] for n in names))]


def inverter_records(
    seed: int,
    plant: Plant,
    dev: Device,
    module_sn: str,
    dd: dict,
    idx: np.ndarray,
    el: DayElectrics,
    before: dict,
    ambient: float,
    online: bool,
    realtime: bool,
) -> list[str]:
    """The records of `dev` for the slots `idx` of the day `dd`.

    before: W-slot sums of the device's earlier days since commissioning (`pv`, and for storage devices the
    other keys); online: whether the device is online (R6 inverters say "0" whatever, as in the fixture);
    realtime: add `updateDate`.
    """
    v = dd["devices"][dev.sn]
    storage = dev.device_type != 0
    strings = dev.device_type != 2  # an AC-coupled inverter has no strings: its PV is the meter beside it
    idx = np.asarray(idx, dtype=np.int64)
    cum = {k: np.cumsum(v[k])[idx] for k in (KEYS if storage else ["pv"])}
    today = {k: c * KWH for k, c in cum.items()}
    total = {k: (before[k] + c) * KWH for k, c in cum.items()}
    pv = v["pv"][idx]
    cols: dict[str, list[str]] = {}

    def col(name: str, values: list[str]) -> _Col:
        cols[name] = values
        return _Col(name)

    zero = "0"
    local = [dd["local"][i] for i in idx]
    volt = el.l1[idx]
    freq = f"{electrical.FREQ:.2f}"
    if storage:
        grid = v["exp"][idx] - v["imp"][idx]  # W, + selling, - buying
        bat = v["dis"][idx] - v["chg"][idx]  # W, + discharging, - charging
        soc = v["soc"][idx]
        inv = (pv if strings else 0) + bat  # the inverter's own AC output
    else:
        grid = pv  # all a grid-tied inverter makes goes to the grid
        bat = soc = np.zeros(len(idx), dtype=np.int64)
        inv = pv
    three = el.three_phase

    def phases(w):  # a power over the device's phases; phase 1 takes the rounding
        if not three:
            return [w]
        third = np.trunc(w / 3).astype(np.int64)
        return [w - 2 * third, third, third]

    phase_w, inv_w = phases(grid), phases(inv)
    phase_v = [volt, el.l23[0, idx], el.l23[1, idx]] if three else [volt]
    sink_c, inv_c, bat_c = electrical.temperatures(
        ambient, np.clip(np.abs(inv) / dev.rated_w, 0.0, 1.0), np.clip(np.abs(bat) / dev.rated_w, 0.0, 1.0)
    )
    s = [el.strings(int(pv[j]), int(i)) if strings else (0, 0, 0.0, 0.0, 0.0, 0.0) for j, i in enumerate(idx)]

    pairs: list[tuple[str, object]] = [
        ("deviceSn", dev.sn),
        ("parallelEnable", 0),
        ("parallelMaster", 0),
        ("moduleSn", module_sn),
        ("dataTime", col("dataTime", local)),
        ("invTime", col("invTime", inv_times(dd, idx))),
    ]
    if realtime:
        upd = (dd["local_naive"][idx] + pd.Timedelta(seconds=116)).strftime(TFMT).tolist()
        pairs.append(("updateDate", col("updateDate", upd)))
    # per phase the device has: voltage, grid power and current
    volt_c = [col(f"volt{ph}", _f2(u)) for ph, u in enumerate(phase_v)]
    grid_c = [col(f"gw{ph}", _int(w)) for ph, w in enumerate(phase_w)]
    curr_c = [col(f"gc{ph}", _f2(np.abs(w) / u)) for ph, (w, u) in enumerate(zip(phase_w, phase_v))]
    # meter A: a storage inverter's grid meter (phase 1 carries the house on single-phase sites)
    pairs.append(("meterAStatus", "1" if storage else zero))
    for ph in range(3):
        on = storage and ph < len(phase_w)
        n = ph + 1
        pairs += [
            (f"meterAVolt{n}", volt_c[ph] if on else zero),
            (f"meterACurr{n}", curr_c[ph] if on else zero),
            (f"meterAPowerWatt{n}", grid_c[ph] if on else zero),
            (f"meterAPowerVA{n}", col(f"mava{n}", _int(np.abs(phase_w[ph]))) if on else zero),
            (f"meterAFreq{n}", freq if on else zero),
        ]
    pairs += [
        ("pv1volt", col("v1", [f"{x[2]:.2f}" for x in s])),
        ("pv1curr", col("c1", [f"{x[4]:.2f}" for x in s])),
        ("pv2volt", col("v2", [f"{x[3]:.2f}" for x in s])),
        ("pv2curr", col("c2", [f"{x[5]:.2f}" for x in s])),
        ("pv3volt", zero),
        ("pv3curr", zero),
        ("batTempC", col("bt", _f1(bat_c)) if storage else zero),
        ("batEnergyPercent", col("soc", _int(soc)) if storage else zero),
        ("batPower", col("bat", _int(bat)) if storage else zero),
        ("totalPVPower", col("pv", _int(pv))),
        ("totalLoadPowerWatt", col("load", _int(v["load"][idx])) if storage else zero),
        ("totalGridPowerWatt", col("grid", _int(grid))),
        ("backupTotalLoadPowerWatt", zero),
    ]
    for ph, name in enumerate("rst"):
        on = ph < len(phase_w)
        inv_on = on and storage  # a grid-tied inverter reports its output on the grid fields only
        ipw = inv_w[ph] if inv_on else None
        grid_power_key = "tGridLPowerWatt" if name == "t" else f"{name}GridPowerWatt"  # sic, as served
        grid_fields = [
            (f"{name}GridVolt", volt_c[ph] if on else zero),
            (f"{name}GridFreq", freq if on else zero),
            (f"{name}GridCurr", curr_c[ph] if on else zero),
            (grid_power_key, grid_c[ph] if on else zero),
        ]
        if name == "t":  # the fixture's order for phase T
            grid_fields = [grid_fields[0], grid_fields[2], grid_fields[1], grid_fields[3]]
        pairs += grid_fields + [
            (f"{name}InvVolt", volt_c[ph] if inv_on else zero),
            (f"{name}InvCurr", col(f"ic{name}", _f2(np.abs(ipw) / phase_v[ph])) if inv_on else zero),
            (f"{name}InvFreq", freq if inv_on else zero),
            (f"{name}InvPowerWatt", col(f"iw{name}", _int(ipw)) if inv_on else zero),
        ]
    pairs += [
        ("parallTotalPVMeterEnergy", col("tpvm", _f2(total["pv"])) if not strings else zero),
        ("totalFeedInEnergy", col("timp", _f2(total["imp"])) if storage else zero),
        ("totalTotalLoadEnergy", col("tload", _f2(total["load"])) if storage else zero),
        ("totalBatDisEnergy", col("tdis", _f2(total["dis"])) if storage else zero),
        ("totalBatChgEnergy", col("tchg", _f2(total["chg"])) if storage else zero),
        ("pv1power", col("p1", [str(x[0]) for x in s])),
        ("pv2power", col("p2", [str(x[1]) for x in s])),
    ]
    pairs += [(f"pv{n}power", zero) for n in range(3, 17)]
    pairs += [
        ("todayLoadEnergy", col("dload", _f2(today["load"])) if storage else zero),
        ("todayPvEnergy", col("dpv", _f2(today["pv"]))),
        ("totalPvEnergy", col("tpv", _f2(total["pv"]))),
        ("gridDirection", col("gdir", _sign(grid))),
        ("todaySellEnergy", col("dexp", _f2(today["exp"])) if storage else zero),
        ("todayFeedInEnergy", col("dimp", _f2(today["imp"])) if storage else zero),  # SAJ's "feed-in": bought
        ("todayBatDisEnergy", col("ddis", _f2(today["dis"])) if storage else zero),
        ("todayBatChgEnergy", col("dchg", _f2(today["chg"])) if storage else zero),
        ("batteryDirection", col("bdir", _sign(bat)) if storage else zero),
    ]
    # no backup loads: the outputs stay "0" (and the first of the two tOutPowerWatt keys with them)
    pairs += [(f"{ph}Out{q}", zero) for ph in "rst" for q in ("Volt", "Curr", "Freq", "PowerVA", "PowerWatt")]
    pf = col("pf", ["0.99" if x else "0" for x in grid])
    pairs += [
        ("sysGridPowerWatt", _Col("grid")),
        ("sysTotalLoadWatt", _Col("load") if storage else zero),
        ("totalBatteryPower", _Col("bat") if storage else zero),
        ("tOutPowerWatt", "-1"),  # the key really appears twice; a plain JSON parser keeps this one
        ("totalSellEnergy", col("texp", _f2(total["exp"])) if storage else zero),
        ("totalGridPowerVA", col("gva", _int(np.abs(grid)))),
        ("rGridPowerPF", pf),
    ]
    pairs += [(f"pv{n}curr", zero) for n in range(4, 17)]
    kwp = plant.system_power_kwp * (dev.pv_fraction if dev.device_type == 0 else 1.0)
    sig = str(-50 - int(35 * _u(seed, "signal", dev.sn)))
    cap = dev.battery_kwh
    bat_v = BATTERY_VOLT - 3.2 + 6.4 * soc / 100.0
    pairs += [
        ("tGridPowerPF", zero),
        ("totalHour", "0.0"),
        ("iso1", "8687"),
        ("iso2", zero),
        ("iso3", zero),
        ("iso4", zero),
        ("pf", pf),
        ("qpower", zero),
        ("mpvMode", "2" if storage else col("mode", ["2" if x > 0 else "1" for x in pv])),
        ("isOnline", "1" if online and dev.model not in STRING_MODELS else "0"),
        ("mfaultMSG", zero),
        ("hfaultMSG", ""),
        ("faultMsgList", []),
        ("invTempC", col("invt", _f1(inv_c))),
        ("batCapacity", f"{cap * 1000 / BATTERY_VOLT:.0f}" if storage else ""),
        ("averBat1Vol", col("bv", _f1(bat_v)) if storage else zero),
        ("averBat1Cur", col("bc", _f2(bat / bat_v)) if storage else zero),
        ("averBat1SOC", _Col("soc") if storage else zero),
    ]
    pairs += [(f"averBat{n}{q}", zero) for n in (2, 3) for q in ("Vol", "Cur", "SOC")]
    pairs += [
        ("linkSignal", sig),
        ("sinkTempC", col("sink", _f1(sink_c))),
        ("ambTempC", f"{ambient:.1f}"),
        ("bmsUserEnergy", col("bmsu", _f2(cap * soc / 100.0)) if storage else zero),
        ("bmsTotalPower", _Col("bat") if storage else zero),
        ("bmsTotalEnergy", f"{cap:.2f}" if storage else zero),
        ("batteryGroupDataList", []),
        ("todayEquivalentHours", col("eqh", _f2(today["pv"] / kwp))),
    ]
    # meter B: an AC-coupled inverter's PV meter (the grid-tied inverter beside it)
    for n in (1, 2, 3):
        on = not strings and n == 1
        pairs += [
            (f"meterBVolt{n}", volt_c[0] if on else zero),
            (f"meterBCurr{n}", col("mbc", _f2(pv / volt)) if on else zero),
            (f"meterBPowerWatt{n}", _Col("pv") if on else zero),
            (f"meterBFreq{n}", freq if on else zero),
        ]
    pairs += [
        (k, zero)
        for k in (
            "rOnGridOutPowerWatt",
            "rOnGridOutVolt",
            "rOnGridOutCurr",
            "rOnGridOutFreq",
            "sOnGridOutPowerWatt",
            "sOnGridOutVolt",
            "tOnGridOutPowerWatt",
            "tOnGridOutVolt",
        )
    ]
    pairs += [(f"meter{m}PowerFactor{n}", zero) for m in "BA" for n in (1, 2, 3)]
    pairs += [
        ("currentMaxBatPoweLimitSupport", False),
        ("currentMaxChargePowerLimit", "-1"),
        ("currentMaxDisChargePowerLimit", "-1"),
        ("registerDnsp", False),
        ("gridPowerPF", zero),
        ("sgridPowerPF", zero),
    ]
    return _render(pairs, cols)
