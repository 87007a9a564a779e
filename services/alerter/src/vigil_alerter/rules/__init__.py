"""The alerter's own alerts: the configuration's ``rules`` over detections and camera events.

- :mod:`~vigil_alerter.rules.match`: what a rule matched, the shared camera/interval checks;
- :mod:`~vigil_alerter.rules.detection_rule`: ``stream: detections`` rules
  (cameras, zones, classes, ``min_confidence``, ``active_time_intervals``);
- :mod:`~vigil_alerter.rules.event_rule`: ``stream: events`` rules (``event_types``);
- :mod:`~vigil_alerter.rules.maintenance`: which cameras are in maintenance (never fire);
- :mod:`~vigil_alerter.rules.evaluator`: the stream handler, per-episode state, coalescing
  and resolving, producing :class:`~vigil_alerter.engine.incoming.IncomingAlert` s.
"""

from vigil_alerter.rules.detection_rule import detection_matches
from vigil_alerter.rules.evaluator import SOURCE, ConfigSource, RuleEvaluator, Sink, rule_labels
from vigil_alerter.rules.event_rule import event_matches
from vigil_alerter.rules.maintenance import MaintenanceRegistry, MaintenanceView
from vigil_alerter.rules.match import IntervalView, RuleMatch, camera_selected, rule_active

__all__ = [
    "SOURCE",
    "ConfigSource",
    "IntervalView",
    "MaintenanceRegistry",
    "MaintenanceView",
    "RuleEvaluator",
    "RuleMatch",
    "Sink",
    "camera_selected",
    "detection_matches",
    "event_matches",
    "rule_active",
    "rule_labels",
]
