"""SMA client tests talk HTTP to the SMA stand-in (tests/simulator/sma/conftest.py's `make_sma`)."""

from __future__ import annotations

import pytest

from pipelines.sources.sma.client import SmaClient
from tests.simulator.sma.conftest import Sma, make_sma  # noqa: F401 - the fixture, shared

__all__ = ["make_sma", "sma_client"]


def sma_client(sma: Sma, cache_dir, **kw) -> SmaClient:
    """A client of the stand-in with its test credentials (others if given)."""
    kw.setdefault("client_id", sma.info["client_id"])
    kw.setdefault("client_secret", sma.info["client_secret"])
    return SmaClient(
        api_url=sma.s.api_url, auth_url=sma.s.auth_url, consent_url=sma.s.consent_url, cache_dir=cache_dir, **kw
    )


@pytest.fixture
def consented(make_sma) -> Sma:
    return make_sma(plants=6, consented=True)
