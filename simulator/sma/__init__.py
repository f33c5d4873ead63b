"""The SMA Monitoring API stand-in: OAuth2 client credentials, the owner-consent flow and the Monitoring
API with 5- and 15-minute energy balances (see docs/simulator.md)."""

from .layout import SmaLayout, credentials, owner_emails
from .server import SmaServer

__all__ = ["SmaLayout", "SmaServer", "credentials", "owner_emails"]
