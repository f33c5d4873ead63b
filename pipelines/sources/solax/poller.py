"""One polling round: ask every dongle of the sites file once, paced, and land the answers verbatim.

What a round guarantees:

- every dongle is asked at most once per round (a minute-limit refusal is asked again once, after waiting a
  minute on the client's clock), in the sites file's order, paced under the token's minute limit;
- no call while the shared ledger says the token is locked out or its day is used up, and none past the
  day's budget: a round that meets a lock-out (code 1) or an exhausted day (code 3) stops at once and blocks
  every process for the hour SolaX announces (or an hour for the day) — waited out, never hammered; two
  minute-limit refusals in a row end the round too (the third would lock the token out);
- every answer is landed as received (the token scrubbed), with the sites file the round used, append-only:
  one file per round and plant-local day (`Lake.add_part(..., supersedes=False)`), the day of each dongle's
  plant at the poll's instant, never rewriting an earlier round;
- a dongle that repeats its last upload (offline) is landed too (the evidence) but counted as a repeat: the
  models keep one sample per distinct upload.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines.core.errors import ApiCredentialsError, ApiError, ApiPermissionError, logger
from pipelines.core.lake import Lake, raw_table
from pipelines.core.transport import PERMISSION, ApiResponse, parse_body
from pipelines.sources.solax.client import (
    HINTS,
    NO_DATA,
    DayLimitError,
    LockedOutError,
    MinuteLimitError,
    SolaxClient,
    classify,
    envelope,
)
from pipelines.sources.solax.quota import CallLedger, Plan
from pipelines.sources.solax.settings import LOCKOUT_S
from pipelines.sources.solax.sites import Site, Sites

log = logger("pipelines.sources.solax.poller")

VENDOR = "solax"
RAW_ASSET = "raw_realtime"
SITES_ENDPOINT = "sites.csv"  # the rows that carry the sites file a round used (http_status 0: not an answer)
MINUTE_S = 61.0  # a minute window, and a second for the clocks to disagree
DAY_PAUSE_S = 3600.0


@dataclass
class Round:
    """What one round asked and got."""

    started_at: datetime
    plan: Plan
    sites: Sites
    answers: list[tuple[Site, ApiResponse]] = field(default_factory=list)
    failures: list[tuple[Site, ApiError]] = field(default_factory=list)
    refused: list[tuple[Site, ApiError]] = field(default_factory=list)  # the token may not read the dongle
    not_asked: list[Site] = field(default_factory=list)
    stopped: str | None = None  # why the round ended early (or never started)
    credentials: ApiCredentialsError | None = None
    calls: int = 0
    new_uploads: int = 0
    repeats: int = 0  # answers repeating the upload the previous round saw: the dongle did not upload since
    no_data: list[Site] = field(default_factory=list)  # answered "no data yet" (code 2002)

    @property
    def asked(self) -> int:
        return len(self.answers) + len(self.failures) + len(self.refused)


def _upload_key(response: ApiResponse) -> str | None:
    result = response.payload.get("result") if isinstance(response.payload, dict) else None
    if not isinstance(result, dict):
        return None
    return str(result.get("utcDateTime") or result.get("uploadTime") or "") or None


def poll_round(client: SolaxClient, sites: Sites, ledger: CallLedger, plan: Plan) -> Round:
    """Ask every dongle once (see the module docstring). Never raises for an answer: what went wrong is in
    the round (a refused token in `credentials`, which the caller reports after landing what came back)."""
    now = client.clock()
    rnd = Round(started_at=client.now(), plan=plan, sites=sites)
    ledger_state = ledger.state(now)
    if ledger_state.blocked is not None:
        until, why = ledger_state.blocked
        rnd.stopped = f"no call until {utc_text(until)}: {why}"
        rnd.not_asked = list(sites)
        return rnd
    seen: dict[str, str] = {}
    for i, site in enumerate(sites):
        if ledger_state.calls_24h + rnd.calls + 1 > plan.per_day:
            rnd.stopped = f"the day's {plan.per_day} calls are used ({ledger_state.calls_24h + rnd.calls} in 24 h)"
            rnd.not_asked = list(sites)[i:]
            break
        response = _ask(client, ledger, rnd, site)
        if response is not None:
            if response.code == NO_DATA:
                rnd.no_data.append(site)
            key = _upload_key(response)
            if key is not None:
                seen[site.wifi_sn] = key
                if ledger_state.last_uploads.get(site.wifi_sn) == key:
                    rnd.repeats += 1
                else:
                    rnd.new_uploads += 1
        if rnd.stopped:
            rnd.not_asked = list(sites)[i + 1 :]
            break
    ledger.record_round(now, client.clock(), rnd.calls, seen)
    log.info(
        "SolaX round: %d of %d dongles answered, %d new uploads, %d repeats, %d failed, %d refused, %d not asked%s",
        len(rnd.answers),
        len(sites),
        rnd.new_uploads,
        rnd.repeats,
        len(rnd.failures),
        len(rnd.refused),
        len(rnd.not_asked),
        f"; stopped: {rnd.stopped}" if rnd.stopped else "",
    )
    return rnd


def _ask(client: SolaxClient, ledger: CallLedger, rnd: Round, site: Site) -> ApiResponse | None:
    """One dongle's call, its outcome recorded in the round (and `rnd.stopped` set when the round must end).
    A minute-limit refusal waits a minute on the client's clock and asks once more."""
    for attempt in (1, 2):
        try:
            response = client.realtime(site.wifi_sn)
        except MinuteLimitError as exc:
            _count(rnd, exc)
            key = client.limit_key(exc.endpoint)
            client.limiter.on_rejected(key)
            if attempt == 2:  # a second refusal in a row: a third would lock the token out
                until = client.clock() + MINUTE_S
                ledger.block(until, f"SolaX refused two calls in a row for its minute limit ({site.wifi_sn})")
                rnd.failures.append((site, exc))
                rnd.stopped = f"refused twice in a row: {exc.hint} No call until {utc_text(until)}."
                return None
            client.limiter.pause(key, MINUTE_S)
            client.wait(MINUTE_S)
        except (LockedOutError, DayLimitError) as exc:
            _count(rnd, exc)
            pause = LOCKOUT_S + 60 if isinstance(exc, LockedOutError) else DAY_PAUSE_S
            until = client.clock() + pause
            ledger.block(until, f"SolaX answered code {exc.code} ({exc.msg}) to {site.wifi_sn}")
            rnd.failures.append((site, exc))
            rnd.stopped = f"{exc.hint} No call until {utc_text(until)}."
            return None
        except ApiCredentialsError as exc:
            _count(rnd, exc)
            rnd.failures.append((site, exc))
            rnd.credentials = exc
            rnd.stopped = str(exc)
            return None
        except ApiPermissionError as exc:
            _count(rnd, exc)
            rnd.refused.append((site, exc))
            return None
        except ApiError as exc:
            _count(rnd, exc)
            rnd.failures.append((site, exc))
            return None
        else:
            _count(rnd, response)
            rnd.answers.append((site, response))
            return response
    return None


