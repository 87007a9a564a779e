"""The alerter's metrics, all in one place (docs/alerter.md "Metrics", the Grafana Alerter row).

Intake:
- ``vigil_alerter_candidates_total{source}``: alerts received (stream candidates by producing
  service, ``api`` for POST /api/v2/alerts, ``rule`` for the alerter's own event rules);
- ``vigil_alerter_alerts_total{outcome}``: what intake did with them: ``created`` (a new
  alert), ``deduplicated`` (an update of an active alert), ``resolved`` (the source resolved
  it), ``ignored`` (camera in maintenance, or a resolve for no active alert);
- ``vigil_alerter_open_alerts{severity}``: active alerts whose status is still open.

Groups and notifications:
- ``vigil_alerter_groups_flushed_total{outcome}``: group flushes: ``notified`` (a
  notification queued), ``unchanged`` (nothing new, repeat not due), ``muted`` (time interval),
  ``empty`` (every alert silenced, inhibited or closed);
- ``vigil_alerter_alerts_suppressed_total{reason}``: alerts left out of a notification
  (``silenced``, ``inhibited``, ``closed`` by an operator, ``acknowledged`` repeats);
- ``vigil_alerter_notifications_total{receiver, outcome}``: deliveries (``sent``, ``failed``
  after the cap, ``retried``, ``suppressed``);
- ``vigil_alerter_delivery_seconds{receiver}``: from the first alert's arrival to the
  receiver accepting the notification (candidate -> delivery latency);
- ``vigil_alerter_notifications_pending{receiver}``: outbox rows not yet sent;
- ``vigil_alerter_escalations_total{receiver}``: escalation notifications queued;
- ``vigil_alerter_time_to_acknowledge_seconds{severity}``: first seen -> acknowledged.

Configuration:
- ``vigil_alerter_config_reloads_total{outcome}`` (``ok``, ``invalid``) and
  ``vigil_alerter_config_last_reload_success`` (1 or 0), as Alertmanager exports them.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

CANDIDATES: Final = Counter(
    "vigil_alerter_candidates_total", "Alerts received by the alerter", ["source"]
)
ALERTS: Final = Counter(
    "vigil_alerter_alerts_total", "What intake did with received alerts", ["outcome"]
)
OPEN_ALERTS: Final = Gauge(
    "vigil_alerter_open_alerts", "Active alerts an operator has not closed", ["severity"]
)
GROUPS_FLUSHED: Final = Counter(
    "vigil_alerter_groups_flushed_total", "Aggregation group flushes", ["outcome"]
)
SUPPRESSED: Final = Counter(
    "vigil_alerter_alerts_suppressed_total", "Alerts left out of notifications", ["reason"]
)
NOTIFICATIONS: Final = Counter(
    "vigil_alerter_notifications_total", "Notification deliveries", ["receiver", "outcome"]
)
DELIVERY_SECONDS: Final = Histogram(
    "vigil_alerter_delivery_seconds",
    "First alert arrival to delivery accepted by the receiver",
    ["receiver"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
)
PENDING: Final = Gauge(
    "vigil_alerter_notifications_pending", "Outbox notifications not yet sent", ["receiver"]
)
ESCALATIONS: Final = Counter(
    "vigil_alerter_escalations_total", "Escalation notifications queued", ["receiver"]
)
TIME_TO_ACK: Final = Histogram(
    "vigil_alerter_time_to_acknowledge_seconds",
    "Time from an alert's first occurrence to its acknowledgement",
    ["severity"],
    buckets=(30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400),
)
CONFIG_RELOADS: Final = Counter(
    "vigil_alerter_config_reloads_total", "Configuration reloads", ["outcome"]
)
CONFIG_LAST_RELOAD_OK: Final = Gauge(
    "vigil_alerter_config_last_reload_success", "1 when the last configuration load succeeded"
)
