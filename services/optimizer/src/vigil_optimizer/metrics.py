"""The optimizer's pipeline metrics (the ONVIF client, snapshot health, Claude engine, apply
and scheduler modules define their own next to their code).

- ``vigil_optimizer_inspections_total{outcome}``: ONVIF inspections (ok, failed);
- ``vigil_optimizer_recommendations_total{provider}``: recommendations made (heuristic,
  claude), stored or not;
- ``vigil_optimizer_review_outcomes_total{outcome}``: reviews by how they ended
  (recommended, applied, no_change, unreachable, error).
"""

from __future__ import annotations

from prometheus_client import Counter

INSPECTIONS = Counter(
    "vigil_optimizer_inspections_total", "ONVIF inspections of cameras", ["outcome"]
)
RECOMMENDATIONS = Counter(
    "vigil_optimizer_recommendations_total", "Settings recommendations made", ["provider"]
)
REVIEW_OUTCOMES = Counter(
    "vigil_optimizer_review_outcomes_total", "Camera reviews by outcome", ["outcome"]
)
