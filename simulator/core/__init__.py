"""What every vendor's stand-in shares: the fleet and its ground truth (`fleet`), the physics behind it
(`physics`), fault injection (`faults`) and the HTTP server with its admin routes (`http`)."""

from .faults import Faults
from .fleet import Alarm, Device, Fleet, Plant
from .http import Answer, StandInServer

__all__ = ["Alarm", "Answer", "Device", "Faults", "Fleet", "Plant", "StandInServer"]
