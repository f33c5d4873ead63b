"""Clients of the SAJ stand-in: `api` (limits on, as the service) and `free` (limits off)."""

import pytest

from .client import Api


@pytest.fixture
def api(simulator):
    a = Api(simulator)
    a.login()
    return a


@pytest.fixture
def free(make_simulator):
    """A client on a server without rate limits."""
    a = Api(make_simulator(limits=False))
    a.login()
    return a
