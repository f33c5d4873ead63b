"""SAJ Elekeeper open API simulator: a deterministic fleet, its ground truth, and an HTTP server.

    from simulator import Fleet, SimulatorServer, Faults
    fleet = Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=None)
    with SimulatorServer(fleet, port=0) as server:
        server.base_url  # http://127.0.0.1:<port>/prod-api

See docs/simulator.md for the response shapes (the contract with the parsers).
"""

from .faults import Faults
from .fleet import Alarm, Device, Fleet, Plant
from .server import SimulatorServer

__all__ = ["Fleet", "Plant", "Device", "Alarm", "SimulatorServer", "Faults", "client_sign"]


def client_sign(app_id: str, device_sn: str) -> str:
    """The clientSign header: sha256 hex of "appId=<appId>,deviceSN=<deviceSn>"."""
    import hashlib

    return hashlib.sha256(f"appId={app_id},deviceSN={device_sn}".encode()).hexdigest()
