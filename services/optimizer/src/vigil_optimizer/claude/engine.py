"""The Claude recommendation engine: one Messages call per recommendation, the heuristic as
the fallback for everything that is not a valid answer within the camera's options.

:meth:`ClaudeEngine.recommend` sends the camera's snapshot (from ``snapshots``, when given),
its capabilities, current settings and context with the cached system prompt, and forces the
``recommend_camera_settings`` tool (:mod:`.tool`, narrowed to the camera's options). Before
the call the runtime's :class:`~vigil_runtime.claude.admission.Admission` checks the global
calls-per-minute and per-hour limits (Redis, shared by every replica), reserves the
request's token bound in the daily budget (``optimizer``) and asks the circuit breaker.
Afterwards the budget is settled with the billed tokens (released when the call failed),
and the breaker hears the outcome: an answer (even a bad one) is a success, the API being
unavailable a failure, our request refused neither.

A valid answer (:func:`.answer.judge`) is the recommendation: provider ``claude``, the
model, the answer's confidence (clamped to [0, 1]) and explanation, and its warnings (plus
one when no snapshot could be sent). Anything else (no key, a limit, the budget, the breaker,
Redis down, an API error or timeout, a malformed or out-of-range answer) returns the
``fallback`` engine's recommendation, provider ``heuristic``, whose first warning says why
Claude's was not used. ``processing_time_ms`` is the whole time spent, Claude's included.
Every outcome is counted in ``vigil_optimizer_claude_calls_total{outcome}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Final

import anthropic
import redis.asyncio as aioredis
from anthropic.types import Message

from vigil_optimizer.claude import metrics
from vigil_optimizer.claude.answer import Accepted, judge
from vigil_optimizer.claude.prompt import SYSTEM_PROMPT, build_messages, system_blocks
from vigil_optimizer.claude.settings import ClaudeEngineSettings
from vigil_optimizer.claude.tool import TOOL_NAME, recommendation_tool
from vigil_optimizer.recommendation import (
    Recommendation,
    RecommendationContext,
    RecommendationEngine,
)
from vigil_runtime.circuit_breaker import CircuitBreaker
from vigil_runtime.claude.admission import Admission
from vigil_runtime.claude.client import TOOL_PROMPT_TOKENS, sdk_client, text_tokens_bound
from vigil_runtime.claude.cost import Pricing, TokenUsage
from vigil_runtime.claude.errors import ClaudeRejectedError, ClaudeUnavailableError, translated
from vigil_runtime.claude.image import image_tokens_bound
from vigil_runtime.logging import get_logger
from vigil_runtime.rate_limit import Limit, RateLimiter
from vigil_runtime.redis_client import REDIS_ERRORS
from vigil_runtime.token_budget import Reservation, TokenBudget
from vigil_schema.streams import ratelimit_key

__all__ = ["BREAKER_NAME", "BUDGET_NAME", "ClaudeEngine", "SnapshotSource"]

_log = get_logger(__name__)

SnapshotSource = Callable[[RecommendationContext], Awaitable[bytes | None]]
"""The camera's latest snapshot (JPEG bytes), or None when there is none (OSError: none)."""

BUDGET_NAME: Final = "optimizer"
BREAKER_NAME: Final = "optimizer_claude"
RATE_PREFIX: Final = ratelimit_key("optimizer", "claude", "calls")
BUDGET_PREFIX: Final = ratelimit_key("optimizer", "claude", "tokens")

_REFUSALS: Final = {
    "rate_limited": "the Claude call limit is reached",
    "budget": "the daily Claude token budget is spent",
    "breaker_open": "Claude's circuit breaker is open after repeated failures",
}


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


