"""Finishing one Claude call: settle the budget, tell the breaker, count, store, remember,
alert. :meth:`Results.finish` is the single place every outcome goes through, direct or batch.

- an answer (valid or not) settles the reservation with the tokens the API billed and closes
  the breaker's count of failures; a valid one is stored with its tokens, model, duration
  and estimated cost, its insight joins the camera's scene memory, and when it says
  ``should_alert`` a candidate (severity capped) goes to ``vigil:alerts``;
- an invalid answer (no tool call, fields that fail the schema) is stored as an error row and
  never alerts;
- the API unavailable (429 after retries, 529, 5xx, timeout) counts towards the breaker;
  refused (our request) does not; both release the reservation and store an error row.

Only a row stored now (not one a redelivery stored before) remembers and alerts, so a result
finished twice (a batch collected again after a crash) raises nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

import redis.asyncio as aioredis

from vigil_analyzer.claude import metrics
from vigil_analyzer.claude.admitted import Admitted
from vigil_analyzer.claude.alerts import claude_candidate
from vigil_analyzer.claude.memory import SceneMemory
from vigil_analyzer.claude.models import ClaudeReply
from vigil_analyzer.claude.rows import analysis_row, error_row
from vigil_analyzer.claude.store import AnalysisStore
from vigil_runtime.circuit_breaker import CircuitBreaker
from vigil_runtime.claude.errors import ClaudeRejectedError, ClaudeUnavailableError
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.stream_producer import StreamProducer
from vigil_runtime.token_budget import TokenBudget
from vigil_schema.clock import utc_now
from vigil_schema.enums import AlertSeverity
from vigil_schema.streams import ALERTS, Envelope

Mode = Literal["direct", "batch"]
Outcome = ClaudeReply | ClaudeUnavailableError | ClaudeRejectedError
_log = get_logger(__name__)


class Results:
    """See the module docstring."""

    def __init__(
        self,
        redis: aioredis.Redis,
        store: AnalysisStore,
        memory: SceneMemory,
        budget: TokenBudget,
        breaker: CircuitBreaker,
        *,
        model: str,
        severity_cap: AlertSeverity,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._producer = StreamProducer(redis)
        self._store = store
        self._memory = memory
        self._budget = budget
        self._breaker = breaker
        self._model = model
        self._cap = severity_cap
        self._clock = clock
        self._warn = RateLimitedLogger(_log, interval_s=60.0)

    async def finish(self, item: Admitted, outcome: Outcome, mode: Mode) -> None:
        """Account for and keep one call's outcome (see the module docstring)."""
        if isinstance(outcome, ClaudeReply):
            await self._reply(item, outcome, mode)
        else:
            await self._failure(item, outcome, mode)

    async def _reply(self, item: Admitted, reply: ClaudeReply, mode: Mode) -> None:
        await self._budget.settle(item.reservation, reply.total_tokens)
        self._breaker.record_success()
        _count_reply(reply, mode)
        analysis = reply.analysis
        if analysis is None:
            metrics.ERRORS.labels("invalid_answer").inc()
            self._warn.warning("claude answer invalid", key="invalid", error=reply.error,
                               camera_id=item.request.camera_id)  # fmt: skip
            await self._store.insert(analysis_row(item.request, reply, created_at=self._clock()))
            return
        if not await self._store.insert(
            analysis_row(item.request, reply, created_at=self._clock())
        ):
            return  # stored before (a redelivered result): remembered and alerted then
        await self._memory.remember(item.request.camera_id, analysis.primary_insight)
        if analysis.should_alert:
            candidate = claude_candidate(item.request, analysis, cap=self._cap, site=item.site)
            await self._producer.publish(ALERTS, Envelope.wrap(candidate))

    async def _failure(
        self, item: Admitted, exc: ClaudeUnavailableError | ClaudeRejectedError, mode: Mode
    ) -> None:
        await self._budget.release(item.reservation)
        kind = getattr(exc, "kind", "unknown")
        if isinstance(exc, ClaudeUnavailableError):
            self._breaker.record_failure()
            metrics.CALLS.labels(mode, "unavailable").inc()
        else:
            metrics.CALLS.labels(mode, "rejected").inc()
        metrics.ERRORS.labels(kind).inc()
        self._warn.warning("claude call failed", key=f"fail:{kind}", kind=kind, error=str(exc),
                           camera_id=item.request.camera_id)  # fmt: skip
        row = error_row(item.request, str(exc), model=self._model, created_at=self._clock(),
                        response={"kind": kind})  # fmt: skip
        await self._store.insert(row)


def _count_reply(reply: ClaudeReply, mode: Mode) -> None:
    metrics.CALLS.labels(mode, "ok" if reply.analysis is not None else "invalid").inc()
    metrics.TOKENS.labels("input").inc(reply.input_tokens)
    metrics.TOKENS.labels("output").inc(reply.output_tokens)
    metrics.TOKENS.labels("cache_read").inc(reply.cache_read_tokens)
    metrics.TOKENS.labels("cache_creation").inc(reply.cache_creation_tokens)
    metrics.COST.inc(reply.cost_usd)
    metrics.DURATION.labels(mode).observe(reply.duration_ms / 1000)
