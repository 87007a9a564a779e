"""`RuleConsumers`: the configuration's rules run on one replica at a time (a leader lock).

A rule's episodes (what matched, when it last matched, when to resolve) live in the
evaluator's memory, so two replicas splitting the ``vigil:detections`` / ``vigil:events``
entries between them would each see half of a camera's matches and resolve alerts the other
still refreshes. Only the holder of the Redis lease ``vigil:alerter:rules:leader``
(:class:`vigil_runtime.leader.LeaderLock`) consumes those streams, in the consumer group
``alerter-rules``, and ticks the evaluator; a replica that loses the lease stops its
consumers, and the next holder continues the group where it stopped (pending entries of the
old holder are reclaimed after the consumer's idle time). Episodes do not move with the
lease: a firing rule alert carries ``ends_at`` (last match + ``resolve_after``), so the
alerter's expiry resolves it if nobody refreshes it. With no rules configured nothing runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

import redis.asyncio

from vigil_alerter.clock import Clock
from vigil_alerter.engine.intake import Intake
from vigil_alerter.rules.evaluator import ConfigSource, RuleEvaluator
from vigil_alerter.rules.maintenance import MaintenanceRegistry
from vigil_runtime.leader import LeaderLock
from vigil_runtime.logging import get_logger
from vigil_runtime.redis_client import REDIS_CONNECTION_ERRORS
from vigil_runtime.streams import StreamConsumer
from vigil_runtime.tasks import cancel_until_done, wait_event
from vigil_schema.streams import DETECTIONS, EVENTS

__all__ = ["GROUP", "LOCK_KEY", "RuleConsumers"]

LOCK_KEY: Final = "vigil:alerter:rules:leader"
GROUP: Final = "alerter-rules"
_log = get_logger("vigil.alerter.rules")


class RuleConsumers:
    """Leader-only consumers of detections and events feeding a :class:`RuleEvaluator`."""

    def __init__(
        self,
        redis_client: redis.asyncio.Redis,
        pool: Any,
        holder: ConfigSource,
        intake: Intake,
        clock: Clock,
        *,
        instance: str,
        lease_s: float = 15.0,
    ) -> None:
        self._redis = redis_client
        self._maintenance = MaintenanceRegistry(pool)
        self._holder = holder
        self._evaluator = RuleEvaluator(holder, self._maintenance, intake.ingest, clock)
        self._instance = instance
        self._lease_s = lease_s
        self._lock = LeaderLock(redis_client, LOCK_KEY, instance, lease_s, name="alerter-rules")
        self._stop_consumers: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def leading(self) -> bool:
        return self._lock.held

    async def run(self, stop: asyncio.Event) -> None:
        """Hold or seek the lease every third of it; run the consumers while held."""
        await self._maintenance.start()
        try:
            while not stop.is_set():
                await self._step()
                await wait_event(stop, self._lease_s / 3)
        finally:
            await self._stop()
            with contextlib.suppress(*REDIS_CONNECTION_ERRORS):
                await asyncio.shield(self._lock.release())
            await self._maintenance.close()

    async def _step(self) -> None:
        wanted = bool(self._holder.current.config.rules)
        try:
            leading = wanted and await self._lock.hold()
        except REDIS_CONNECTION_ERRORS as exc:
            _log.warning("rules_lease_unavailable", error=repr(exc))
            leading = False
        if leading and not self._tasks:
            self._start()
        elif not leading and self._tasks:
            await self._stop()
            if not wanted:
                with contextlib.suppress(*REDIS_CONNECTION_ERRORS):
                    await self._lock.release()

    def _start(self) -> None:
        stop = self._stop_consumers = asyncio.Event()
        handler = self._evaluator.handle_entries
        self._tasks = [
            asyncio.create_task(
                StreamConsumer(self._redis, stream, GROUP, self._instance, handler).run(stop),
                name=f"rules-{stream}",
            )
            for stream in (DETECTIONS, EVENTS)
        ]
        self._tasks.append(asyncio.create_task(self._evaluator.run(stop), name="rules-tick"))
        _log.info("rules_leading", instance=self._instance)

    async def _stop(self) -> None:
        if self._stop_consumers is not None:
            self._stop_consumers.set()
        if self._tasks:
            await cancel_until_done(self._tasks)
            _log.info("rules_stopped", instance=self._instance)
        self._tasks = []
