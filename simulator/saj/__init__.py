"""The SAJ Elekeeper Open Platform stand-in (see docs/simulator.md)."""

import hashlib

from .server import SimulatorServer


def client_sign(app_id: str, device_sn: str) -> str:
    """The clientSign header: sha256 hex of "appId=<appId>,deviceSN=<deviceSn>"."""
    return hashlib.sha256(f"appId={app_id},deviceSN={device_sn}".encode()).hexdigest()


__all__ = ["SimulatorServer", "client_sign"]
