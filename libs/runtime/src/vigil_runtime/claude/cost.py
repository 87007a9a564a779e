"""What a Claude call costs in US dollars, from its usage.

:class:`Pricing` is a model's price per million input and output tokens (the services'
settings). Cache reads cost 0.1× the input price, cache writes (5-minute TTL) 1.25×, and the
Message Batches API halves everything (:func:`estimate_cost`). :class:`TokenUsage` is an
answer's billed tokens (``TokenUsage.of(message.usage)``), their total and their cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from anthropic.types import Usage

__all__ = ["Pricing", "TokenUsage", "estimate_cost"]

CACHE_READ_FACTOR: Final = 0.1
CACHE_WRITE_FACTOR: Final = 1.25
BATCH_FACTOR: Final = 0.5


@dataclass(frozen=True, slots=True)
class Pricing:
    """US dollars per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float


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


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """The tokens one answer was billed for, from the SDK's ``message.usage``."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0

    @classmethod
    def of(cls, usage: Usage) -> TokenUsage:
        """The SDK's usage (cache counts None when the API omits them) as plain counts."""
        return cls(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            cache_creation_tokens=usage.cache_creation_input_tokens or 0,
        )

    @property
    def total(self) -> int:
        """Every token billed: input, output, cache reads and cache writes."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )

    def cost(self, pricing: Pricing, *, batch: bool) -> float:
        """What these tokens cost in USD at ``pricing``."""
        return estimate_cost(
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_creation_tokens,
            input_price_per_mtok=pricing.input_per_mtok,
            output_price_per_mtok=pricing.output_per_mtok,
            batch=batch,
        )
