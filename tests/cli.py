"""The project's commands as a user runs them, each in a process of its own started from the project root (the
README's way in): the simulator (`python -m simulator`), a Dagster materialisation (`dagster asset
materialize`) and the `duckdb` shell the environment installs (duckdb-cli, beside the interpreter). For the tests
and the benchmarks, which time them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUCKDB_SHELL = Path(sys.executable).with_name("duckdb")


@contextmanager
def serving(*args: str) -> Iterator[subprocess.Popen]:
    """`python -m simulator` with `args` (the vendor first, if any) on a free port, its banner to read on stdout;
    stopped with SIGTERM, as a service manager stops it, however the test ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", *args, "--port", "0"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def materialize(
    select: str, *partitions: str, env: Mapping[str, str], timeout: float | None = None
) -> subprocess.CompletedProcess:
    """`dagster asset materialize` of the project's definitions: the assets `select` picks ("*", "group:saj_raw")
    for `partitions` ("--partition", day, or "--partition-range", "first...last"), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "pipelines.definitions", "--select", select]
        + list(partitions),
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def duckdb_csv(*args: str) -> str:
    """What the duckdb shell prints, as CSV without a header, for `args` (options, database, `-c` statements);
    the test fails with the shell's stderr if it fails."""
    done = subprocess.run([str(DUCKDB_SHELL), "-csv", "-noheader", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
