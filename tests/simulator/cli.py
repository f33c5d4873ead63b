"""The simulator's command line as a user runs it: `python -m simulator <vendor> ...` in a process of its own,
on a free port, stopped with SIGTERM (as a service manager stops it) however the test ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(*args: str) -> Iterator[subprocess.Popen]:
    """The running CLI (`args` after `python -m simulator`, the port added), its banner to read on stdout."""
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
