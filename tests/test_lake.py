"""The lake's guarantees that need no API: atomic replacement and identifiers that cannot escape."""

import multiprocessing
import os
import signal
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest

from pipelines import lake

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


def test_rewriting_a_day_replaces_it(tmp_path):
    first = lake.raw_table(DAY, [("1", "A1", response('{"a": 1}')), ("1", "A2", response('{"a": 2}'))])
    lake.write_partition(tmp_path, "raw", "raw_upload_data", DAY, first)
    second = lake.raw_table(DAY, [("1", "A1", response('{"a": 3}'))])
    path = lake.write_partition(tmp_path, "raw", "raw_upload_data", DAY, second)
    assert pq.read_table(path).column("body").to_pylist() == ['{"a": 3}']
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.parquet"]


def test_body_is_kept_verbatim(tmp_path):
    body = '{"code":200,"msg":"查询成功","rows":[{"tOutPowerWatt":"0","tOutPowerWatt":"1"}],  "x": 1.50}'
    path = lake.write_partition(tmp_path, "raw", "raw_devices", DAY, lake.raw_table(DAY, [(None, None, response(body))]))
    assert pq.read_table(path).column("body").to_pylist()[0].encode() == body.encode()


def _write_forever(root, ready):
    big = lake.raw_table(DAY, [("1", f"D{n}", response("x" * 20_000)) for n in range(2_000)])
    ready.set()
    while True:
        lake.write_partition(root, "raw", "raw_upload_data", DAY, big)


def test_a_killed_writer_leaves_the_previous_day_whole(tmp_path):
    old = lake.raw_table(DAY, [("1", "A1", response('{"old": true}'))])
    path = lake.write_partition(tmp_path, "raw", "raw_upload_data", DAY, old)
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    writer = ctx.Process(target=_write_forever, args=(tmp_path, ready))
    writer.start()
    ready.wait(30)
    os.kill(writer.pid, signal.SIGKILL)
    writer.join()
    table = pq.read_table(path)  # readable: either the old day or a complete new one
    assert table.num_rows in (1, 2_000)
    # what the killed writer left behind is swept by a later write once it is stale
    for leftover in path.parent.glob(".data-*.tmp"):
        os.utime(leftover, (0, 0))
    lake.write_partition(tmp_path, "raw", "raw_upload_data", DAY, old)
    assert sorted(p.name for p in path.parent.iterdir()) == ["data.parquet"]


@pytest.mark.parametrize("bad", ["../etc", "a/b", "x'; DROP TABLE plants; --", "", "..", "a b", "a\\b"])
def test_identifiers_that_could_escape_are_refused(bad):
    with pytest.raises(lake.UnsafeIdentifierError, match="not a plain identifier"):
        lake.checked_identifier(bad, "device sn")


def test_ordinary_identifiers_pass():
    assert lake.checked_identifier("M2S4182G2349E02268", "device sn") == "M2S4182G2349E02268"
    assert lake.checked_identifier(23225181132, "plant id") == "23225181132"
