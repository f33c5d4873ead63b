"""Polling the SolaX stand-in as the pipeline does, on its movable clock: days of rounds in seconds.

    walker = Walker(server, data_dir)                  # the sites file the stand-in publishes, 5-minute rounds
    walker.walk(start, end, step_s=300)                # a round every 5 minutes of the stand-in's clock
    walker.round(at)                                   # one round at an instant

Each round is `pipelines.sources.solax.poller.poll_round` + `land_round`, exactly what the `solax_poll` job
runs, with the client paced on the stand-in's clock (its minute and day windows see the calls as spread as in
real time). `paced=False` lifts the client's pacing (the stand-in's limits stay as configured): the energy
tests poll few enough dongles per round not to need it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pipelines.core.lake import Lake
from pipelines.sources.solax.client import SolaxClient
from pipelines.sources.solax.poller import Round, land_round, poll_round
from pipelines.sources.solax.resources import SolaxApiResource
from simulator.core.clock import MovableClock


def sites_csv(server, wifi_sns=None) -> str:
    """The stand-in's sites file, or only the rows of `wifi_sns`."""
    lines = server.sites_csv().splitlines()
    keep = [lines[0], *(line for line in lines[1:] if wifi_sns is None or line.split(",")[0] in wifi_sns)]
    return "\n".join(keep) + "\n"


class Walker:
    def __init__(
        self,
        server,
        data_dir: Path,
        wifi_sns=None,
        paced: bool = False,
        calls_per_minute: int = 10,
        calls_per_day: int = 10_000,
        poll_minutes: int = 5,
    ):
        self.server = server
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.sites_path = self.data_dir / "sites.csv"
        self.sites_path.write_text(sites_csv(server, wifi_sns))
        self.resource = SolaxApiResource(
            cache_dir=str(self.data_dir / ".cache" / "solax"),
            token_id=server.token,
            base_url=server.base_url,
            sites_file=str(self.sites_path),
            calls_per_minute=calls_per_minute,
            calls_per_day=calls_per_day,
            poll_minutes=poll_minutes,
        )
        self.clock = MovableClock(server.admin_url)
        settings = self.resource.settings()
        self.client = SolaxClient(
            server.token,
            server.base_url,
            self.resource.cache_dir,
            settings.calls_per_minute,
            rate_limit=paced,
            clock=self.clock.time,
            sleep=self.clock.sleep,
        )
        self.ledger = self.resource.ledger(self.client)
        self.sites = self.resource.sites()
        self.plan = self.resource.plan(self.sites)
        self.lake = Lake(self.data_dir / "lake")
        self.rounds: list[Round] = []

    def round(self, at: datetime | None = None) -> Round:
        if at is not None:
            self.clock.set(at)
        rnd = poll_round(self.client, self.sites, self.ledger, self.plan)
        land_round(self.lake, rnd, {"fleet.run_id": "walk", "fleet.root_run_id": "walk", "fleet.root_backfill_id": ""})
        self.rounds.append(rnd)
        return rnd

    def walk(self, start: datetime, end: datetime, step_s: float = 300) -> list[Round]:
        """A round at start, start + step, ... before end."""
        out, t = [], start
        while t < end:
            out.append(self.round(t))
            t += timedelta(seconds=step_s)
        return out

    def close(self) -> None:
        self.client.close()
        self.clock.close()


def thin(src: Path, dst: Path, keep) -> Path:
    """A copy of `src`'s raw SolaX lake with only the rounds whose instant passes `keep(datetime)`: exactly what a
    poller that made only those rounds would have landed (the stand-in's answers depend on the instant alone)."""
    import shutil

    import pyarrow.parquet as pq

    root = Path(src) / "lake" / "raw" / "solax"
    for path in sorted(root.rglob("part-*.parquet")):
        fetched = pq.read_table(path, columns=["fetched_at"]).column("fetched_at").to_pylist()
        if keep(min(fetched)):
            out = Path(dst) / path.relative_to(src)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, out)
    return Path(dst)
