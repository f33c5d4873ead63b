"""An S3 lake: pyarrow writes Parquet to an S3 server, DuckDB reads it back through httpfs (from its wheel);
objects are listed and deleted; and a writer killed in the middle of a multipart upload leaves nothing behind
that a reader could take for data."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs

from pipelines.core import duckdb_ext, ducklake
from pipelines.core.lake import Lake
from tests.core.test_lake import lake_behaviour

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parents[2]


def _key(prefix: str, asset: str, day: date) -> str:
    """The local lake's layout, under an S3 prefix: <prefix>/lake/staging/<asset>/date=YYYY-MM-DD/data.parquet"""
    return f"{prefix.removeprefix('s3://')}lake/staging/{asset}/date={day.isoformat()}/data.parquet"


def _samples(day: date, n: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table(
        {
            "device_sn": pa.array([f"SN{i % 40:04d}" for i in range(n)]),
            "day": pa.array([day] * n, pa.date32()),
            "pv_w": pa.array(rng.uniform(0, 5000, n)),
            "seq": pa.array(np.arange(n, dtype=np.int64)),
        }
    )


def test_pyarrow_writes_duckdb_reads_lists_and_deletes(s3_server, s3_prefix):
    s3 = s3_server.filesystem()
    days = [date(2025, 6, 17), date(2025, 6, 18), date(2025, 6, 19)]
    # ~24 MB per file: pyarrow uploads it in several parts (what moto 5.2.1 got wrong)
    written = {d: _samples(d, 1_000_000, seed=i) for i, d in enumerate(days)}
    for d, table in written.items():
        pq.write_table(table, _key(s3_prefix, "stg_device_samples", d), filesystem=s3, compression="zstd")

    listed = s3.get_file_info(
        fs.FileSelector(_key(s3_prefix, "stg_device_samples", days[0]).rsplit("/", 2)[0], recursive=True)
    )
    files = sorted(f.path for f in listed if f.type == fs.FileType.File)
    assert files == sorted(_key(s3_prefix, "stg_device_samples", d) for d in days)
    assert all(f.size > 5 * 2**20 for f in listed if f.type == fs.FileType.File)

    with duckdb_ext.connect(extensions=duckdb_ext.S3_LAKE) as conn:
        conn.execute(ducklake.s3_secret_sql(s3_server.env()))
        glob = f"{s3_prefix}lake/staging/stg_device_samples/date=*/data.parquet"
        per_day = dict(
            conn.execute(
                "SELECT day, count(*) FROM read_parquet($g, hive_partitioning = false) GROUP BY day", {"g": glob}
            ).fetchall()
        )
        assert per_day == {d: 1_000_000 for d in days}
        # the very values, not only the counts
        got = conn.execute(
            "SELECT * FROM read_parquet($f, hive_partitioning = false) ORDER BY seq",
            {"f": "s3://" + _key(s3_prefix, "stg_device_samples", days[1])},
        ).to_arrow_table()
        assert got.equals(written[days[1]])

        # re-materialising a day replaces its object (a PUT is atomic: readers see the old or the new file)
        pq.write_table(_samples(days[1], 10, seed=9), _key(s3_prefix, "stg_device_samples", days[1]), filesystem=s3)
        assert (
            conn.execute("SELECT count(*) FROM read_parquet($g) WHERE day = $d", {"g": glob, "d": days[1]}).fetchone()[
                0
            ]
            == 10
        )

    s3.delete_file(_key(s3_prefix, "stg_device_samples", days[0]))
    s3.delete_dir(_key(s3_prefix, "stg_device_samples", days[2]).rsplit("/", 1)[0])
    remaining = [
        f.path
        for f in s3.get_file_info(fs.FileSelector(s3_prefix.removeprefix("s3://"), recursive=True))
        if f.type == fs.FileType.File
    ]
    assert remaining == [_key(s3_prefix, "stg_device_samples", days[1])]


SLOW_WRITER = r"""
import sys, time
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from tests.services import S3Server
server = S3Server(endpoint=sys.argv[1], bucket=sys.argv[2], version="")
schema = pa.schema([("seq", pa.int64()), ("noise", pa.float64())])
with pq.ParquetWriter(sys.argv[3], schema, filesystem=server.filesystem()) as writer:
    for i in range(10_000):
        writer.write_table(pa.table({"seq": np.arange(i * 250_000, (i + 1) * 250_000),
                                     "noise": np.random.default_rng(i).random(250_000)}, schema=schema))
        print(f"wrote {i + 1}", flush=True)
        time.sleep(0.05)
"""


def _multipart_uploads(s3_server) -> list[str]:
    with urllib.request.urlopen(f"{s3_server.endpoint}/{s3_server.bucket}?uploads") as answer:
        body = answer.read().decode()
    return [part.split("</Key>")[0] for part in body.split("<Key>")[1:]]


def test_a_writer_killed_mid_upload_leaves_the_old_object_whole(s3_server, s3_prefix):
    """S3 has no rename, and needs none: an object appears only when its multipart upload completes. A worker killed
    in the middle leaves the previous version readable as it was and no partial object (only an incomplete upload,
    which a bucket lifecycle rule aborts: docs/deploy.md)."""
    s3 = s3_server.filesystem()
    key = _key(s3_prefix, "stg_device_samples", date(2025, 6, 17))
    before = _samples(date(2025, 6, 17), 1000)
    pq.write_table(before, key, filesystem=s3)

    writer = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, s3_server.endpoint, s3_server.bucket, key],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while key.split("/", 1)[1] not in _multipart_uploads(s3_server):  # at least one part is on the server
            assert writer.poll() is None and time.monotonic() < deadline, writer.stderr.read()
            time.sleep(0.1)
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    finally:
        writer.kill()
        writer.wait()

    assert pq.read_table(key, filesystem=s3).equals(before)
    with duckdb_ext.connect(extensions=duckdb_ext.S3_LAKE) as conn:
        conn.execute(ducklake.s3_secret_sql(s3_server.env()))
        assert conn.execute("SELECT count(*), max(seq) FROM read_parquet($f)", {"f": "s3://" + key}).fetchone() == (
            1000,
            999,
        )


def test_the_s3_lake_behaves_as_the_local_one(s3_server, s3_prefix, monkeypatch):
    """FLEET_LAKE_URL=s3://bucket/prefix with the usual AWS variables: the same Lake, the same behaviour as on a
    local folder (tests/core/test_lake.py), and DuckDB reads its files through Lake.prepare."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    lake = Lake.from_url(s3_prefix + "lake")
    assert not lake.local and lake.url == s3_prefix + "lake"
    lake_behaviour(lake)
    path = lake.conformed_file("plants", "saj", date(2025, 9, 1))
    with duckdb_ext.connect() as conn:
        lake.prepare(conn)
        assert conn.execute("SELECT count(*) FROM read_parquet($f)", {"f": lake.uri(path)}).fetchone()[0] == 1
