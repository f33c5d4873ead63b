"""The sites file: which SolaX dongles to poll, and the plant each belongs to (`SOLAX_SITES_FILE`).

The User API knows no plants, no time zones and no capacities, so the user keeps them in a CSV with the
header `wifi_sn,plant_id,plant_name,time_zone,system_power_kwp`: one row per dongle registration number (a
plant may have several). Loading it guarantees that every row can be used as is: serials and plant ids are
plain identifiers (they become part of the lake and the warehouse), time zones are IANA names, capacities
positive numbers, no registration number appears twice, and the rows of one plant agree on its name, zone
and capacity. Anything else refuses the whole file, naming each line and what is wrong with it, so a typo
never polls a plant in the wrong time zone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipelines.core.errors import ConfigurationError
from pipelines.core.lake import UnsafeIdentifierError, checked_identifier

COLUMNS = ("wifi_sn", "plant_id", "plant_name", "time_zone", "system_power_kwp")


class SitesFileError(ConfigurationError):
    """The sites file cannot be used; the message lists every problem by line."""


@dataclass(frozen=True)
class Site:
    wifi_sn: str
    plant_id: str
    plant_name: str | None
    time_zone: str
    system_power_kwp: float | None
    line: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True)
class Sites:
    """The dongles of a sites file, in file order, and the file as read (landed with every round)."""

    path: str
    text: str
    sites: tuple[Site, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def __len__(self) -> int:
        return len(self.sites)

    def __iter__(self):
        return iter(self.sites)


def load_sites(path: str | None) -> Sites:
    """The validated sites of `path` (SOLAX_SITES_FILE); raises SitesFileError naming every problem."""
    if not path:
        raise SitesFileError(
            "SOLAX_SITES_FILE is not set: point it at the CSV of your dongles "
            f"(header {','.join(COLUMNS)}; see README, 'SolaX Cloud')."
        )
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SitesFileError(f"SOLAX_SITES_FILE={path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not part of the header
    except UnicodeDecodeError as exc:
        raise SitesFileError(
            f"SOLAX_SITES_FILE={path}: not UTF-8 text (byte {exc.start}); save it as CSV UTF-8."
        ) from None
    return parse_sites(text, path)


def parse_sites(text: str, path: str = "<sites>") -> Sites:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    problems: list[str] = []
    sites: list[Site] = []
    seen: dict[str, int] = {}
    plants: dict[str, Site] = {}
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise SitesFileError(
                    f"SOLAX_SITES_FILE={path}: line {line}: the header lacks {', '.join(missing)} "
                    f"(expected {','.join(COLUMNS)})."
                )
            continue
        if len(row) > len(header):
            problems.append(f"line {line}: {len(row)} fields for {len(header)} columns (quote a name with commas)")
            continue
        cells = {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(header)}
        site, row_problems = _site(cells, line)
        if row_problems:
            problems += row_problems
            continue
        if site.wifi_sn in seen:
            problems.append(
                f"line {line}: wifi_sn {site.wifi_sn} is already on line {seen[site.wifi_sn]} "
                "(one row per registration number)"
            )
            continue
        seen[site.wifi_sn] = line
        first = plants.setdefault(site.plant_id, site)
        for field, what in (("time_zone", "time zone"), ("plant_name", "name"), ("system_power_kwp", "capacity")):
            mine, theirs = getattr(site, field), getattr(first, field)
            if mine is not None and theirs is not None and mine != theirs:
                problems.append(
                    f"line {line}: plant {site.plant_id} has {what} {mine!r} here but {theirs!r} on line "
                    f"{first.line} (the rows of one plant must agree)"
                )
        sites.append(site)
    if header is None:
        raise SitesFileError(f"SOLAX_SITES_FILE={path}: empty; expected the header {','.join(COLUMNS)}.")
    if problems:
        listing = "; ".join(problems[:20]) + (f"; and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise SitesFileError(f"SOLAX_SITES_FILE={path}: {len(problems)} problem(s), nothing polled: {listing}.")
    if not sites:
        raise SitesFileError(f"SOLAX_SITES_FILE={path}: no dongle listed (one row per wifi_sn under the header).")
    return Sites(path=path, text=text, sites=tuple(sites))


def _site(cells: dict[str, str], line: int) -> tuple[Site | None, list[str]]:
    problems = []
    ids = {}
    for field, what in (("wifi_sn", "wifi_sn"), ("plant_id", "plant_id")):
        try:
            ids[field] = checked_identifier(cells[field], what, "the sites file")
        except UnsafeIdentifierError:
            shown = cells[field] or "(empty)"
            problems.append(f"line {line}: {what} {shown!r} is not a plain identifier (letters, digits, '_', '.', '-')")
    zone = cells["time_zone"]
    try:
        if not zone:
            raise ZoneInfoNotFoundError
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"line {line}: time zone {zone or '(empty)'!r} is not an IANA time zone (e.g. Europe/Berlin, "
            "Australia/Sydney)"
        )
    kwp = None
    if cells["system_power_kwp"]:
        try:
            kwp = float(cells["system_power_kwp"])
        except ValueError:
            kwp = math.nan
        if not (math.isfinite(kwp) and kwp > 0):
            problems.append(
                f"line {line}: system_power_kwp {cells['system_power_kwp']!r} is not a positive number of kWp "
                "(or leave it empty)"
            )
    if problems:
        return None, problems
    return (
        Site(
            wifi_sn=ids["wifi_sn"],
            plant_id=ids["plant_id"],
            plant_name=cells["plant_name"] or None,
            time_zone=zone,
            system_power_kwp=kwp,
            line=line,
        ),
        [],
    )