def _count(rnd: Round, outcome: object) -> None:
    response = outcome if isinstance(outcome, ApiResponse) else getattr(outcome, "response", None)
    rnd.calls += getattr(outcome, "attempts", None) or (response.attempts if response is not None else 1)


def utc_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def sites_response(sites: Sites, at: datetime) -> ApiResponse:
    """The sites file a round used, as a raw row: the file verbatim and its rows as read."""
    body = {
        "file": Path(sites.path).name,
        "sha256": sites.sha256,
        "csv": sites.text,
        "sites": [
            {
                "wifi_sn": s.wifi_sn,
                "plant_id": s.plant_id,
                "plant_name": s.plant_name,
                "time_zone": s.time_zone,
                "system_power_kwp": s.system_power_kwp,
                "line": s.line,
            }
            for s in sites
        ],
    }
    return ApiResponse(
        endpoint=SITES_ENDPOINT,
        params={"file": Path(sites.path).name, "sha256": sites.sha256},
        http_status=0,
        code=None,
        msg=None,
        body_text=json.dumps(body, ensure_ascii=False),
        payload=body,
        fetched_at=at,
    )


def land_round(lake: Lake, rnd: Round, lineage: dict[str, str]) -> dict[date, dict]:
    """Land a round's answers (and failed calls' answers) in the plant-local day of each dongle at its poll
    instant, one new file per day touched, with the sites file; {day: what was landed}."""
    rows: dict[date, list] = defaultdict(list)
    for site, outcome in [*rnd.answers, *rnd.failures, *rnd.refused]:
        response = outcome if isinstance(outcome, ApiResponse) else outcome.response
        if response is None:  # a network failure: nothing came back, the failure is in the round's metadata
            continue
        rows[response.fetched_at.astimezone(site.zone).date()].append((site.plant_id, site.wifi_sn, response))
    landed: dict[date, dict] = {}
    for day, day_rows in sorted(rows.items()):
        table = raw_table(day, [(None, None, sites_response(rnd.sites, rnd.started_at)), *day_rows])
        receipt = {**lineage, "fleet.complete": "0" if rnd.failures or rnd.stopped else "1"}
        table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in receipt.items()})
        path = lake.add_part(lake.day_dir("raw", VENDOR, RAW_ASSET, day=day), table, supersedes=False)
        landed[day] = {
            "path": path,
            "responses": len(day_rows),
            "dongles": len({sn for _, sn, _ in day_rows}),
            "plants": len({p for p, _, _ in day_rows}),
        }
    return landed


def day_summary(lake: Lake, day: date) -> dict:
    """What the rounds landed for `day`: files, answers, dongles, and the dongles SolaX refused every time (the
    token may not read them)."""
    parts = lake.parts(lake.day_dir("raw", VENDOR, RAW_ASSET, day=day))
    table = lake.read(parts)
    rows = [r for r in table.to_pylist() if r["endpoint"] != SITES_ENDPOINT] if table is not None else []
    kinds_by_dongle: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        payload = parse_body(row["body"])
        code, _ = envelope(payload)
        kinds_by_dongle[row["device_sn"]].add(classify(payload, code) if row["http_status"] == 200 else "http")
    refused = sorted(sn for sn, kinds in kinds_by_dongle.items() if kinds == {PERMISSION})
    return {
        "rounds": len(parts),
        "answers": len(rows),
        "dongles": len(kinds_by_dongle),
        "refused": [f"dongle {sn}: {HINTS[PERMISSION]}" for sn in refused],
    }
