"""Prometheus metrics of snapshot health checks (``vigil_optimizer_snapshot*``).

``vigil_optimizer_snapshots_total{outcome}`` counts checks by outcome: the health level
(``ok``, ``warning``, ``critical``) when the snapshot was fetched, measured and stored, else
why not (a :class:`~vigil_optimizer.health.fetch.SnapshotError` kind: ``unreachable``,
``timeout``, ``auth``, ``http_error``, ``not_image``, ``too_large``; or ``store_error``).
``vigil_optimizer_snapshot_anomalies_total{type}`` counts the anomalies found, by type.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

__all__ = ["SNAPSHOTS", "SNAPSHOT_ANOMALIES"]

SNAPSHOTS: Final = Counter(
    "vigil_optimizer_snapshots_total",
    "Snapshot health checks, by outcome (the health level, or why the check failed)",
    ["outcome"],
)
SNAPSHOT_ANOMALIES: Final = Counter(
    "vigil_optimizer_snapshot_anomalies_total",
    "Anomalies found in checked snapshots, by type (too_dark, high_noise, blurred...)",
    ["type"],
)
