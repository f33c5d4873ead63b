"""SolaX's models against the fleet's truth, from rounds polled over HTTP on the stand-in's movable clock.

One walk of 5-minute rounds over every dongle of the 6-plant fleet (seed 7: grid-tied without a meter in
Berlin and with one in Guangzhou, hybrids in Sydney and Munich, AC-coupled in Kuala Lumpur and Newcastle, the
fleet's own logger outages on) around 2 November 2025, shared by the module. The 15-minute and
midnight-gap cases are the same walk with rounds left out: the stand-in answers from its clock alone, so that
is exactly what a poller that made only those rounds would have landed.

What a user checks: each plant's day (PV, load, grid import and export, battery) and its hours against
`fleet.plant_day`. SolaX's counters step by 0.1 kWh (yield) and 0.01 kWh (grid): a day total from the counters
is within 1 %, or within a step where 1 % is finer than the counter can tell.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from simulator import Faults, Fleet
from simulator.solax import SolaxServer
from tests.sources.solax.walk import Walker, thin
from tests.support import build_models, query

DAY = date(2025, 11, 2)
START = datetime(2025, 11, 1, 12, 30, tzinfo=timezone.utc)  # before Sydney's midnight opening the 2nd
END = datetime(2025, 11, 3, 0, 0, tzinfo=timezone.utc)  # after Berlin's midnight closing it
BERLIN_MIDNIGHT = datetime(2025, 11, 1, 23, 0, tzinfo=timezone.utc)
# the Sydney hybrid offline for two hours at its midday
OUTAGE = (datetime(2025, 11, 2, 2, 0, tzinfo=timezone.utc), datetime(2025, 11, 2, 4, 0, tzinfo=timezone.utc))
TERMS = ["pv_kwh", "load_kwh", "grid_import_kwh", "grid_export_kwh", "battery_charge_kwh", "battery_discharge_kwh"]
COUNTED = {"pv_kwh": 0.1, "grid_import_kwh": 0.01, "grid_export_kwh": 0.01}  # terms with a counter, and its step


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    root = tmp_path_factory.mktemp("solax_models")
    fleet = Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=START)
    # the quota on: 9 dongles every 5 minutes keep within it
    with SolaxServer(fleet, port=0, faults=Faults(offline={})) as server:
        outage = next(d for d in server.dongles if d.role == "hybrid" and d.plant.time_zone == "Australia/Sydney")
        server.set_faults(Faults(offline={outage.wifi_sn: [OUTAGE]}))
        walker = Walker(server, root / "five")
        walker.walk(START, END, 300)
        walker.close()
        assert server.stats()["rejected_rate"] == {}
        yield {"fleet": fleet, "server": server, "root": root, "rounds": walker.rounds, "outage": outage}


def _build(data_dir, days=(DAY,)):
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as conn:
        build_models(data_dir, list(days), conn)
    return data_dir


@pytest.fixture(scope="module")
def five(walked):
    return _build(walked["root"] / "five")


@pytest.fixture(scope="module")
def fifteen(walked):
    keep = lambda t: int(t.timestamp()) % 900 == 0  # noqa: E731 - every third round
    return _build(thin(walked["root"] / "five", walked["root"] / "fifteen", keep))


def _days(data_dir) -> pd.DataFrame:
    return query(data_dir, "SELECT * FROM self_consumption_daily WHERE vendor = 'solax' AND day = $d", {"d": DAY})


def _errors(fleet, data_dir) -> list[dict]:
    """(plant, term, model, truth) of every plant's day."""
    out = []
    for row in _days(data_dir).itertuples():
        truth = fleet.plant_day(row.plant_id, DAY)
        for term in TERMS:
            out.append(
                {"plant": row.plant_id, "term": term, "model": getattr(row, term), "truth": float(truth[term].sum())}
            )
    return out


def _dongles_with(server, plant_id: str, role_pv: bool) -> int:
    return sum(1 for d in server.dongles if d.plant.plant_id == plant_id and (d.role != "ac_battery") == role_pv)


def test_every_plant_is_modelled_from_its_meter_or_its_inverters(walked, five):
    days = _days(five).set_index("plant_id")
    assert len(days) == 6
    metered = {
        p.plant_id for p in walked["fleet"].plants if any(d.meter for d in walked["server"].dongles if d.plant is p)
    }
    assert set(days.index[days.source == "load_monitor"]) == metered
    unmetered = days.loc[days.source == "devices"]
    assert unmetered.load_kwh.isna().all() and unmetered.grid_import_kwh.isna().all(), "unknown, not 0"


