#!/usr/bin/env python3
"""The project's front door: creates its own environment, then runs what you ask.

    python3 run.py demo     start the SAJ simulator, run the pipeline against it, print the result
    python3 run.py test     check the code's lint and format, then run the test suite (what CI runs)
    python3 run.py ui       start the Dagster UI against the simulator
    python3 run.py sim ...  run the simulator alone (arguments go to `python -m simulator`)

Only the standard library is used here: on a fresh machine nothing else is installed yet.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".installed-lock-sha256"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment() -> Path:
    """Create .venv and install the locked dependencies, unless the lock is already installed."""
    wanted = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and venv_python().exists():
        return venv_python()
    print(f"Setting up the environment in {VENV} (first run only) ...", flush=True)
    venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    py = str(venv_python())
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(wanted)
    return venv_python()


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("demo", [])
    # each command's steps run in order until one fails; the arguments given go to the last step
    steps = {
        "demo": [["-m", "pipelines.demo"]],
        "ui": [["-m", "pipelines.demo", "--ui"]],
        "test": [["-m", "ruff", "check", "."], ["-m", "ruff", "format", "--check", "."], ["-m", "pytest", "-q"]],
        "sim": [["-m", "simulator"]],
    }
    if command not in steps:
        print(__doc__)
        return 2
    py = ensure_environment()
    *first, last = steps[command]
    for step in [*first, [*last, *rest]]:
        code = subprocess.run([str(py), *step], cwd=ROOT).returncode
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