class ClaudeEngine:
    """See the module docstring. ``sdk`` replaces the client the settings would build;
    ``rate_clock`` (epoch seconds) times the call limits instead of the Redis server."""

    def __init__(
        self,
        settings: ClaudeEngineSettings,
        redis: aioredis.Redis,
        *,
        fallback: RecommendationEngine,
        snapshots: SnapshotSource | None = None,
        sdk: anthropic.AsyncAnthropic | None = None,
        rate_clock: Callable[[], float] | None = None,
    ) -> None:
        s = settings
        self.model = s.optimizer_claude_model
        self.max_tokens = s.optimizer_claude_max_tokens
        self._fallback = fallback
        self._snapshots = snapshots
        self._sdk = sdk or sdk_client(s.anthropic_api_key, base_url=s.anthropic_base_url,
                                      timeout_s=s.optimizer_claude_timeout_s)  # fmt: skip
        self._pricing = Pricing(s.optimizer_claude_input_price_per_mtok,
                                s.optimizer_claude_output_price_per_mtok)  # fmt: skip
        self._limits = [
            Limit("global:minute", s.optimizer_claude_calls_per_minute, 60.0),
            Limit("global:hour", s.optimizer_claude_calls_per_hour, 3600.0),
        ]
        self.budget = TokenBudget(redis, BUDGET_PREFIX, s.optimizer_claude_daily_token_budget,
                                  name=BUDGET_NAME)  # fmt: skip
        self.breaker = CircuitBreaker(BREAKER_NAME, failures=s.optimizer_claude_breaker_failures,
                                      reset_s=s.optimizer_claude_breaker_reset_s)  # fmt: skip
        limiter = RateLimiter(redis, RATE_PREFIX, clock=rate_clock)
        self._admission = Admission(limiter, self.budget, self.breaker)

    async def recommend(self, context: RecommendationContext) -> Recommendation:
        """Claude's recommendation, or the fallback's with the reason (module docstring)."""
        started = time.monotonic()
        try:
            result = await self._ask(context, started)
        except REDIS_ERRORS as exc:
            metrics.CALLS.labels("redis").inc()
            result = f"Redis is unavailable for Claude's limits ({exc})"
        if isinstance(result, Recommendation):
            return result
        _log.info("claude recommendation not used", camera_id=context.camera_id, reason=result)
        fallen = await self._fallback.recommend(context)
        warning = f"Claude's recommendation was not used: {result}; the heuristic's instead"
        return replace(fallen, provider="heuristic", warnings=[warning, *fallen.warnings],
                       processing_time_ms=_elapsed_ms(started))  # fmt: skip

    async def _ask(self, context: RecommendationContext, started: float) -> Recommendation | str:
        if self._sdk is None:
            metrics.CALLS.labels("no_key").inc()
            return "no Anthropic API key is configured"
        jpeg = await self._snapshot(context)
        token = self._target_profile(context)
        params, with_image = self._params(context, token, jpeg)
        admitted = await self._admission.admit(
            self._limits, self._tokens(params, jpeg if with_image else None)
        )
        if isinstance(admitted, str):
            metrics.CALLS.labels(admitted).inc()
            return _REFUSALS[admitted]
        message = await self._call(params, admitted)
        if isinstance(message, str):
            return message
        verdict = judge(message, context.capabilities, token)
        if not isinstance(verdict, Accepted):
            metrics.CALLS.labels(verdict.outcome).inc()
            _log.warning("claude answer refused", camera_id=context.camera_id,
                         outcome=verdict.outcome, reason=verdict.reason,
                         answer=verdict.tool_input)  # fmt: skip
            label = "malformed" if verdict.outcome == "malformed" else "out of range"
            return f"its answer was {label} ({verdict.reason})"
        metrics.CALLS.labels("ok").inc()
        warnings = verdict.warnings
        if not with_image:
            warnings = ["recommended without a snapshot (none usable)", *warnings]
        return Recommendation(
            settings=verdict.settings, confidence=verdict.confidence,
            explanation=verdict.explanation, provider="claude", warnings=warnings,
            model=message.model, processing_time_ms=_elapsed_ms(started),
        )  # fmt: skip

    async def _snapshot(self, context: RecommendationContext) -> bytes | None:
        if self._snapshots is None:
            return None
        try:
            return await self._snapshots(context)
        except OSError as exc:  # a snapshot file gone or unreadable: ask without it
            _log.warning("snapshot unavailable", camera_id=context.camera_id, error=str(exc))
            return None

    async def _call(self, params: dict[str, Any], reservation: Reservation) -> Message | str:
        """The answer (an anthropic Message), or why there is none; accounts for the call."""
        assert self._sdk is not None
        try:
            with translated():
                message: Message = await self._sdk.messages.create(**params)
        except ClaudeUnavailableError as exc:
            await self.budget.release(reservation)
            self.breaker.record_failure()
            metrics.CALLS.labels("unavailable").inc()
            return f"Claude is unavailable ({exc})"
        except ClaudeRejectedError as exc:
            await self.budget.release(reservation)
            metrics.CALLS.labels("rejected").inc()
            return f"Claude refused the request ({exc})"
        except asyncio.CancelledError:
            await asyncio.shield(self.budget.release(reservation))
            raise
        usage = TokenUsage.of(message.usage)
        self.breaker.record_success()  # the call worked: count it before touching Redis again
        _count(usage, self._pricing)
        try:
            await self.budget.settle(reservation, usage.total)
        except REDIS_ERRORS as exc:  # the answer is good; the reservation expires with the day
            _log.warning("claude budget not settled", error=str(exc), tokens=usage.total)
        return message

    @staticmethod
    def _target_profile(context: RecommendationContext) -> str | None:
        """The profile of the current stream settings, else the camera's main one."""
        stream = context.current.stream
        profile = context.capabilities.profile(stream.profile_token if stream else None)
        return profile.token if profile is not None else None

    def _params(
        self, context: RecommendationContext, token: str | None, jpeg: bytes | None
    ) -> tuple[dict[str, Any], bool]:
        messages, with_image = build_messages(context, token, jpeg)
        tool = recommendation_tool(context.capabilities, token)
        params = {"model": self.model, "max_tokens": self.max_tokens, "system": system_blocks(),
                  "tools": [tool], "tool_choice": {"type": "tool", "name": TOOL_NAME},
                  "messages": messages}  # fmt: skip
        return params, with_image

    def _tokens(self, params: dict[str, Any], jpeg: bytes | None) -> int:
        """An upper bound of the request's tokens: image, texts, tool, output."""
        texts = [SYSTEM_PROMPT, json.dumps(params["tools"])]
        texts += [b["text"] for b in params["messages"][0]["content"] if b["type"] == "text"]
        image = image_tokens_bound(jpeg) if jpeg is not None else 0
        return image + text_tokens_bound(*texts) + TOOL_PROMPT_TOKENS + self.max_tokens

    async def close(self) -> None:
        """Close the SDK's HTTP connections."""
        if self._sdk is not None:
            await self._sdk.close()


def _count(usage: TokenUsage, pricing: Pricing) -> None:
    metrics.TOKENS.labels("input").inc(usage.input_tokens)
    metrics.TOKENS.labels("output").inc(usage.output_tokens)
    metrics.TOKENS.labels("cache_read").inc(usage.cache_read_tokens)
    metrics.TOKENS.labels("cache_creation").inc(usage.cache_creation_tokens)
    metrics.COST.inc(usage.cost(pricing, batch=False))
