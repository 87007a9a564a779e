"""The ``vigil_ingest_*`` metrics.

Batch sizes and COPY latency are the runtime's ``vigil_copy_batch_rows{table}`` and
``vigil_copy_seconds{table}`` (the ingest's writers are labelled by their table); they are
not duplicated here. ``vigil_ingest_duplicates_total`` is derived from the writers'
``vigil_copy_duplicates_total`` so that the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from vigil_runtime.copy_writer import COPY_DUPLICATES
from vigil_schema.tables import CAMERA_EVENTS, FRAME_METADATA, HEALTH_METRICS

__all__ = [
    "ACKS",
    "ACKS_STALE",
    "COMMIT_LAG",
    "EVENTS_COMMITTED",
    "FANOUT_FAILURES",
    "LAST_SEEN",
    "MESSAGES_RECEIVED",
    "QUEUE_BYTES",
    "QUEUE_DEPTH",
    "READING_PAUSED",
    "REJECTED",
    "forget_cameras",
    "observe_lag",
]

MESSAGES_RECEIVED = Counter(
    "vigil_ingest_messages_received_total", "MQTT messages decoded, by topic kind", ["kind"]
)
EVENTS_COMMITTED = Counter(
    "vigil_ingest_events_committed_total", "Camera events committed to camera_events"
)
REJECTED = Counter(
    "vigil_ingest_rejected_total", "Messages stored in ingest_rejects, by reason", ["reason"]
)
COMMIT_LAG = Histogram(
    "vigil_ingest_commit_lag_seconds",
    "From the producer's timestamp (newest in the message) to its commit",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
QUEUE_DEPTH = Gauge(
    "vigil_ingest_queue_depth", "Messages received but not yet acknowledged (queued or in flight)"
)
QUEUE_BYTES = Gauge(
    "vigil_ingest_queue_bytes",
    "Bytes held by messages received but not yet acknowledged (vigil_ingest.memory estimate)",
)
READING_PAUSED = Gauge("vigil_ingest_reading_paused", "1 while MQTT reading is paused")
CAMERAS_KNOWN = Gauge(
    "vigil_ingest_cameras_known", "Cameras in the registry (as of its last reload from cameras)"
)
ACKS = Counter("vigil_ingest_acks_total", "Messages acknowledged after commit and fan-out")
ACKS_STALE = Counter(
    "vigil_ingest_acks_stale_total",
    "Acknowledgements skipped: the message came on an older connection (it is redelivered)",
)
FANOUT_FAILURES = Counter(
    "vigil_ingest_fanout_failures_total", "Redis fan-out attempts that failed (retried)"
)
LAST_SEEN = Gauge(
    "vigil_ingest_camera_last_seen_timestamp",
    "Unix time of the last committed message per camera",
    ["camera_id"],
)

_DEDUP_TABLES = (CAMERA_EVENTS.name, FRAME_METADATA.name, HEALTH_METRICS.name)


class _DuplicatesCollector(Collector):
    """``vigil_ingest_duplicates_total``: the ingest tables' COPY duplicates, summed."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        total = 0.0
        for family in COPY_DUPLICATES.collect():
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("table") in _DEDUP_TABLES:
                    total += sample.value
        family_out = CounterMetricFamily(
            "vigil_ingest_duplicates",
            "Redelivered rows skipped by the dedup keys (camera_events, frame_metadata, "
            "health_metrics)",
        )
        family_out.add_metric([], total)
        yield family_out

    def describe(self) -> Iterable[CounterMetricFamily]:
        return []


REGISTRY.register(_DuplicatesCollector())


def observe_lag(source_ts: datetime, committed_at: datetime) -> None:
    """Record publish → commit lag (clamped at 0: camera clocks may run ahead)."""
    COMMIT_LAG.observe(max(0.0, (committed_at - source_ts).total_seconds()))


def forget_cameras(camera_ids: Iterable[str]) -> None:
    """Drop the per-camera series of cameras removed from the registry."""
    for camera_id in camera_ids:
        try:
            LAST_SEEN.remove(camera_id)
        except KeyError:
            continue
