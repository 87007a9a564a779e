"""Prometheus metrics of the optimizer's Claude engine (``vigil_optimizer_claude_*``).

Recommendations by provider are the service's (``vigil_optimizer_recommendations_total``);
the limits' own series are the runtime's (``vigil_token_budget_remaining{name="optimizer"}``,
``vigil_circuit_breaker_state{name="optimizer_claude"}``).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter

__all__ = ["CALLS", "COST", "TOKENS"]

CALLS: Final = Counter(
    "vigil_optimizer_claude_calls_total",
    "Recommendations asked of Claude, by outcome (ok; malformed, out_of_range: answered but "
    "not used; unavailable, rejected: the call failed; no_key, rate_limited, budget, "
    "breaker_open, redis: not sent)",
    ["outcome"],
)
TOKENS: Final = Counter(
    "vigil_optimizer_claude_tokens_total",
    "Tokens Claude billed the optimizer, by kind (input, output, cache_read, cache_creation)",
    ["kind"],
)
COST: Final = Counter(
    "vigil_optimizer_claude_cost_usd_total", "Estimated cost of the optimizer's Claude calls"
)
