"""Prometheus metrics of the optimizer's ONVIF client.

- ``vigil_optimizer_onvif_calls_total{operation,outcome}``: every ONVIF operation attempt
  the client made (``outcome``: ``ok``, or a :class:`~vigil_optimizer.camera_link.CameraError`
  kind: ``unreachable``, ``timeout``, ``auth``, ``refused``, ``unsupported``, ``invalid``);
- ``vigil_optimizer_onvif_call_seconds{operation}``: the latency of each attempt.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["ONVIF_CALLS", "ONVIF_CALL_SECONDS"]

ONVIF_CALLS = Counter(
    "vigil_optimizer_onvif_calls_total",
    "ONVIF operation attempts by operation and outcome",
    ["operation", "outcome"],
)
ONVIF_CALL_SECONDS = Histogram(
    "vigil_optimizer_onvif_call_seconds",
    "Latency of one ONVIF operation attempt",
    ["operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
