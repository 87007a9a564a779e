"""Prometheus metrics of the ingest's MQTT link (`vigil_ingest_mqtt_*`).

The gauges count links (inc/dec rather than set) so that two links in one process, as in
the shared-subscription tests, do not overwrite each other; a service runs one link, so
the values read 0 or 1 there.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

__all__ = [
    "CONNECTED",
    "MESSAGES_RECEIVED",
    "READING_PAUSED",
    "RECONNECTS",
    "STALE_ACKS",
    "SUBSCRIBE_FAILURES",
]

CONNECTED = Gauge("vigil_ingest_mqtt_connected", "MQTT links connected to the broker (CONNACK)")
RECONNECTS = Counter(
    "vigil_ingest_mqtt_reconnects_total",
    "Connection attempts after the first one (broker lost, refused or unreachable)",
)
MESSAGES_RECEIVED = Counter(
    "vigil_ingest_mqtt_messages_received_total", "PUBLISH packets read from the broker"
)
STALE_ACKS = Counter(
    "vigil_ingest_mqtt_stale_acks_total",
    "Acks skipped because the message came on an older (or the current, lost) connection; "
    "the broker redelivers it",
)
READING_PAUSED = Gauge(
    "vigil_ingest_mqtt_reading_paused", "MQTT links not reading their socket (backpressure)"
)
SUBSCRIBE_FAILURES = Counter(
    "vigil_ingest_mqtt_subscribe_failures_total", "Topic filters the broker refused in a SUBACK"
)
