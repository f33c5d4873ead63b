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


def lake_behaviour(lake: Lake) -> None:
    """What every layer relies on, the same on every filesystem the lake can live on (local here; S3 in
    tests/distributed/test_s3_lake.py): raw attempts superseding each other, the lineage a resume reads from the
    newest file, a reader racing another run's superseding attempt, day files and their lookback, conformed files
    per vendor and day."""
    day_dir = lake.day_dir("raw", "saj", "raw_upload_data", day=DAY)
    assert lake.parts(day_dir) == [] and lake.read_raw("saj", "raw_upload_data", DAY) is None
    lineage = {b"fleet.run_id": b"r1", b"fleet.complete": b"1"}
    first = raw_table(DAY, [("1", "A1", response('{"a": 1}'))])
    lake.add_part(day_dir, first.replace_schema_metadata(lineage), supersedes=True)
    lake.add_part(day_dir, raw_table(DAY, [("1", "A1", response('{"a": 2}'))]), supersedes=False)
    assert len(lake.parts(day_dir)) == 2 and lake.parts(day_dir) == sorted(lake.parts(day_dir))
    assert lake.metadata(lake.parts(day_dir)[0]) == {"fleet.run_id": "r1", "fleet.complete": "1"}
    assert lake.metadata(day_dir / "part-missing.parquet") == {}

    # another run of the same day supersedes the files this reader has just listed: it lists again
    listings = []

    def list_then_superseded():
        files = lake.raw_files("saj", "raw_upload_data", [DAY])
        if not listings:
            lake.add_part(day_dir, raw_table(DAY, [("1", "A1", response('{"a": 3}'))]), supersedes=True)
        listings.append(files)
        return files

    assert lake.reading(list_then_superseded, lake.read).column("body").to_pylist() == ['{"a": 3}']
    assert [len(files) for files in listings] == [2, 1]
    assert lake.read_raw("saj", "raw_upload_data", DAY).column("body").to_pylist() == ['{"a": 3}']

    staged = lake.write_file(lake.day_file("staging", "saj", "stg_plants", day=DAY), first)
    assert lake.exists(staged) and not lake.exists(lake.day_file("staging", "saj", "stg_plants", day=date(2025, 9, 2)))
    assert lake.latest_day_file("staging", "saj", "stg_plants", day=date(2025, 9, 20)) == staged
    assert lake.latest_day_file("staging", "saj", "stg_plants", day=date(2025, 8, 31)) is None
    assert lake.latest_day_file("staging", "saj", "stg_plants", day=date(2025, 10, 9)) is None  # beyond the lookback

    for vendor, day in (("saj", DAY), ("saj", date(2025, 9, 3)), ("solax", date(2025, 9, 2))):
        lake.write_file(lake.conformed_file("plants", vendor, day), first)
    assert lake.conformed_files("plants", [DAY, date(2025, 9, 2)]) == [
        lake.conformed_file("plants", "saj", DAY),
        lake.conformed_file("plants", "solax", date(2025, 9, 2)),
    ]
    assert lake.latest_conformed_files("plants", date(2025, 9, 2)) == [
        lake.conformed_file("plants", "saj", DAY),
        lake.conformed_file("plants", "solax", date(2025, 9, 2)),
    ]
    assert lake.conformed_files("samples", [DAY]) == [] and lake.latest_conformed_files("samples", DAY) == []
    assert lake.read(lake.conformed_files("plants", [DAY])).equals(first)


def test_the_local_lake_behaves_as_every_lake_must(tmp_path):
    lake_behaviour(Lake(tmp_path))


@pytest.mark.parametrize(
    "url, message",
    [
        ("gs://bucket/lake", "only s3://bucket/prefix or a local folder"),
        ("s3://", "expected s3://bucket/prefix"),
        ("s3://Bad_Bucket/lake", "expected s3://bucket/prefix"),
        ("s3://bucket/../lake", "expected s3://bucket/prefix"),
    ],
)
def test_a_lake_url_that_names_no_lake_says_what_is_expected(url, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        Lake.from_url(url)
