"""The Parquet lake: every vendor's raw responses, staging and conformed tables, one folder per day.

The lake lives in a local folder (`$FLEET_DATA_DIR/lake`, the default) or under an S3 prefix (`FLEET_LAKE_URL=
s3://bucket/prefix`, with the usual AWS variables and `AWS_ENDPOINT_URL` for an S3-compatible store); both through
pyarrow.fs, one code path. Layout under its root:

    raw/<vendor>/<asset>/date=YYYY-MM-DD/part-<landed at>-<id>.parquet   one file per landing attempt
    staging/<vendor>/<table>/date=YYYY-MM-DD/data.parquet                replaced whole
    conformed/<table>/vendor=<vendor>/date=YYYY-MM-DD/data.parquet       replaced whole

The raw layer is the system of record and only ever grows: each landing attempt is a file of its own. An
attempt that got every answer it asked for supersedes the day's earlier files (they are removed once it is
written); an attempt with failures is kept beside them, so re-fetching a day during an outage never leaves
the lake with less than it held (staging takes the newest answer per request over all of a day's files).
No reader ever sees a half-written file: locally every write goes to a hidden temporary file in the same folder
and is renamed into place (os.replace), so a crash leaves the previous version whole; on S3 an object appears only
when its single PUT or multipart upload completes, so a killed writer leaves the previous object as it was (and an
incomplete upload, which a bucket lifecycle rule aborts: docs/deploy.md).

Locations are paths: `pathlib.Path` for a local lake (absolute), `PurePosixPath("bucket/prefix/...")` on S3 (what
pyarrow.fs names); ask the lake, not the path, whether one exists (`Lake.exists`) and what DuckDB calls it
(`Lake.uri`); a DuckDB connection reading an S3 lake gets its extension and credentials from `Lake.prepare`.

Names that become part of a path (vendors, assets, tables) must be plain lower-case identifiers, and
identifiers from an API go through `checked_identifier` before they reach a path or SQL.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path, PurePath, PurePosixPath
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

LAYERS = ("raw", "staging", "conformed")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
STALE_TMP_S = 3600  # a temporary file this old was left by a writer that was killed
RELIST_ATTEMPTS = 3  # listings of a raw day whose files were superseded while being read
T = TypeVar("T")

RAW_SCHEMA = pa.schema(
    [
        pa.field("partition_date", pa.date32(), nullable=False),
        pa.field("plant_id", pa.string()),
        pa.field("device_sn", pa.string()),
        pa.field("endpoint", pa.string(), nullable=False),
        pa.field("request_params", pa.string(), nullable=False),
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("http_status", pa.int32(), nullable=False),
        pa.field("api_code", pa.int64()),
        pa.field("api_msg", pa.string()),
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("body", pa.string(), nullable=False),
    ]
)


class UnsafeIdentifierError(ValueError):
    """An identifier from an API that cannot safely become part of a path or a SQL string."""


def checked_identifier(value: object, kind: str, vendor: str = "the vendor") -> str:
    """Return `value` as a string if it is a plain identifier (letters, digits, `_ . -`), else raise.

    Device serial numbers and plant ids come from the APIs; they must never smuggle a path separator,
    a quote or SQL into a path or a statement.
    """
    text = str(value)
    if not _IDENTIFIER.fullmatch(text) or text in {".", ".."}:
        raise UnsafeIdentifierError(
            f"{kind} {text!r} from the API is not a plain identifier (letters, digits, '_', '.', '-'); "
            f"it was not used. Report it to {vendor} or exclude the plant."
        )
    return text


def _names(layer: str, names: Sequence[str]) -> list[str]:
    if layer not in LAYERS or not names or not all(isinstance(n, str) and _NAME.fullmatch(n) for n in names):
        raise ValueError(f"not a lake location: layer={layer!r} names={list(names)!r}")
    return list(names)


class LakeConfigError(ValueError):
    """FLEET_LAKE_URL does not name a lake this pipeline can use."""


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PREFIX_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=\-]{0,127}$")


def s3_filesystem(env: Mapping[str, str] = os.environ) -> fs.S3FileSystem:
    """pyarrow's S3 filesystem from the usual AWS variables: credentials from AWS's own chain (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, an instance role), AWS_REGION, and AWS_ENDPOINT_URL(_S3) for an S3-compatible
    store (MinIO, Ceph, moto)."""
    options: dict[str, object] = {}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        if "://" not in endpoint:
            raise LakeConfigError(f"AWS_ENDPOINT_URL must be a URL (http://host:port), not {endpoint!r}")
        options["endpoint_override"] = endpoint.rstrip("/")
    return fs.S3FileSystem(**options)


class Lake:
    """The lake under `root`: a local folder, or with `filesystem` (pyarrow.fs) the path it names there."""

    def __init__(self, root: str | os.PathLike, filesystem: fs.FileSystem | None = None) -> None:
        if filesystem is None or isinstance(filesystem, fs.LocalFileSystem):
            self.fs: fs.FileSystem = fs.LocalFileSystem()
            self.root: PurePath = Path(root).resolve()
            self.local = True
        else:
            self.fs = filesystem
            self.root = PurePosixPath(str(root).strip("/"))
            self.local = False

    @classmethod
    def from_url(cls, url: str, env: Mapping[str, str] = os.environ) -> Lake:
        """The lake `FLEET_LAKE_URL` names: `s3://bucket/prefix`, or a local folder (a path or file:// URL)."""
        if url.startswith("s3://"):
            bucket, _, prefix = url.removeprefix("s3://").strip("/").partition("/")
            parts = [p for p in prefix.split("/") if p]
            if not _BUCKET.fullmatch(bucket) or not all(_PREFIX_PART.fullmatch(p) for p in parts):
                raise LakeConfigError(
                    f"FLEET_LAKE_URL={url!r}: expected s3://bucket/prefix (a bucket name, then folder names of "
                    "letters, digits, '_', '.', '=', '-')"
                )
            return cls("/".join([bucket, *parts]), s3_filesystem(env))
        if "://" in url and not url.startswith("file://"):
            raise LakeConfigError(
                f"FLEET_LAKE_URL={url.split('://')[0]}://...: only s3://bucket/prefix or a local folder is supported"
            )
        return cls(url.removeprefix("file://"))

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    @property
    def url(self) -> str:
        return str(self.root) if self.local else f"s3://{self.root}"

    # --- locations ----------------------------------------------------------------------------
    def table_dir(self, layer: str, *names: str) -> PurePath:
        """The folder holding every day of a table: e.g. ("raw", "saj", "raw_plants")."""
        return self.root.joinpath(layer, *_names(layer, names))

    def day_dir(self, layer: str, *names: str, day: date) -> PurePath:
        return self.table_dir(layer, *names) / f"date={day.isoformat()}"

    def day_file(self, layer: str, *names: str, day: date) -> PurePath:
        """The one file of a day of a staging or conformed table."""
        return self.day_dir(layer, *names, day=day) / "data.parquet"

    def snapshot_file(self, vendor: str, asset: str) -> PurePath:
        """A raw asset's latest complete fetch of what changes slowly (a fleet's plant and device details),
        kept beside its days so runs can land it again instead of asking the API every time."""
        return self.table_dir("raw", vendor, asset) / "snapshot.parquet"

    def conformed_file(self, table: str, vendor: str, day: date) -> PurePath:
        """A vendor's day of a conformed table (hive-style `vendor=` folders: one table, every vendor)."""
        table, vendor = _names("conformed", [table, vendor])
        return self.root / "conformed" / table / f"vendor={vendor}" / f"date={day.isoformat()}" / "data.parquet"

    def _vendor_dirs(self, table: str) -> list[PurePath]:
        root = self.root / "conformed" / _names("conformed", [table])[0]
        return [d for d in self._listing(root, fs.FileType.Directory) if d.name.startswith("vendor=")]

    def conformed_files(self, table: str, days: Iterable[date]) -> list[PurePath]:
        """Every vendor's files of a conformed table for `days`."""
        wanted = sorted({f"date={d.isoformat()}" for d in days})
        return sorted(self.existing(v / d / "data.parquet" for v in self._vendor_dirs(table) for d in wanted))

    def latest_conformed_files(self, table: str, day: date) -> list[PurePath]:
        """Each vendor's newest file of a conformed table on or before `day`."""
        last = f"date={day.isoformat()}"
        newest = []
        for vendor_dir in self._vendor_dirs(table):
            days = [d for d in self._listing(vendor_dir, fs.FileType.Directory) if d.name.startswith("date=")]
            present = self.existing(d / "data.parquet" for d in sorted(days, reverse=True) if d.name <= last)
            newest += present[:1]
        return newest

    def uri(self, path: PurePath) -> str:
        """How DuckDB (and an operator) names a file or folder of the lake."""
        return str(path) if self.local else f"s3://{path}"

    def uris(self, paths: Iterable[PurePath]) -> list[str]:
        return [self.uri(p) for p in paths]

    def prepare(self, conn) -> None:
        """Let the DuckDB connection `conn` read this lake: on S3, httpfs (from its wheel) and the AWS credentials
        as a temporary secret of the connection."""
        if not self.local:
            from pipelines.core import duckdb_ext, ducklake

            duckdb_ext.load(conn, duckdb_ext.S3_LAKE)
            conn.execute(ducklake.s3_secret_sql(name="fleet_lake"))

    # --- writing ------------------------------------------------------------------------------
    def write_file(self, path: PurePath, table: pa.Table) -> PurePath:
        """Write `table` to `path`, replacing it atomically (locally written beside, synced, renamed; on S3 one
        object, visible only once its upload completes)."""
        if not self.local:
            pq.write_table(table, str(path), filesystem=self.fs, compression="zstd")
            return path
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in path.parent.glob(".tmp-*"):
            if time.time() - leftover.stat().st_mtime > STALE_TMP_S:
                leftover.unlink(missing_ok=True)
        tmp = path.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def add_part(self, day_dir: PurePath, table: pa.Table, supersedes: bool) -> PurePath:
        """Add one landing attempt to a raw day folder; `supersedes`: it has every answer it asked for, so
        the day's earlier files are removed once it is written."""
        earlier = self.parts(day_dir)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.write_file(day_dir / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet", table)
        if supersedes:
            for old in earlier:
                self.delete(old)
        return path

    def delete(self, path: PurePath) -> None:
        """Remove a file (nothing when it is gone already)."""
        try:
            self.fs.delete_file(str(path))
        except FileNotFoundError:
            pass

    # --- reading ------------------------------------------------------------------------------
    def _listing(self, folder: PurePath, kind: fs.FileType) -> list[PurePath]:
        """The entries of `folder` of one kind, sorted by name ([] when it does not exist)."""
        infos = self.fs.get_file_info(fs.FileSelector(str(folder), allow_not_found=True))
        return sorted(folder / info.base_name for info in infos if info.type == kind)

    def parts(self, day_dir: PurePath) -> list[PurePath]:
        """A raw day's files, oldest first."""
        return [
            p
            for p in self._listing(day_dir, fs.FileType.File)
            if p.name.startswith("part-") and p.name.endswith(".parquet")
        ]

    def read(self, paths: Iterable[PurePath], columns: list[str] | None = None) -> pa.Table | None:
        """The rows of `paths` concatenated (None when there is none)."""
        tables = [pq.read_table(str(p), columns=columns, filesystem=self.fs, partitioning=None) for p in paths]
        return pa.concat_tables(tables, promote_options="default") if tables else None

    def read_raw(self, vendor: str, asset: str, day: date) -> pa.Table | None:
        return self.reading(lambda: self.raw_files(vendor, asset, [day]), self.read)

    def reading(self, list_files: Callable[[], list[PurePath]], read: Callable[[list[PurePath]], T]) -> T:
        """`read(list_files())`, listing again when a listed file vanished meanwhile. A raw day's earlier attempts
        are removed once a complete attempt supersedes them, so a reader that listed the day just before (another
        run of the same day) lists it again and reads the new attempt instead of failing."""
        for attempt in range(1, RELIST_ATTEMPTS + 1):
            files = list_files()
            try:
                return read(files)
            except Exception:
                if attempt == RELIST_ATTEMPTS or len(self.existing(files)) == len(files):
                    raise
        raise AssertionError("unreachable")

    def raw_files(self, vendor: str, asset: str, days: Iterable[date]) -> list[PurePath]:
        """Every file of the raw days that exist."""
        return [p for d in days for p in self.parts(self.day_dir("raw", vendor, asset, day=d))]

    def exists(self, path: PurePath) -> bool:
        return self.fs.get_file_info(str(path)).type == fs.FileType.File

    def existing(self, paths: Iterable[PurePath]) -> list[PurePath]:
        """Those of `paths` that are files (one request for all of them)."""
        paths = list(paths)
        if not paths:
            return []
        infos = self.fs.get_file_info([str(p) for p in paths])
        return [p for p, info in zip(paths, infos) if info.type == fs.FileType.File]

    def latest_day_file(self, layer: str, *names: str, day: date, lookback_days: int = 31) -> PurePath | None:
        """The file of `day`, or else of the latest earlier day within `lookback_days` (slow-moving data such
        as a fleet's plants)."""
        candidates = [
            self.day_file(layer, *names, day=date.fromordinal(day.toordinal() - n)) for n in range(lookback_days + 1)
        ]
        found = self.existing(candidates)
        return found[0] if found else None

    def metadata(self, path: PurePath) -> dict[str, str]:
        """A file's key-value metadata ({} when unreadable)."""
        try:
            schema = pq.read_schema(str(path), filesystem=self.fs)
            return {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
        except (OSError, ValueError):
            return {}


def raw_table(day: date, responses: Iterable[tuple[str | None, str | None, object]]) -> pa.Table:
    """Rows of the raw schema from (plant_id, device_sn, ApiResponse) triples, bodies kept verbatim."""
    columns: dict[str, list] = {name: [] for name in RAW_SCHEMA.names}
    for plant_id, device_sn, response in responses:
        columns["partition_date"].append(day)
        columns["plant_id"].append(plant_id)
        columns["device_sn"].append(device_sn)
        columns["endpoint"].append(response.endpoint)
        columns["request_params"].append(json.dumps(response.params, sort_keys=True, ensure_ascii=False))
        columns["fetched_at"].append(response.fetched_at)
        columns["http_status"].append(response.http_status)
        columns["api_code"].append(response.code)
        columns["api_msg"].append(response.msg)
        columns["attempts"].append(response.attempts)
        columns["body"].append(response.body_text)
    return pa.Table.from_pydict(columns, schema=RAW_SCHEMA)
