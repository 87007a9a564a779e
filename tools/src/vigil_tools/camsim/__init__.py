"""camsim: a camera fleet simulator publishing Vigil's MQTT traffic.

Events, health samples, retained status with a Last Will, and JPEG frames composed from real
photographs, paced per camera and published through a bounded window of unacknowledged
messages. ``vigil-camsim --help`` for the command; :class:`Fleet` for tests and benchmarks.
"""

from vigil_tools.camsim.config import FleetConfig
from vigil_tools.camsim.fleet import Fleet
from vigil_tools.camsim.malformed import EXPECTED_REASON, BadKind
from vigil_tools.camsim.stats import MessageKind

__all__ = ["EXPECTED_REASON", "BadKind", "Fleet", "FleetConfig", "MessageKind"]
