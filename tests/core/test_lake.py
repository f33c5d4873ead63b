"""The lake's guarantees that need no API: a day only ever grows in the raw layer, atomic replacement of
staging days, and identifiers that cannot escape."""

import multiprocessing
import os
import signal
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest

from pipelines.core.lake import Lake, UnsafeIdentifierError, checked_identifier, raw_table

DAY = date(2025, 9, 1)


def response(body: str, sn: str = "R5X2602J2516E27344"):
    return SimpleNamespace(
        endpoint="device/uploadData",
        params={"deviceSn": sn, "timeUnit": 0},
        fetched_at=datetime(2025, 9, 2, tzinfo=timezone.utc),
        http_status=200,
        code=200,
        msg="request success",
        attempts=1,
        body_text=body,
    )


def test_a_complete_attempt_supersedes_the_day_and_a_partial_one_is_kept_beside_it(tmp_path):
    lake = Lake(tmp_path)
    day_dir = lake.day_dir("raw", "saj", "raw_upload_data", day=DAY)
    first = raw_table(DAY, [("1", "A1", response('{"a": 1}')), ("1", "A2", response('{"a": 2}'))])
    lake.add_part(day_dir, first, supersedes=True)
    # an outage: the re-fetch got only A1; the complete first attempt stays
    lake.add_part(day_dir, raw_table(DAY, [("1", "A1", response('{"a": 3}'))]), supersedes=False)
    assert len(lake.parts(day_dir)) == 2
    assert sorted(lake.read_raw("saj", "raw_upload_data", DAY).column("body").to_pylist()) == [
        '{"a": 1}',
        '{"a": 2}',
        '{"a": 3}',
    ]
    # a later complete attempt replaces both
    lake.add_part(day_dir, raw_table(DAY, [("1", "A1", response('{"a": 4}'))]), supersedes=True)
    assert len(lake.parts(day_dir)) == 1
    assert lake.read_raw("saj", "raw_upload_data", DAY).column("body").to_pylist() == ['{"a": 4}']


def test_body_is_kept_verbatim(tmp_path):
    lake = Lake(tmp_path)
    body = '{"code":200,"msg":"查询成功","rows":[{"tOutPowerWatt":"0","tOutPowerWatt":"1"}],  "x": 1.50}'
    path = lake.add_part(
        lake.day_dir("raw", "saj", "raw_devices", day=DAY),
        raw_table(DAY, [(None, None, response(body))]),
        supersedes=True,
    )
    assert pq.read_table(path).column("body").to_pylist()[0].encode() == body.encode()


def _write_forever(root, ready):
    lake = Lake(root)
    big = raw_table(DAY, [("1", f"D{n}", response("x" * 20_000)) for n in range(2_000)])
    ready.set()
    while True:
        lake.write_file(lake.day_file("staging", "saj", "stg_device_samples", day=DAY), big)


def test_a_killed_writer_leaves_the_previous_day_whole(tmp_path):
    lake = Lake(tmp_path)
    path = lake.write_file(
        lake.day_file("staging", "saj", "stg_device_samples", day=DAY),
        raw_table(DAY, [("1", "A1", response('{"old": true}'))]),
    )
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    writer = ctx.Process(target=_write_forever, args=(tmp_path, ready))
    writer.start()
    ready.wait(30)
    os.kill(writer.pid, signal.SIGKILL)
    writer.join()
    assert pq.read_table(path).num_rows in (1, 2_000)  # readable: either the old day or a complete new one
    # what the killed writer left behind is swept by a later write once it is stale
    for leftover in path.parent.glob(".tmp-*"):
        os.utime(leftover, (0, 0))
    lake.write_file(path, raw_table(DAY, []))
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.parquet"]


@pytest.mark.parametrize("names", [("saj", "../x"), ("Saj", "raw"), ("saj", "a/b"), ()])
def test_lake_locations_are_plain_names(tmp_path, names):
    with pytest.raises(ValueError, match="not a lake location"):
        Lake(tmp_path).table_dir("raw", *names)
    with pytest.raises(ValueError, match="not a lake location"):
        Lake(tmp_path).table_dir("elsewhere", "saj", "raw_plants")


@pytest.mark.parametrize("bad", ["../etc", "a/b", "x'; DROP TABLE plants; --", "", "..", "a b", "a\\b"])
def test_identifiers_that_could_escape_are_refused(bad):
    with pytest.raises(UnsafeIdentifierError, match="not a plain identifier"):
        checked_identifier(bad, "device sn")


def test_ordinary_identifiers_pass():
    assert checked_identifier("M2S4182G2349E02268", "device sn") == "M2S4182G2349E02268"
    assert checked_identifier(23225181132, "plant id") == "23225181132"
