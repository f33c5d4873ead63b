"""The SolaX Cloud "User API" stand-in (see docs/simulator.md, "SolaX Cloud")."""

from .dongles import Dongle, SolaxView, sites_csv, token_for
from .server import SolaxServer

__all__ = ["Dongle", "SolaxServer", "SolaxView", "sites_csv", "token_for"]
