"""The Parquet lake: every vendor's raw responses, staging and conformed tables, one folder per day.

Layout under the lake's root (`$FLEET_DATA_DIR/lake` by default):

    raw/<vendor>/<asset>/date=YYYY-MM-DD/part-<landed at>-<id>.parquet   one file per landing attempt
    staging/<vendor>/<table>/date=YYYY-MM-DD/data.parquet                replaced whole
    conformed/<table>/vendor=<vendor>/date=YYYY-MM-DD/data.parquet       replaced whole

The raw layer is the system of record and only ever grows: each landing attempt is a file of its own. An
attempt that got every answer it asked for supersedes the day's earlier files (they are removed once it is
written); an attempt with failures is kept beside them, so re-fetching a day during an outage never leaves
the lake with less than it held (staging takes the newest answer per request over all of a day's files).
Every write goes to a hidden temporary file in the same folder and is renamed into place, so a crash leaves
the previous version whole.

Names that become part of a path (vendors, assets, tables) must be plain lower-case identifiers, and
identifiers from an API go through `checked_identifier` before they reach a path or SQL.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LAYERS = ("raw", "staging", "conformed")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
STALE_TMP_S = 3600  # a temporary file this old was left by a writer that was killed

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


class Lake:
    """The lake under `root` (a local folder)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    # --- locations ----------------------------------------------------------------------------
    def table_dir(self, layer: str, *names: str) -> Path:
        """The folder holding every day of a table: e.g. ("raw", "saj", "raw_plants")."""
        return self.root.joinpath(layer, *_names(layer, names))

    def day_dir(self, layer: str, *names: str, day: date) -> Path:
        return self.table_dir(layer, *names) / f"date={day.isoformat()}"

    def day_file(self, layer: str, *names: str, day: date) -> Path:
        """The one file of a day of a staging or conformed table."""
        return self.day_dir(layer, *names, day=day) / "data.parquet"

    def snapshot_file(self, vendor: str, asset: str) -> Path:
        """A raw asset's latest complete fetch of what changes slowly (a fleet's plant and device details),
        kept beside its days so runs can land it again instead of asking the API every time."""
        return self.table_dir("raw", vendor, asset) / "snapshot.parquet"

    def conformed_file(self, table: str, vendor: str, day: date) -> Path:
        """A vendor's day of a conformed table (hive-style `vendor=` folders: one table, every vendor)."""
        table, vendor = _names("conformed", [table, vendor])
        return self.root / "conformed" / table / f"vendor={vendor}" / f"date={day.isoformat()}" / "data.parquet"

    def conformed_files(self, table: str, days: Iterable[date]) -> list[Path]:
        """Every vendor's files of a conformed table for `days`."""
        wanted = {f"date={d.isoformat()}" for d in days}
        root = self.root / "conformed" / _names("conformed", [table])[0]
        return sorted(p for p in root.glob("vendor=*/date=*/data.parquet") if p.parent.name in wanted)

    def latest_conformed_files(self, table: str, day: date) -> list[Path]:
        """Each vendor's newest file of a conformed table on or before `day`."""
        last = f"date={day.isoformat()}"
        root = self.root / "conformed" / _names("conformed", [table])[0]
        newest = []
        for vendor_dir in sorted(root.glob("vendor=*")):
            days = sorted(p for p in vendor_dir.glob("date=*/data.parquet") if p.parent.name <= last)
            newest += days[-1:]
        return newest

    @staticmethod
    def uri(path: Path) -> str:
        """How DuckDB names a file of the lake."""
        return str(path)

    # --- writing ------------------------------------------------------------------------------
    def write_file(self, path: Path, table: pa.Table) -> Path:
        """Write `table` to `path`, replacing it atomically (written beside, synced, renamed)."""
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

    def add_part(self, day_dir: Path, table: pa.Table, supersedes: bool) -> Path:
        """Add one landing attempt to a raw day folder; `supersedes`: it has every answer it asked for, so
        the day's earlier files are removed once it is written."""
        earlier = self.parts(day_dir)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        path = self.write_file(day_dir / f"part-{stamp}-{uuid.uuid4().hex[:8]}.parquet", table)
        if supersedes:
            for old in earlier:
                old.unlink(missing_ok=True)
        return path

    # --- reading ------------------------------------------------------------------------------
    @staticmethod
    def parts(day_dir: Path) -> list[Path]:
        """A raw day's files, oldest first."""
        return sorted(day_dir.glob("part-*.parquet")) if day_dir.is_dir() else []

    def read(self, paths: Iterable[Path]) -> pa.Table | None:
        """The rows of `paths` concatenated (None when there is none)."""
        tables = [pq.read_table(p) for p in paths]
        return pa.concat_tables(tables, promote_options="default") if tables else None

    def read_raw(self, vendor: str, asset: str, day: date) -> pa.Table | None:
        return self.read(self.parts(self.day_dir("raw", vendor, asset, day=day)))

    def raw_files(self, vendor: str, asset: str, days: Iterable[date]) -> list[Path]:
        """Every file of the raw days that exist."""
        return [p for d in days for p in self.parts(self.day_dir("raw", vendor, asset, day=d))]

    @staticmethod
    def existing(paths: Iterable[Path]) -> list[Path]:
        return [p for p in paths if p.exists()]

    def latest_day_file(self, layer: str, *names: str, day: date, lookback_days: int = 31) -> Path | None:
        """The file of `day`, or else of the latest earlier day within `lookback_days` (slow-moving data such
        as a fleet's plants)."""
        for n in range(lookback_days + 1):
            path = self.day_file(layer, *names, day=date.fromordinal(day.toordinal() - n))
            if path.exists():
                return path
        return None

    @staticmethod
    def metadata(path: Path) -> dict[str, str]:
        """A file's key-value metadata ({} when unreadable)."""
        try:
            return {k.decode(): v.decode() for k, v in (pq.read_schema(path).metadata or {}).items()}
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
