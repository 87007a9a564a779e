"""Prometheus metrics of the detection pipeline (``vigil_analyzer_*``).

Claude's metrics live with :mod:`vigil_analyzer.claude`; the stream's length, lag, pending and
trimmed-unread entries are the runtime consumer's (``vigil_stream_*``): a frame trimmed from
``vigil:frames`` before the group read it is counted there (``vigil_stream_trimmed_unread``
for group ``analyzer``), never an error; the stream cannot say whose frames they were.

Per-camera series are dropped with :func:`forget_camera` when a camera moves to another
replica or is removed, so a replica exports only the cameras it analyses.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

FRAMES_RECEIVED: Final = Counter(
    "vigil_analyzer_frames_received_total", "Frames read from vigil:frames", ["camera_id"]
)
FRAMES_ANALYZED: Final = Counter(
    "vigil_analyzer_frames_analyzed_total", "Frames run through the detector", ["camera_id"]
)
FRAMES_SKIPPED: Final = Counter(
    "vigil_analyzer_frames_skipped_total",
    "Frames not run through the detector, by reason (rate, still, stale, superseded)",
    ["camera_id", "reason"],
)
FRAMES_LATE: Final = Counter(
    "vigil_analyzer_frames_late_total",
    "Frames analysed after a newer frame of their camera (handed over or reclaimed): "
    "detections without track ids, no tracking, zones' occupancy or heatmap",
    ["camera_id"],
)
BAD_FRAMES: Final = Counter(
    "vigil_analyzer_bad_frames_total",
    "Frame entries that can never be analysed (dead-lettered at once), by reason",
    ["reason"],
)
INFERENCE_SECONDS: Final = Histogram(
    "vigil_analyzer_inference_seconds",
    "Time of one detector call (one batch)",
    ["backend"],
    buckets=(0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
)
INFERENCE_BATCH: Final = Histogram(
    "vigil_analyzer_inference_batch_frames",
    "Frames per detector call",
    ["backend"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
BATCH_SECONDS: Final = Histogram(
    "vigil_analyzer_batch_seconds",
    "Time to handle one batch of stream entries, commit and publish included",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OBJECTS: Final = Counter(
    "vigil_analyzer_objects_total", "Objects detected", ["camera_id", "class_name"]
)
OCCUPANCY: Final = Gauge(
    "vigil_analyzer_zone_occupancy",
    "Objects of a class in a zone, as last reported to occupancy_events",
    ["camera_id", "zone", "class_name"],
)
ZONE_ENTRIES: Final = Counter(
    "vigil_analyzer_zone_entries_total", "Tracks that entered a zone", ["camera_id", "zone"]
)
ALERT_CANDIDATES: Final = Counter(
    "vigil_analyzer_alert_candidates_total",
    "Alert candidates published to vigil:alerts, by alertname",
    ["alertname"],
)
CAMERAS_OWNED: Final = Gauge(
    "vigil_analyzer_cameras_owned", "Cameras whose frames this replica analyses"
)

_PER_CAMERA = (FRAMES_RECEIVED, FRAMES_ANALYZED, FRAMES_SKIPPED, FRAMES_LATE, OBJECTS,
               OCCUPANCY, ZONE_ENTRIES)  # fmt: skip


def forget_camera(camera_id: str) -> None:
    """Drop every per-camera series of ``camera_id`` from this replica's exposition."""
    for metric in _PER_CAMERA:
        for labels in list(metric._metrics):
            if labels and labels[0] == camera_id:
                metric.remove(*labels)
