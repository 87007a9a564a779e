"""Claude's camera settings recommendations, with the heuristic as the fallback.

:class:`~.engine.ClaudeEngine` implements
:class:`~vigil_optimizer.recommendation.RecommendationEngine`; :mod:`.settings` its
settings, :mod:`.tool` the forced tool narrowed to a camera's options, :mod:`.prompt` the
cached system prompt and the request, :mod:`.answer` the validation of the answer,
:mod:`.metrics` its ``vigil_optimizer_claude_*`` series.
"""

from vigil_optimizer.claude.engine import ClaudeEngine, SnapshotSource
from vigil_optimizer.claude.settings import ClaudeEngineSettings

__all__ = ["ClaudeEngine", "ClaudeEngineSettings", "SnapshotSource"]
