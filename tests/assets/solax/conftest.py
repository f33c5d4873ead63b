"""The SolaX stand-in for the pipeline's tests (the `make_solax` fixture of its own tests)."""

from tests.simulator.solax.conftest import make_solax  # noqa: F401 - a fixture, used by name
