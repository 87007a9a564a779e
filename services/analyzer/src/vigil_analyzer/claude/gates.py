"""Admission of one selected frame to a Claude call: claim, limits, budget, breaker.

:meth:`Gates.admit` returns a :class:`~vigil_runtime.token_budget.Reservation` when the call
may go, or the reason it may not (the ``reason`` label of
``vigil_analyzer_claude_skipped_total``). The checks run cheapest-to-undo first:

1. ``duplicate``: the frame's claim (SET NX) is held already: a redelivered frame, or one
   another replica took; never analysed twice (while the circuit breaker is plainly open
   the frame is refused before this, spending nothing);
2. then the runtime's :class:`~vigil_runtime.claude.admission.Admission`: ``rate_limited``
   (one of the four hard limits, global and per camera, per minute and per hour, is full),
   ``budget`` (the estimated tokens do not fit in what is left of the day's budget),
   ``breaker_open`` (the circuit breaker refuses; asked last, so that a half-open
   breaker's one probe becomes a call).

A refused frame keeps its claim: it was considered once and is not retried.
"""

from __future__ import annotations

from typing import Literal

import redis.asyncio as aioredis

from vigil_analyzer.claude.keys import CLAIM_TTL_S, call_limits, claim_key
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.circuit_breaker import CircuitBreaker
from vigil_runtime.claude.admission import Admission
from vigil_runtime.rate_limit import RateLimiter
from vigil_runtime.token_budget import Reservation, TokenBudget

SkipReason = Literal["duplicate", "rate_limited", "budget", "breaker_open"]


class Gates:
    """See the module docstring."""

    def __init__(
        self,
        redis: aioredis.Redis,
        settings: AnalyzerSettings,
        *,
        limiter: RateLimiter,
        budget: TokenBudget,
        breaker: CircuitBreaker,
    ) -> None:
        self._redis = redis
        self._settings = settings
        self._admission = Admission(limiter, budget, breaker)
        self._breaker = breaker
        self._owner = settings.instance

    async def admit(self, key: str, camera_id: str, tokens: int) -> Reservation | SkipReason:
        """A reservation of ``tokens`` for this frame's call, or why it is skipped."""
        if self._breaker.state == "open":  # refuse without spending a claim or a limit slot
            return "breaker_open"
        if not await self._redis.set(claim_key(key), self._owner, nx=True, ex=CLAIM_TTL_S):
            return "duplicate"
        s = self._settings
        limits = call_limits(camera_id, per_minute=s.claude_calls_per_minute,
                             per_hour=s.claude_calls_per_hour,
                             camera_per_minute=s.claude_camera_calls_per_minute,
                             camera_per_hour=s.claude_camera_calls_per_hour)  # fmt: skip
        return await self._admission.admit(limits, tokens)
