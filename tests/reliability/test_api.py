"""Reliability against the API's faults (simulator fault injection): each run is compared with the ground truth.

Fleet seed 7, 2 plants: Berlin grid-tied with an R5 and an R6 (numbers as strings), Sydney storage (H2) with
a load monitor. Rate limits are off except where they are the point.
"""

import json
from datetime import date, datetime, timezone

import pytest

from pipelines.core.errors import ApiTransientError
from pipelines.sources.saj.client import SajClient
from simulator import Faults
from tests.support import DEVICE_PATH, compare_device_day, materialize, query, raw, refusals, select

DAY = date(2025, 9, 1)
DEVICE_ASSETS = select(DEVICE_PATH)


def _raw_bodies_are_json(data_dir, day=DAY):
    for asset in ("raw_plants", "raw_devices", "raw_upload_data"):
        for row in raw(data_dir, asset, day).to_pylist():
            json.loads(row["body"])  # nothing truncated was landed as data


@pytest.mark.parametrize("errors", [0.0, 0.3], ids=["expiry", "expiry-during-retries"])
def test_token_expiring_mid_backfill_is_refreshed_and_nothing_is_lost(make_simulator, tmp_path, errors):
    # Tokens die after 0.5 s although the server announces 7200 s: twice a second the token is refused. With system
    # errors too, a token refreshed for a call can die again during that call's backoff. (Shorter lives make
    # the test depend on the machine's load: a thread kept waiting longer than a token lives sees it refused
    # right after its refresh, which is what the client reports as someone else taking the app's token.)
    server = make_simulator(
        plants=2, limits=False, faults=Faults(seed=4, token_ttl_s=0.5, latency_s=0.02, code_10001_rate=errors)
    )
    days = [date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 3)]
    result = materialize(
        server,
        tmp_path,
        None,
        assets=DEVICE_ASSETS,
        tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        },
    )
    assert result.success
    stats = server.stats()
    assert stats["tokens_issued"] > 2 and stats["codes"]["device/uploadData"].get(200010, 0) > 0
    for day in days:
        assert compare_device_day(server.fleet, tmp_path, day)["complete"] == 72


def test_10006_storms_are_waited_out(make_simulator, tmp_path):
    # The server allows a fifth of the documented QPS (1/s instead of 5/s): the client runs into storms of
    # "Too frequent access" and must back off until every call succeeds.
    server = make_simulator(plants=2, limits=True, qps_scale=0.2)
    result = materialize(server, tmp_path, DAY, assets=DEVICE_ASSETS)
    assert result.success
    assert sum(server.stats()["rejected_rate"].values()) >= 3
    landed = raw(tmp_path, "raw_devices", DAY).to_pylist()
    assert all(row["api_code"] in (0, 200) for row in landed)  # rejections are retried, not landed as data
    assert compare_device_day(server.fleet, tmp_path, DAY)["complete"] == 72


@pytest.mark.parametrize(
    "fault",
    [{"http_5xx_rate": 0.2}, {"code_10001_rate": 0.2}, {"truncate_rate": 0.2}],
    ids=["5xx", "10001", "truncated-json"],
)
def test_transient_faults_at_20_percent_are_retried_to_the_truth(make_simulator, tmp_path, fault):
    server = make_simulator(plants=2, limits=False, faults=Faults(seed=3, **fault))
    result = materialize(server, tmp_path, DAY, assets=DEVICE_ASSETS)
    assert result.success
    stats = server.stats()
    injected = (
        sum(stats["http_errors"].values())
        + sum(stats["truncated"].values())
        + sum(c.get(10001, 0) for c in stats["codes"].values())
    )
    assert injected >= 2, stats
    _raw_bodies_are_json(tmp_path)
    assert compare_device_day(server.fleet, tmp_path, DAY)["complete"] == 72
    retried = [row for row in raw(tmp_path, "raw_upload_data", DAY).to_pylist() if row["attempts"] > 1]
    assert all(row["api_code"] == 200 for row in retried)


