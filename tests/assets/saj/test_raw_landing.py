"""Raw landing against the simulator: every response kept once, verbatim, per plant-local day."""

import json
import os
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.lake import RAW_SCHEMA
from tests.cli import materialize
from tests.support import land as land_rows
from tests.support import raw, resources, run, select

DAY = date(2025, 9, 1)
RAW = ("raw_plants", "raw_devices", "raw_upload_data", "raw_sec_data", "raw_plant_statistics", "raw_alarms")


def land(server, data_dir: Path, day: date = DAY, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    return run(
        dg.AssetSelection.groups("saj_raw"),
        partition_key=day.isoformat(),
        resources=resources(server, data_dir),
        raise_on_error=raise_on_error,
    )


def landed_rows(data_dir: Path, day: date = DAY) -> list[dict]:
    rows = []
    for asset in RAW:
        rows += [{**row, "asset": asset} for row in raw(data_dir, asset, day).to_pylist()]
    return rows


def test_every_served_response_is_landed_once_and_verbatim(make_simulator, tmp_path):
    server = make_simulator(plants=6, seed=11)
    land(server, tmp_path)
    served = [
        response["body"]
        for response in server.served()
        if response["endpoint"] != "access_token" and response["code"] != 10006
    ]
    landed = [row["body"].encode() for row in landed_rows(tmp_path)]
    assert sorted(landed) == sorted(served)
    assert len(landed) == len(set(landed)) or len(landed) == len(served)


def test_secrets_are_not_in_the_raw_lake(make_simulator, tmp_path):
    server = make_simulator(plants=3, seed=12)
    land(server, tmp_path)
    token = json.loads(next((tmp_path / ".cache" / "saj" / "tokens").glob("token-*.json")).read_text())["token"]
    assert len(token) > 16
    for path in (tmp_path / "lake").rglob("*.parquet"):
        content = path.read_bytes()
        text = "\n".join(map(str, pq.read_table(path).to_pylist()))
        for secret in (server.fleet.app_secret, token):
            assert secret.encode() not in content and secret not in text


def test_rematerialising_a_day_replaces_it(make_simulator, tmp_path):
    server = make_simulator(plants=4, seed=13)
    land(server, tmp_path)
    first = landed_rows(tmp_path)
    land(server, tmp_path)
    second = landed_rows(tmp_path)
    assert len(second) == len(first)
    key = lambda row: (
        row["asset"],
        row["endpoint"],
        row["plant_id"] or "",
        row["device_sn"] or "",
        row["request_params"],
    )
    assert sorted(map(key, second)) == sorted(map(key, first))


def test_each_plant_gets_its_own_local_day(make_simulator, tmp_path):
    server = make_simulator(plants=6, seed=14)
    zones = {plant.time_zone for plant in server.fleet.plants}
    assert len(zones) >= 3
    land(server, tmp_path)
    table = raw(tmp_path, "raw_upload_data", DAY).to_pylist()
    minute = [row for row in table if json.loads(row["request_params"]).get("timeUnit") in (0, "0")]
    assert {row["device_sn"] for row in minute} == {device.sn for device in server.fleet.devices}
    for row in minute:
        served = [point["dataTime"] for point in json.loads(row["body"])["data"]["data"]]
        truth = server.fleet.device_day(row["device_sn"], DAY)
        expected = [ts.strftime("%Y-%m-%d %H:%M:%S") for ts in truth.loc[truth["reported"], "ts_local"]]
        assert served == expected, row["device_sn"]


def test_a_device_that_keeps_failing_fails_the_partition_and_is_listed(make_simulator, tmp_path):
    server = make_simulator(plants=3, seed=15)
    land(server, tmp_path)
    # A device the API does not know (e.g. removed from the app) answers "unauthorised" on every call.
    devices = raw(tmp_path, "raw_devices", DAY)
    rows = devices.to_pylist()
    listing = next(row for row in rows if row["endpoint"] == "plant/getPlantAllDeviceList")
    body = json.loads(listing["body"])
    body["data"].append(
        {"deviceType": 1, "inverterData": {"deviceSn": "R5X9999J0000E00000", "type": 0}, "sn": "", "sort": 0}
    )
    listing["body"] = json.dumps(body)
    path = land_rows(tmp_path, "raw_devices", DAY, [])  # a new attempt in place of the day's, then edited
    pq.write_table(pa.Table.from_pylist(rows, schema=RAW_SCHEMA), path)

    result = run(
        select({"saj/raw_upload_data"}),
        partition_key=DAY.isoformat(),
        resources=resources(server, tmp_path),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "R5X9999J0000E00000" in str(failure.event_specific_data.error.message) or "R5X9999J0000E00000" in str(
        failure.event_specific_data.user_failure_data.metadata if failure.event_specific_data.user_failure_data else ""
    )
    landed = raw(tmp_path, "raw_upload_data", DAY).to_pylist()
    assert {row["device_sn"] for row in landed} >= {device.sn for device in server.fleet.devices}


def test_the_cli_materialises_a_range_in_one_run(make_simulator, tmp_path):
    server = make_simulator(plants=2, seed=16)
    env = {
        **os.environ,
        "SAJ_APP_ID": server.fleet.app_id,
        "SAJ_APP_SECRET": server.fleet.app_secret,
        "SAJ_BASE_URL": server.base_url,
        "FLEET_DATA_DIR": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    (tmp_path / "dagster_home").mkdir()
    done = materialize("group:saj_raw", "--partition-range", "2025-09-01...2025-09-03", env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for day in (date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 3)):
        assert raw(tmp_path, "raw_upload_data", day).num_rows > 0
    assert server.fleet.app_secret not in done.stdout + done.stderr
