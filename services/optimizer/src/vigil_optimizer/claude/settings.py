"""The Claude engine's settings: key, endpoint, model, limits, budget, breaker, prices.

:class:`ClaudeEngineSettings` is a ``VIGIL_*`` settings class of its own so that the
optimizer's settings can inherit it (``class OptimizerSettings(VigilSettings,
ClaudeEngineSettings)``). The key and base URL are the ones every service reads
(:class:`vigil_runtime.claude.settings.AnthropicSettings`); the rest is
prefixed ``optimizer_claude_`` so that the analyzer's ``VIGIL_CLAUDE_*`` (one stack env file
for every service) never sets the optimizer's limits. Without a key the engine always falls
back to the heuristic.
"""

from __future__ import annotations

from pydantic import Field

from vigil_runtime.claude.settings import AnthropicSettings

__all__ = ["ClaudeEngineSettings"]


class ClaudeEngineSettings(AnthropicSettings):
    """See the module docstring."""

    optimizer_claude_model: str = "claude-sonnet-4-5"
    optimizer_claude_max_tokens: int = Field(default=1024, ge=256)
    optimizer_claude_timeout_s: float = Field(default=60.0, gt=0)
    """Per attempt; the SDK retries twice."""
    optimizer_claude_calls_per_minute: int = Field(default=10, ge=0)
    """Across every replica (Redis sliding windows); 0 disables Claude."""
    optimizer_claude_calls_per_hour: int = Field(default=200, ge=0)
    optimizer_claude_daily_token_budget: int = Field(default=1_000_000, ge=0)
    optimizer_claude_breaker_failures: int = Field(default=5, ge=1)
    optimizer_claude_breaker_reset_s: float = Field(default=60.0, gt=0)
    optimizer_claude_input_price_per_mtok: float = Field(default=3.0, ge=0)
    optimizer_claude_output_price_per_mtok: float = Field(default=15.0, ge=0)
