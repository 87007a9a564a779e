"""The heuristic recommendation engine and the per-site bandwidth allocation.

- :class:`HeuristicEngine` (a :class:`~vigil_optimizer.recommendation.RecommendationEngine`):
  settings from the documented rules (docs/optimizer-rules.md), clamped to the camera.
- :func:`allocate_bandwidth` with :class:`CameraDemand`: each camera's share of its site's
  budget, which callers put in ``RecommendationContext.bandwidth_kbps``.
- :data:`RULES` / :data:`RULE_IDS`: every rule in precedence order, and their ids.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.allocation import CameraDemand, allocate_bandwidth
from vigil_optimizer.heuristic.engine import HeuristicEngine
from vigil_optimizer.heuristic.rules import RULE_IDS, RULES

__all__ = ["RULES", "RULE_IDS", "CameraDemand", "HeuristicEngine", "allocate_bandwidth"]
