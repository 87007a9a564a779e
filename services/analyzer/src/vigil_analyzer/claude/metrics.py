"""Prometheus metrics of the analyzer's Claude analyses (``vigil_analyzer_claude_*``).

The limits' own series are the runtime's: ``vigil_token_budget_remaining{name}`` (budget
left today), ``vigil_circuit_breaker_state{name}`` and
``vigil_circuit_breaker_opened_total{name}``.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["CALLS", "COST", "DURATION", "ERRORS", "QUEUE", "SELECTED", "SKIPPED", "TOKENS"]

CALLS: Final = Counter(
    "vigil_analyzer_claude_calls_total",
    "Claude calls by mode (direct, batch) and outcome (ok, invalid, unavailable, rejected)",
    ["mode", "outcome"],
)
TOKENS: Final = Counter(
    "vigil_analyzer_claude_tokens_total",
    "Tokens Claude reported, by kind (input, output, cache_read, cache_creation)",
    ["kind"],
)
COST: Final = Counter(
    "vigil_analyzer_claude_cost_usd_total", "Estimated cost of the Claude calls, in USD"
)
ERRORS: Final = Counter(
    "vigil_analyzer_claude_errors_total", "Failed Claude calls and answers, by kind", ["kind"]
)
SKIPPED: Final = Counter(
    "vigil_analyzer_claude_skipped_total",
    "Selected frames not sent to Claude, by reason (no_key, rate_limited, budget, "
    "breaker_open, queue_full, duplicate, redis)",
    ["reason"],
)
DURATION: Final = Histogram(
    "vigil_analyzer_claude_duration_seconds",
    "Time of one Claude call (a batch: submission to result)",
    ["mode"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 900, 3600),
)
QUEUE: Final = Gauge(
    "vigil_analyzer_claude_queue_frames", "Selected frames waiting for a Claude call"
)
SELECTED: Final = Counter(
    "vigil_analyzer_claude_selected_total",
    "Frames selected for Claude, by reason (manual, new_track, zone_entry, scene_change)",
    ["reason"],
)
DAILY_BUDGET: Final = Gauge(
    "vigil_analyzer_claude_daily_budget_tokens",
    "The configured daily token budget for Claude (claude_daily_token_budget)",
)