def test_slow_responses_are_fine_and_timeouts_fail_loudly_then_a_rerun_completes(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False, faults=Faults(latency_s=0.05))
    assert materialize(server, tmp_path, DAY, assets=DEVICE_ASSETS, timeout_s=1.0).success  # slow, within the timeout
    assert compare_device_day(server.fleet, tmp_path, DAY)["complete"] == 72

    # Now every answer takes longer than the client waits: the run fails, naming the timeout, and what was
    # landed before stays: the raw lake never holds less than it once held.
    before = raw(tmp_path, "raw_upload_data", DAY)
    server.set_faults(Faults(latency_s=0.4))
    client = SajClient(
        server.fleet.app_id,
        server.fleet.app_secret,
        server.base_url,
        tmp_path / "c",
        timeout_s=0.1,
        max_attempts=2,
        backoff_base_s=0.01,
        rate_limit=False,
    )
    with pytest.raises(ApiTransientError, match="Timeout") as info:
        client.device_page()
    assert "gave up after 2 attempts" in str(info.value)
    result = materialize(
        server, tmp_path, DAY, assets=select({"saj/raw_upload_data"}), timeout_s=0.1, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "3 plant/device call(s) failed after retries" in str(failure.event_specific_data.error)
    listed = failure.event_specific_data.user_failure_data.metadata["failed"].value
    assert all(d.sn in listed for d in server.fleet.devices) and "ReadTimeout" in listed
    after = raw(tmp_path, "raw_upload_data", DAY)
    assert set(before.column("body").to_pylist()) <= set(after.column("body").to_pylist())

    server.set_faults(Faults())
    assert materialize(server, tmp_path, DAY, assets=DEVICE_ASSETS).success
    assert compare_device_day(server.fleet, tmp_path, DAY)["complete"] == 72


@pytest.mark.parametrize(
    "fault", [{"wrong_type_rate": 0.3}, {"missing_field_rate": 0.05}], ids=["wrong-type", "missing-field"]
)
def test_damaged_sample_fields_mark_their_hour_incomplete_and_invent_nothing(make_simulator, tmp_path, fault):
    server = make_simulator(plants=2, limits=False, faults=Faults(seed=5, **fault))
    assert materialize(server, tmp_path, DAY, assets=DEVICE_ASSETS).success
    stats = compare_device_day(server.fleet, tmp_path, DAY, damaged=True)
    # some values could not be read: their hours say so, every other hour equals the truth exactly
    assert stats["partial"] > 0 and stats["complete"] > 36, stats


def test_a_device_offline_for_hours_leaves_a_visible_gap(make_simulator, tmp_path):
    fleet_sn = "R5X6976G2214E02121"  # Berlin, UTC+2 in September
    span = (datetime(2025, 9, 1, 8, 10, tzinfo=timezone.utc), datetime(2025, 9, 1, 11, 40, tzinfo=timezone.utc))
    server = make_simulator(plants=2, limits=False, faults=Faults(offline={fleet_sn: [span]}))
    with_plant = select(
        DEVICE_PATH | {"saj/raw_sec_data", "saj/stg_load_monitor_samples", "plants", "plant_energy_hourly"}
    )
    assert materialize(server, tmp_path, DAY, assets=with_plant).success
    stats = compare_device_day(server.fleet, tmp_path, DAY, sns={fleet_sn})
    assert stats == {"hours": 24, "complete": 20, "partial": 2, "missing": 2}, stats
    hours = query(
        tmp_path,
        "SELECT hour_utc, samples FROM device_energy_hourly WHERE device_sn = $sn AND day = $d ORDER BY hour_utc",
        {"sn": fleet_sn, "d": DAY},
    )
    by_hour = {h.hour: s for h, s in zip(hours.hour_utc.dt.tz_convert("UTC"), hours.samples)}
    assert by_hour[8] == 2 and 9 not in by_hour and 10 not in by_hour and by_hour[11] == 4  # 08:00-08:10, 11:40-12:00
    # the other devices are whole
    assert (
        compare_device_day(server.fleet, tmp_path, DAY, sns={"R6I4835J2194E36216", "H2T4537G2237E04332"})["complete"]
        == 48
    )
    # the plant's hours are as complete as its least complete inverter (its other inverter reported throughout)
    plant = query(
        tmp_path,
        "SELECT hour_utc, samples, source FROM plant_energy_hourly WHERE plant_id = $p AND day = $d",
        {"p": server.fleet.device(fleet_sn).plant_id, "d": DAY},
    )
    assert set(plant.source) == {"devices"} and len(plant) == 24
    plant_hours = {h.hour: s for h, s in zip(plant.hour_utc.dt.tz_convert("UTC"), plant.samples)}
    assert (plant_hours[8], plant_hours[9], plant_hours[10], plant_hours[11]) == (2, 0, 0, 4)
    assert sum(s == 12 for s in plant_hours.values()) == 20


def test_duplicated_samples_are_counted_once(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False, faults=Faults(seed=9, duplicate_sample_rate=0.2))
    assert materialize(server, tmp_path, DAY, assets=DEVICE_ASSETS).success
    served = 0
    for row in raw(tmp_path, "raw_upload_data", DAY).to_pylist():
        if json.loads(row["request_params"])["timeUnit"] == 0:
            served += len(json.loads(row["body"])["data"]["data"])
    assert served > 3 * 288 * 1.1  # duplicates were served ...
    assert compare_device_day(server.fleet, tmp_path, DAY)["complete"] == 72  # ... and counted once


def test_late_data_is_picked_up_by_a_rematerialisation(make_simulator, tmp_path):
    # "now" is 2025-11-03 12:00 UTC; data of the last 5 hours has not arrived yet.
    today = date(2025, 11, 3)
    server = make_simulator(plants=2, limits=False, faults=Faults(late_s=5 * 3600))
    assert materialize(server, tmp_path, today, assets=DEVICE_ASSETS).success
    first = compare_device_day(server.fleet, tmp_path, today)  # the truth knows what was served
    first_samples = query(tmp_path, "SELECT count(*) AS n FROM device_samples WHERE day = $d", {"d": today}).n[0]

    server.set_faults(Faults())  # the late data arrives
    assert materialize(server, tmp_path, today, assets=DEVICE_ASSETS).success
    second = compare_device_day(server.fleet, tmp_path, today)
    second_samples = query(tmp_path, "SELECT count(*) AS n FROM device_samples WHERE day = $d", {"d": today}).n[0]
    assert second_samples - first_samples == 3 * 5 * 12  # five hours of three devices, once
    assert second["missing"] < first["missing"]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", None])
def test_an_unknown_or_missing_time_zone_is_a_clear_error_never_utc(make_simulator, tmp_path, zone):
    server = make_simulator(plants=2, limits=False)
    bad = server.fleet.plants[0].plant_id
    original = server._ep_plant_details

    def details(app, params):
        body, code = original(app, params)
        if params.get("plantId") == bad:
            payload = json.loads(body)
            if zone is None:
                del payload["data"]["timeZone"]
            else:
                payload["data"]["timeZone"] = zone
            body = json.dumps(payload).encode()
        return body, code

    server._ep_plant_details = details
    result = materialize(server, tmp_path, DAY, assets=DEVICE_ASSETS, raise_on_error=False)
    assert result.success  # the plant is refused by name; the rest of the fleet flows on
    refused = refusals(result)
    assert f"plant {bad} has no usable time zone" in refused["saj/raw_plants"]
    assert f"plant {bad} has no usable time zone" in refused["saj/raw_upload_data"]
    # what was fetched is kept (the bad plant's details too), and nothing downstream guessed UTC
    landed = {row["plant_id"] for row in raw(tmp_path, "raw_plants", DAY).to_pylist()}
    assert {p.plant_id for p in server.fleet.plants} <= landed
    assert query(tmp_path, "SELECT count(*) AS n FROM device_samples WHERE plant_id = $p", {"p": bad}).n[0] == 0
    good = server.fleet.plants[1]
    assert compare_device_day(server.fleet, tmp_path, DAY, sns=[d.sn for d in good.devices])["complete"] > 0
