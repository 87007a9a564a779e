"""Snapshot health: fetch a camera's snapshot, measure and judge its picture, keep it.

* :mod:`.fetch`: the JPEG from the snapshot URI (Digest/Basic auth, timeout, size cap);
* :mod:`.metrics`: brightness, clipping, noise, blur and contrast with OpenCV;
* :mod:`.assess`: seed 000's ``health_metrics`` / ``anomalies`` and a level, by thresholds;
* :mod:`.store`: the file under the snapshot folder, ``snapshots`` and ``health_metrics`` rows;
* :mod:`.checker`: :class:`SnapshotChecker`, all of the above in one call for the service.
"""

from __future__ import annotations

from vigil_optimizer.health.assess import Assessment, HealthThresholds, assess
from vigil_optimizer.health.checker import SnapshotChecker, measure_jpeg
from vigil_optimizer.health.fetch import SnapshotError, fetch_snapshot
from vigil_optimizer.health.metrics import Measurements, decode_image, measure
from vigil_optimizer.health.store import SnapshotStore, StoredSnapshot

__all__ = [
    "Assessment",
    "HealthThresholds",
    "Measurements",
    "SnapshotChecker",
    "SnapshotError",
    "SnapshotStore",
    "StoredSnapshot",
    "assess",
    "decode_image",
    "fetch_snapshot",
    "measure",
    "measure_jpeg",
]
