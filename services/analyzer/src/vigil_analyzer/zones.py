"""Which zones an object is in: the one point test every zone computation shares.

Contract: an object is in a zone when its **box centre** (normalised) lies inside the zone's
polygon (:meth:`vigil_schema.camera.Zone.contains`, even-odd rule), as
``Detection.zone_ids`` documents. The centre, not the bottom-centre ("feet"): the detector's
boxes of people cut by the frame edge or occluded by parked cars lose their feet first, and
the centre is what operators draw zones around in the console's overlay; one rule keeps
``detections.zone_ids``, occupancy counts, entries and dwell consistent.

:func:`zone_ids` is geometric (every zone containing the point, whatever its classes), for
the detections rows; :func:`counting_zones` keeps only the zones that count the class, for
occupancy.
"""

from __future__ import annotations

from vigil_analyzer.detectors.base import BoxDetection
from vigil_schema.camera import Zone, ZoneConfig


def anchor(box: BoxDetection) -> tuple[float, float]:
    """The point of a box tested against zones (its centre)."""
    return box.center


def zone_ids(config: ZoneConfig, box: BoxDetection) -> list[str]:
    """Names of the zones the box's anchor falls in, in configuration order."""
    x, y = anchor(box)
    return [zone.name for zone in config.zones if zone.contains(x, y)]


def counting_zones(config: ZoneConfig, box: BoxDetection) -> list[Zone]:
    """The zones the box's anchor falls in that count its class."""
    x, y = anchor(box)
    return config.zones_containing(x, y, box.class_name)
