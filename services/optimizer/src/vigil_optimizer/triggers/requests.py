"""Operators' requests (``vigil:optimizer:requests``) → a review, an inspection, an apply.

:class:`RequestTrigger` consumes the stream in consumer group ``optimizer``. Per
:class:`~vigil_schema.messages.OptimizerRequest` action:

- ``recommend``: a ``manual`` review through the :class:`~vigil_optimizer.scheduler.FleetScheduler`
  (queued, or upgrading / following up the camera's current job); the handler does not wait
  for it;
- ``inspect``, ``apply``, ``verify``: the injected :class:`RequestActions` callable, awaited
  under ``request_timeout_s``. The requests of one batch run concurrently, so one dead camera
  costs the batch at most the timeout and never holds up the others. ``apply`` and
  ``verify`` need ``optimization_id``: without it the entry is dead-lettered (``invalid``).
  An action the service does not provide (``None``) is counted ``unsupported``.

Nothing is answered on the stream: every outcome is logged and counted in
``vigil_optimizer_requests_total{action,outcome}`` (``ok``, ``error``, ``timeout``,
``expired``, ``invalid``, ``unsupported``, or for ``recommend`` what the scheduler did:
``queued``, ``upgraded``, ``follow_up``, ``duplicate``, ``closed``). A failed action is not
retried (its pipeline records the failure; the operator asks again): the stream is
at-least-once, and an apply must not run twice because another request of its batch failed.
A request older than ``request_max_age_s`` (the group starts at every retained request, a
week) is skipped as ``expired``. Stop this trigger before the scheduler, so that a
``recommend`` read during shutdown is not dropped as ``closed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

import redis.asyncio
from prometheus_client import Counter

from vigil_optimizer.scheduler import FleetScheduler, Reason
from vigil_optimizer.triggers.stream_trigger import GROUP, ConsumerSettings, StreamTrigger
from vigil_runtime.logging import get_logger
from vigil_runtime.settings import redact_text
from vigil_runtime.streams import StreamEntry
from vigil_schema.clock import utc_now
from vigil_schema.messages import OptimizerAction, OptimizerRequest
from vigil_schema.streams import OPTIMIZER_REQUESTS

__all__ = ["GROUP", "Action", "RequestActions", "RequestTrigger"]

_log = get_logger(__name__)


REQUESTS: Final = Counter(
    "vigil_optimizer_requests_total",
    "Requests read from vigil:optimizer:requests, by action and outcome",
    ["action", "outcome"],
)

Action = Callable[[OptimizerRequest], Awaitable[None]]
"""Carries out one request (raises on failure); it logs and records its own results."""


@dataclass(frozen=True, slots=True)
class RequestActions:
    """The service's callables for the actions that are not reviews (``None``: unsupported)."""

    inspect: Action | None = None
    apply: Action | None = None
    verify: Action | None = None

    def for_action(self, action: OptimizerAction) -> Action | None:
        """The callable of ``inspect``, ``apply`` or ``verify``."""
        return {
            OptimizerAction.INSPECT: self.inspect,
            OptimizerAction.APPLY: self.apply,
            OptimizerAction.VERIFY: self.verify,
        }.get(action)


class RequestTriggerSettings(ConsumerSettings, Protocol):
    """What :class:`RequestTrigger` reads (``OptimizerSettings`` has it)."""

    @property
    def request_timeout_s(self) -> float: ...
    @property
    def request_max_age_s(self) -> float: ...


_NEEDS_OPTIMIZATION: Final = frozenset({OptimizerAction.APPLY, OptimizerAction.VERIFY})


class RequestTrigger(StreamTrigger):
    """Consumes ``vigil:optimizer:requests`` (see the module docstring)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        scheduler: FleetScheduler,
        actions: RequestActions,
        settings: RequestTriggerSettings,
        *,
        block_ms: int = 1000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(client, OPTIMIZER_REQUESTS, settings, block_ms=block_ms)
        self._scheduler = scheduler
        self._actions = actions
        self._settings = settings
        self._clock = clock

    async def handle(self, entries: list[StreamEntry]) -> None:
        """The consumer's handler: reviews are queued, the other actions run concurrently."""
        calls: list[Awaitable[str]] = []
        for entry in entries:
            request = await self._valid_request(entry)
            if request is None:
                continue
            if request.action is OptimizerAction.RECOMMEND:
                result = self._scheduler.submit(request.camera_id, Reason.MANUAL)
                self._done(request, result.value)
            else:
                calls.append(self._call(request))
        await asyncio.gather(*calls)

    async def _valid_request(self, entry: StreamEntry) -> OptimizerRequest | None:
        """The entry's request if it should be carried out (else counted and logged)."""
        message = await self._reader.read(entry)
        if message is None:
            REQUESTS.labels("unknown", "invalid").inc()
            return None
        if not isinstance(message, OptimizerRequest):
            await self._reader.reject(entry, f"not an optimizer request: {message.MESSAGE_TYPE}")
            REQUESTS.labels("unknown", "invalid").inc()
            return None
        if message.action in _NEEDS_OPTIMIZATION and message.optimization_id is None:
            await self._reader.reject(entry, f"{message.action.value} needs optimization_id")
            self._done(message, "invalid")
            return None
        max_age = self._settings.request_max_age_s
        if max_age and self._clock() - message.requested_at > timedelta(seconds=max_age):
            self._done(message, "expired")
            return None
        return message

    async def _call(self, request: OptimizerRequest) -> str:
        """Run one action under the timeout; its outcome."""
        action = self._actions.for_action(request.action)
        if action is None:
            return self._done(request, "unsupported")
        timeout_s = self._settings.request_timeout_s
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                await action(request)
        except TimeoutError as exc:
            outcome = "timeout" if deadline.expired() else "error"
            return self._done(request, outcome, exc)
        except Exception as exc:
            return self._done(request, "error", exc)
        return self._done(request, "ok")

    def _done(self, request: OptimizerRequest, outcome: str, exc: Exception | None = None) -> str:
        REQUESTS.labels(request.action.value, outcome).inc()
        fields = {
            "request_id": request.request_id, "camera_id": request.camera_id,
            "action": request.action.value, "requested_by": request.requested_by,
            "optimization_id": request.optimization_id, "outcome": outcome,
        }  # fmt: skip
        if exc is None:
            _log.info("optimizer_request", **fields)
        else:
            error = redact_text(f"{type(exc).__name__}: {exc}")
            _log.warning("optimizer_request", error=error, **fields)
        return outcome
