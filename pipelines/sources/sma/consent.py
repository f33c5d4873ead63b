"""SMA's owner consent (the "custom flow"): ask a plant owner, and follow the requests made.

    python3 run.py sma-consent OWNER_EMAIL    ask SMA to e-mail OWNER_EMAIL a permission request; show its state
    python3 run.py sma-consent --status       the state of every request made from this deployment, pending first

The Monitoring API shows a plant only once its owner accepted a permission request: until then `/v1/plants` is
simply empty, not an error. A request (`bc-authorize` with the owner's e-mail as login hint) makes SMA e-mail
the owner a link to the consent screen in Sunny Portal powered by ennexOS; the owner accepts or declines there.
An e-mail that owns no plant gets no request, and SMA's answer says why (shown as is). Asking an owner who
already accepted changes nothing; asking again after a decline, an expiry or a revocation sends a new request;
an owner who adds plants later must be asked again for them.

Every request made is remembered in `$FLEET_DATA_DIR/.cache/sma/consent-requests.json` (owners' e-mail
addresses: readable by this account only), so `--status` can ask SMA about each one. The client credentials come
from the environment (`SMA_CLIENT_ID`, `SMA_CLIENT_SECRET`, `SMA_CONSENT_URL`, ...) and share the pipeline's
token; neither is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.core.errors import ApiParameterError, FleetError
from pipelines.core.resources import LakeResource
from pipelines.core.settings import FleetSettings
from pipelines.sources.sma.client import SmaClient
from pipelines.sources.sma.settings import SmaSettings

HOW_TO_ASK = (
    "ask each plant owner with `python3 run.py sma-consent OWNER_EMAIL` (SMA e-mails them a permission request; "
    "their plants appear once they accept it in Sunny Portal); `python3 run.py sma-consent --status` shows the "
    "requests made"
)
# SMA's states, as clients compare them, and what they mean for the operator
MEANING = {
    "Pending": "pending: SMA e-mailed the owner a permission request; their plants appear once they accept it",
    "Accepted": "accepted: the owner's plants are visible to these client credentials",
    "Rejected": "declined by the owner: ask again only after talking to them",
    "Expired": "expired unanswered: ask again",
    "Revoked": "revoked by the owner in Sunny Portal: ask again only after talking to them",
}
UNKNOWN = "unknown to SMA (no request found)"


def requests_path(data_dir: str | os.PathLike) -> Path:
    return LakeResource(data_dir=str(data_dir)).cache_dir("sma") / "consent-requests.json"


@dataclass
class Requests:
    """The consent requests made from this deployment: e-mail -> {requested_at, state, checked_at}."""

    path: Path

    def load(self) -> dict[str, dict]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}

    def save(self, records: dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def record(self, email: str, state: str | None, requested: bool = False) -> None:
        records = self.load()
        now = _now()
        entry = records.setdefault(email, {"requested_at": now})
        if requested:
            entry["requested_at"] = now
        entry.update(state=state, checked_at=now)
        self.save(records)

    def pending(self) -> list[str]:
        """The e-mails whose last known state is Pending (no call to SMA)."""
        return sorted(email for email, entry in self.load().items() if entry.get("state") == "Pending")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def meaning(state: str | None) -> str:
    return MEANING.get(state or "", UNKNOWN if state is None else f"{state} (a state this pipeline does not know)")


def operator_client(data_dir: str | os.PathLike) -> SmaClient:
    """A client from the environment (SMA_*), sharing the deployment's token under `data_dir`."""
    settings = SmaSettings.from_env()
    return SmaClient(
        settings.client_id,
        settings.client_secret,
        api_url=settings.api_url,
        auth_url=settings.auth_url,
        consent_url=settings.consent_url,
        cache_dir=LakeResource(data_dir=str(data_dir)).cache_dir("sma"),
    )


def ask(client: SmaClient, requests: Requests, email: str) -> tuple[str | None, str]:
    """Ask SMA to send `email` a permission request: (state, what it means). A login hint that owns no plant gets
    no request: (None, SMA's reason)."""
    try:
        response = client.request_consent(email)
    except ApiParameterError as exc:
        return None, f"SMA sent no request: {exc.msg or exc}"
    state = (response.payload or {}).get("state") if isinstance(response.payload, dict) else None
    requests.record(email, state, requested=True)
    return state, meaning(state)


def states(client: SmaClient, requests: Requests) -> list[tuple[str, str | None, str]]:
    """(e-mail, state, requested at) of every request made, as SMA says now; pending first."""
    out = []
    for email, entry in requests.load().items():
        try:
            payload = client.consent_state(email).payload
            state = payload.get("state") if isinstance(payload, dict) else None
        except ApiParameterError:  # 404: SMA knows no request for this e-mail
            state = None
        requests.record(email, state)
        out.append((email, state, entry.get("requested_at", "")))
    return sorted(out, key=lambda r: (r[1] != "Pending", r[0]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 run.py sma-consent", description=__doc__.splitlines()[0])
    parser.add_argument("owner_email", nargs="?", help="the plant owner's e-mail address in Sunny Portal")
    parser.add_argument("--status", action="store_true", help="the state of every request made from here")
    args = parser.parse_args(argv)
    if bool(args.owner_email) == args.status:
        parser.error("give an owner's e-mail, or --status")
    data_dir = FleetSettings.from_env().data_dir
    requests = Requests(requests_path(data_dir))
    try:
        with operator_client(data_dir) as client:
            if args.status:
                rows = states(client, requests)
                if not rows:
                    print(f"No consent request was made from this deployment ({requests.path}); {HOW_TO_ASK}.")
                    return 0
                for email, state, requested_at in rows:
                    print(f"{email:<40} asked {requested_at:<26} {meaning(state)}")
                pending = sum(1 for _, state, _ in rows if state == "Pending")
                print(f"{pending} pending of {len(rows)} request(s).")
                return 0
            state, what = ask(client, requests, args.owner_email.strip())
            print(f"{args.owner_email.strip()}: {what}")
            return 0 if state is not None else 1
    except FleetError as exc:  # names the variables to set or what SMA said; never a secret
        print(f"sma-consent: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
