"""The distributed profile's tests: the services of tests/services.py, the shared fixtures of profiles.py, and what
they measured in the summary."""

from tests.distributed.profiles import ducklake_env, embedded  # noqa: F401  (fixtures)
from tests.services import REPORT, STARTED, pg_dsn, postgres_server, s3_prefix, s3_server  # noqa: F401  (fixtures)


def pytest_terminal_summary(terminalreporter):
    for name, line in STARTED.items():
        terminalreporter.write_line(f"service {name}: {line}")
    for line in REPORT:
        terminalreporter.write_line(f"measured: {line}")
