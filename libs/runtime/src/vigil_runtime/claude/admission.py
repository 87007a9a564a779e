"""Whether one Claude call may go now: hard rate limits, the daily token budget, the breaker.

:meth:`Admission.admit` returns a :class:`~vigil_runtime.token_budget.Reservation` of the
call's estimated tokens when it may go, or why it may not (:data:`Refusal`). The checks run
cheapest-to-undo first:

1. ``breaker_open``: while the circuit breaker is plainly open nothing is spent;
2. ``rate_limited``: one of the ``limits`` (sliding windows, one Redis script, exact across
   replicas) is full;
3. ``budget``: the tokens do not fit in what is left of the day's budget (reserved
   atomically; the caller settles it with the real usage, or releases it);
4. ``breaker_open``: the breaker refuses (the reservation is released). It is asked last
   because its half-open state lets exactly one probe through, and that probe must become
   a call.

A caller reports the call's outcome to the breaker and the budget itself
(``record_success``/``record_failure``, ``settle``/``release``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from vigil_runtime.circuit_breaker import CircuitBreaker
from vigil_runtime.rate_limit import Limit, RateLimiter
from vigil_runtime.token_budget import Reservation, TokenBudget

__all__ = ["Admission", "Refusal"]

Refusal = Literal["rate_limited", "budget", "breaker_open"]


class Admission:
    """See the module docstring."""

    def __init__(self, limiter: RateLimiter, budget: TokenBudget, breaker: CircuitBreaker) -> None:
        self.limiter = limiter
        self.budget = budget
        self.breaker = breaker

    async def admit(self, limits: Sequence[Limit], tokens: int) -> Reservation | Refusal:
        """A reservation of ``tokens`` for the call, or why it may not go now."""
        if self.breaker.state == "open":
            return "breaker_open"
        decision = await self.limiter.acquire(limits)
        if not decision.allowed:
            return "rate_limited"
        reservation = await self.budget.reserve(tokens)
        if reservation is None:
            return "budget"
        if not self.breaker.allow():
            await self.budget.release(reservation)
            return "breaker_open"
        return reservation