def test_a_plants_samples_share_their_instants(walked, five):
    """The dongles of a plant upload at their own phases; their samples are cut at each other's instants, so the
    plant's inverters and meter stream have samples at the same instants, of the same lengths, all day."""
    samples = query(
        five, "SELECT plant_id, device_sn, ts_utc, interval_s FROM device_samples WHERE day = $d", {"d": DAY}
    )
    shared = 0
    for plant_id, plant in samples.groupby("plant_id"):
        instants = {sn: set(zip(g.ts_utc, g.interval_s)) for sn, g in plant.groupby("device_sn")}
        first = next(iter(instants.values()))
        assert all(i == first for i in instants.values()), plant_id
        assert sum(s for _, s in first) == 24 * 3600
        shared += len(instants) > 1
    assert shared == 3  # Berlin's two PV inverters, and the AC-coupled plants' PV inverter and X1-AC


def test_day_totals_at_5_minute_polls_within_1_percent(walked, five):
    worst = 0.0
    for e in _errors(walked["fleet"], five):
        if pd.isna(e["model"]):  # a term the plant does not measure (no meter in Berlin)
            continue
        assert e["model"] == pytest.approx(e["truth"], rel=0.01, abs=0.01), e
        if e["truth"] > 1:
            worst = max(worst, abs(e["model"] / e["truth"] - 1))
    assert worst < 0.01


