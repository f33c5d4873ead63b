"""The Parquet lake: one file per asset and day, replaced atomically.

`<root>/lake/<layer>/<asset>/date=YYYY-MM-DD/data.parquet`. A write goes to a hidden temporary file in
the same folder and is renamed over the old file, so a crash leaves the previous version whole and a
re-materialisation replaces the day instead of adding to it.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LAYERS = ("raw", "staging")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")

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
    """An identifier from the API that cannot safely become part of a path or a SQL string."""


def checked_identifier(value: object, kind: str) -> str:
    """Return `value` as a string if it is a plain identifier (letters, digits, `_ . -`), else raise.

    Device serial numbers and plant ids come from the API; they must never smuggle a path separator,
    a quote or SQL into a path or a statement.
    """
    text = str(value)
    if not _IDENTIFIER.fullmatch(text) or text in {".", ".."}:
        raise UnsafeIdentifierError(
            f"{kind} {text!r} from the API is not a plain identifier (letters, digits, '_', '.', '-'); "
            "it was not used. Report it to SAJ or exclude the plant."
        )
    return text


def partition_path(root: Path, layer: str, asset: str, day: date) -> Path:
    if layer not in LAYERS or not _NAME.fullmatch(asset):
        raise ValueError(f"not a lake location: layer={layer!r} asset={asset!r}")
    return Path(root) / "lake" / layer / asset / f"date={day.isoformat()}" / "data.parquet"


def asset_glob(root: Path, layer: str, asset: str) -> str:
    """A glob over every day of an asset, for DuckDB's read_parquet."""
    return str(partition_path(root, layer, asset, date(2000, 1, 1)).parent.parent / "date=*" / "data.parquet")


STALE_TMP_S = 3600  # a temporary file this old was left by a writer that was killed


def write_partition(root: Path, layer: str, asset: str, day: date, table: pa.Table) -> Path:
    final = partition_path(root, layer, asset, day)
    final.parent.mkdir(parents=True, exist_ok=True)
    for leftover in final.parent.glob(".data-*.tmp"):
        if time.time() - leftover.stat().st_mtime > STALE_TMP_S:
            leftover.unlink(missing_ok=True)
    tmp = final.parent / f".data-{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def read_partition(root: Path, layer: str, asset: str, day: date) -> pa.Table | None:
    path = partition_path(root, layer, asset, day)
    return pq.read_table(path) if path.exists() else None


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
