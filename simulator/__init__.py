"""Stand-ins for the vendors' cloud APIs, all serving one deterministic fleet and its ground truth.

    from simulator import Fleet, SimulatorServer, Faults      # SimulatorServer: the SAJ stand-in
    fleet = Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=None)
    with SimulatorServer(fleet, port=0) as server:
        server.base_url  # http://127.0.0.1:<port>/prod-api

`simulator.core` holds what every vendor shares (fleet, physics, faults, the HTTP server and its admin
routes); `simulator.saj` (and each further vendor's package) the API itself. See docs/simulator.md.
"""

from .core import Alarm, Device, Faults, Fleet, Plant
from .saj import SimulatorServer, client_sign

__all__ = ["Fleet", "Plant", "Device", "Alarm", "SimulatorServer", "Faults", "client_sign"]