def _truth_hours(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame.copy()
    f["ts_local"] = pd.to_datetime(f["ts_local"])
    hour_local = f["ts_local"].dt.floor("h")
    f["hour_utc"] = f["ts_utc"] - (f["ts_local"] - hour_local)
    agg = {t: (t, lambda s: float(s.astype("Float64").sum())) for t in TERMS}
    return f.groupby("hour_utc").agg(reported=("reported", "all"), **agg)


def test_hours_at_5_minute_polls_within_3_percent_or_2_percent_of_the_peak(walked, five):
    """PV, load and grid per hour. (The battery's hours are looser: batPower is the net of charge and discharge
    over an upload's 5 minutes, so the hour the battery turns from discharging to charging loses a little of
    both; the day stays within 1 %.)"""
    fleet = walked["fleet"]
    hours = query(five, "SELECT * FROM plant_energy_hourly WHERE vendor = 'solax' AND day = $d", {"d": DAY})
    compared = 0
    for plant_id, model in hours.groupby("plant_id"):
        truth = _truth_hours(fleet.plant_day(plant_id, DAY))
        model = model.set_index("hour_utc")
        assert set(model.index) == set(truth.index), plant_id  # 24 hours, none invented, none lost
        for term in TERMS:
            peak = truth[term].max()
            # the battery: within 3 % of the hour or 5 % of the peak hour
            of_peak = 0.05 if term.startswith("battery") else 0.02
            for hour, t in truth.iterrows():
                m = model.at[hour, term]
                if pd.isna(m) or not t.reported:  # a term the plant does not know; an hour a logger missed
                    continue
                compared += 1
                assert abs(m - t[term]) <= max(0.03 * t[term], of_peak * peak, 1e-3), (plant_id, hour, term, m, t[term])
    assert compared > 500


def test_day_totals_at_15_minute_polls_from_the_counters(walked, fifteen):
    server = walked["server"]
    for e in _errors(walked["fleet"], fifteen):
        if e["term"] not in COUNTED or pd.isna(e["model"]):
            continue
        dongles = _dongles_with(server, e["plant"], role_pv=True) if e["term"] == "pv_kwh" else 1
        # within 1 %, or one step per counter where 1 % is finer than the counters can tell
        assert abs(e["model"] - e["truth"]) <= max(0.01 * e["truth"], COUNTED[e["term"]] * dongles), e


def test_load_and_battery_at_15_minute_polls_are_estimates(walked, fifteen):
    """No counter exists for the battery, so across the 10 minutes of each 15 the upload's powers do not cover
    it is interpolated, and the load (the balance) inherits that: a few percent, not 1 %."""
    for e in _errors(walked["fleet"], fifteen):
        if e["term"] in COUNTED or pd.isna(e["model"]) or e["truth"] < 1:
            continue
        assert abs(e["model"] / e["truth"] - 1) < 0.06, e


def test_how_much_each_day_was_measured(walked, five, fifteen):
    """`coverage` is the share of the day the uploads' powers describe (README, "Definitions"; docs/solax.md).
    At 5-minute polls a day without a gap is 'samples', whole; a gap (the fleet's logger outages, the Sydney
    hybrid's two hours offline) leaves it short: 'counters' where the inverters' counters give every term (PV
    alone: no meter, no battery), else 'incomplete', though its energies, from the counters across the gap, are
    within 1 % (above). At 15-minute polls only a third of each day is described by powers."""
    fleet, outage = walked["fleet"], walked["outage"].plant.plant_id
    seen = set()
    for data_dir, minutes in ((five, 5), (fifteen, 15)):
        for row in _days(data_dir).itertuples():
            whole = minutes == 5 and row.plant_id != outage and fleet.plant_day(row.plant_id, DAY).reported.all()
            pv_alone = pd.isna(row.load_kwh) and row.battery_charge_kwh == 0 and row.battery_discharge_kwh == 0
            expected = "samples" if whole else "counters" if pv_alone else "incomplete"
            assert row.energy_basis == expected, (minutes, row.plant_id, row.energy_basis, row.coverage)
            if whole:
                assert row.coverage == pytest.approx(1.0) and row.samples == row.expected_samples
            else:
                assert row.coverage < (0.34 if minutes == 15 else 1 - 1 / 24), (minutes, row.plant_id, row.coverage)
            seen.add(row.energy_basis)
        # the README's query for incomplete hours (samples < expected_samples) finds exactly the hours not covered
        hours = query(
            data_dir,
            "SELECT plant_id, hour_utc, samples, expected_samples, coverage FROM plant_energy_hourly WHERE day = $d",
            {"d": DAY},
        )
        short = hours.samples < hours.expected_samples
        assert (short == (hours.coverage < 1 - 1e-9)).all() and short.any()
        assert short.all() == (minutes == 15)  # at 5-minute polls most hours are whole
    assert seen == {"samples", "counters", "incomplete"}


def test_a_midnight_crossed_between_two_polls(walked):
    """No round from 10 minutes before Berlin's midnight to 10 after: the uploads seen on either side are 20
    minutes apart, the interval between them is split at midnight by its shape, each day gets its part (within
    1 % from the counters), and no sample crosses midnight."""
    gap = (BERLIN_MIDNIGHT - timedelta(minutes=10), BERLIN_MIDNIGHT + timedelta(minutes=10))
    data_dir = _build(thin(walked["root"] / "five", walked["root"] / "midnight", lambda t: not gap[0] < t < gap[1]))
    berlin = [p.plant_id for p in walked["fleet"].plants if p.time_zone == "Europe/Berlin"]
    for e in _errors(walked["fleet"], data_dir):
        if e["plant"] in berlin and not pd.isna(e["model"]) and e["term"] in COUNTED:
            assert abs(e["model"] - e["truth"]) <= max(0.01 * e["truth"], COUNTED[e["term"]]), e
    samples = query(
        data_dir,
        "SELECT plant_id, device_sn, ts_local, interval_s FROM device_samples WHERE vendor = 'solax' AND day = $d",
        {"d": DAY},
    )
    ends = samples.ts_local + pd.to_timedelta(samples.interval_s, unit="s")
    assert (samples.ts_local.dt.date == DAY).all()
    assert (ends <= pd.Timestamp(DAY + timedelta(days=1))).all(), "a sample crosses midnight"
    # the first sample of the Berlin plants' day starts at midnight, cut from the interval begun the day before
    first = samples[samples.plant_id.isin(berlin)].groupby("device_sn").ts_local.min()
    assert (first == pd.Timestamp(DAY)).all()
    # the hour after midnight is not all readable: 5 minutes of it were not described by an upload's powers
    pieces = pq.read_table(data_dir / "lake/conformed/samples/vendor=solax/date=2025-11-02/data.parquet").to_pandas()
    first_hour = pieces[
        pieces.plant_id.isin(berlin)
        & (pieces.source == "device")
        & (pieces.ts_local < pd.Timestamp(DAY) + pd.Timedelta(hours=1))
    ]
    readable_s = first_hour[first_hour.readable].groupby("device_sn").interval_s.sum()
    assert len(readable_s) == 3 and (readable_s < 3600).all()


def test_an_offline_dongle_gives_no_fake_samples_and_its_outage_comes_from_the_counters(walked, five):
    """The Sydney hybrid offline two hours at midday: the cloud repeats its last upload (24 polls see the same
    one). No sample is made of the repeats: the first upload after the outage stands for the whole gap (its
    pieces cut at the hours, not readable: their hours are incomplete), with the energy its counters carried
    across (the day within 1 %: checked with every plant's above)."""
    dongle = walked["outage"]
    staged = pq.read_table(five / "lake/staging/solax/stg_uploads/date=2025-11-02/data.parquet").to_pandas()
    staged = staged[(staged.wifi_sn == dongle.wifi_sn) & (staged.upload_local.dt.date == DAY)]
    made = [u for u in walked["server"].uploads(dongle.wifi_sn, DAY) if u["uploaded"]]
    assert len(staged) == len(made) == 288 - 24, "one sample per upload the dongle made, none of the repeats"
    assert staged.polls.max() == 25  # the last upload before the outage, seen by 25 polls
    repeated = staged.loc[staged.polls.idxmax()]
    after = staged[staged.upload_utc > repeated.upload_utc].iloc[0]
    t0, t1 = repeated.upload_utc, after.upload_utc
    assert t0 < pd.Timestamp(OUTAGE[0]) and t1 >= pd.Timestamp(OUTAGE[1])
    samples = query(
        five,
        "SELECT ts_utc, interval_s, pv_w FROM device_samples WHERE device_sn = $sn AND ts_utc >= $a AND ts_utc < $b "
        "ORDER BY ts_utc",
        {"sn": dongle.inverter_sn, "a": t0, "b": t1},
    )
    # one interval from the repeated upload to the next: the uncovered part cut at 02:00 and 03:00 UTC (one mean
    # power, from the counters), then the 5 minutes the new upload's powers describe
    covered = samples.ts_utc >= t1 - pd.Timedelta(seconds=300)
    gap = samples[~covered]
    assert samples.interval_s.sum() == (t1 - t0).total_seconds() and samples[covered].interval_s.sum() == 300
    assert len(gap) == 3 and gap.pv_w.nunique() == 1 and gap.pv_w.iloc[0] != repeated.ac_w + repeated.bat_w
    pieces = pq.read_table(five / "lake/conformed/samples/vendor=solax/date=2025-11-02/data.parquet").to_pandas()
    mine = pieces[(pieces.device_sn == dongle.inverter_sn) & (pieces.ts_utc >= t0) & (pieces.ts_utc < t1)]
    assert mine.readable.tolist() == [False] * 3 + [True] * int(covered.sum()), "the gap is not readable"


def test_a_day_of_25_hours(make_solax, tmp_path):
    """Berlin's clocks go back on 26 October 2025: 25 hours, each right, the day within 1 %."""
    server = make_solax(gaps=False)
    dongle = next(d for d in server.dongles if d.plant.time_zone == "Europe/Berlin" and d.role == "pv")
    day = date(2025, 10, 26)
    walker = Walker(server, tmp_path, wifi_sns={dongle.wifi_sn})
    walker.walk(
        datetime(2025, 10, 25, 21, 30, tzinfo=timezone.utc), datetime(2025, 10, 26, 23, 30, tzinfo=timezone.utc)
    )
    walker.close()
    _build(tmp_path, [day])
    hours = query(tmp_path, "SELECT * FROM device_energy_hourly WHERE day = $d ORDER BY hour_utc", {"d": day})
    assert len(hours) == 25 and hours.hour_local.dt.hour.value_counts()[2] == 2
    truth = _truth_hours(server.fleet.device_day(dongle.device.sn, day))
    model = hours.set_index("hour_utc")
    peak = truth.pv_kwh.max()
    for hour, t in truth.iterrows():
        assert abs(model.at[hour, "pv_kwh"] - t.pv_kwh) <= max(0.03 * t.pv_kwh, 0.02 * peak), hour
    assert model.pv_kwh.sum() == pytest.approx(truth.pv_kwh.sum(), rel=0.01)
