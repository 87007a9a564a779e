"""Everything the analyzer remembers about one camera between frames.

A :class:`CameraAnalysis` lives on the replica that owns the camera (camera affinity, see
:mod:`vigil_analyzer.main`): its ByteTrack tracker, its zones' occupancy and visits, its open
heatmap minute and the figures ``vigil status`` shows. It is created on the camera's first
frame (the open heatmap minute restored from the Redis checkpoint the previous owner left) and
dropped when the camera moves to another replica, without writing anything: the new owner
carries on from the checkpoint, so a minute is never written twice by two replicas.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import datetime

from vigil_analyzer.camera_zones import CameraZones
from vigil_analyzer.heatmap import HeatmapAccumulator
from vigil_analyzer.occupancy import ZoneAnalyzer
from vigil_analyzer.settings import AnalyzerSettings
from vigil_analyzer.tracking import CameraTracker, TrackerConfig
from vigil_schema.camera import ZoneConfig
from vigil_schema.clock import utc_now

__all__ = ["CameraAnalysis"]

_FPS_WINDOW_S = 10.0


class CameraAnalysis:
    """Tracker, zones, heatmap and status figures of one camera."""

    def __init__(self, camera_id: str, settings: AnalyzerSettings, zones: CameraZones | None):
        self.camera_id = camera_id
        self.zones_version = -1 if zones is None else zones.version
        self.site = None if zones is None else zones.site
        self.alerts_muted = False if zones is None else zones.alerts_muted
        config = ZoneConfig() if zones is None else zones.zones
        self.tracker = CameraTracker(
            TrackerConfig(frame_rate=settings.detect_fps,
                          track_activation_threshold=settings.detector_confidence)
        )  # fmt: skip
        self.zones = ZoneAnalyzer(camera_id, config, heartbeat_s=settings.occupancy_heartbeat_s,
                                  loiter_s=settings.loiter_s)  # fmt: skip
        self.heatmap = HeatmapAccumulator(camera_id, downscale=settings.heatmap_downscale)
        self._analysed: deque[float] = deque()
        self.last_objects = 0
        self.occupancy: dict[str, int] = {}
        self.last_ts: datetime | None = None

    def refresh_zones(self, zones: CameraZones | None) -> None:
        """Take the registry's current zones if they changed (counts of kept zones stay)."""
        if zones is None:
            return
        self.site = zones.site
        self.alerts_muted = zones.alerts_muted
        if zones.version != self.zones_version:
            self.zones.reload(zones.zones)
            self.zones_version = zones.version

    def record(self, ts: datetime, objects: int, occupancy: dict[str, int]) -> None:
        """Note one analysed frame for the status figures."""
        stamp = ts.timestamp()
        self._analysed.append(stamp)
        while self._analysed and self._analysed[0] < stamp - _FPS_WINDOW_S:
            self._analysed.popleft()
        self.last_objects = objects
        self.occupancy.update(occupancy)
        self.last_ts = ts

    @property
    def fps(self) -> float:
        """Frames analysed per second over the last ten seconds of frame time."""
        if len(self._analysed) < 2:
            return float(len(self._analysed))
        span = self._analysed[-1] - self._analysed[0]
        return (len(self._analysed) - 1) / span if span > 0 else 0.0

    def status_fields(self, instance: str) -> dict[str, str]:
        """The ``analyzer_*`` fields of ``vigil:camera:{id}:state`` (``vigil status``)."""
        return {
            "analyzer_fps": f"{self.fps:.2f}",
            "analyzer_objects": str(self.last_objects),
            "analyzer_occupancy": json.dumps(
                dict(sorted(self.occupancy.items())), separators=(",", ":")
            ),
            "analyzer_at": utc_now().isoformat(),
            "analyzer_instance": instance,
        }
