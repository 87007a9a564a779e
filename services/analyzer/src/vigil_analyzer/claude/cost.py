"""What a Claude call costs in US dollars, from its usage.

Cache reads cost 0.1× the input price, cache writes (5-minute TTL) 1.25×, and the Message
Batches API halves everything.
"""

from __future__ import annotations

from typing import Final

__all__ = ["estimate_cost"]

CACHE_READ_FACTOR: Final = 0.1
CACHE_WRITE_FACTOR: Final = 1.25
BATCH_FACTOR: Final = 0.5


def estimate_cost(
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int,
    cache_creation_tokens: int,
    *,
    input_price_per_mtok: float,
    output_price_per_mtok: float,
    batch: bool,
) -> float:
    """The call's cost in USD (prices per million tokens)."""
    prompt = (
        input_tokens
        + cache_read_tokens * CACHE_READ_FACTOR
        + cache_creation_tokens * CACHE_WRITE_FACTOR
    ) * input_price_per_mtok
    total = (prompt + output_tokens * output_price_per_mtok) / 1_000_000
    return total * BATCH_FACTOR if batch else total
