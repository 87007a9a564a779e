"""Routine requests through the Message Batches API (half the price), durable across replicas.

:class:`BatchQueue` collects admitted routine requests and submits them as one batch when
``claude_batch_size`` are waiting or the oldest has waited ``claude_batch_wait_s`` (and on
shutdown). A submitted batch is recorded in the Redis hash ``vigil:claude:batches`` (batch id
→ its requests as JSON, :class:`~.admitted.Admitted`) before anything else happens, so its
results are never lost with the replica that submitted it.

:meth:`BatchQueue.collect` (every ``claude_batch_poll_s``, on every replica) polls each
recorded batch under a short lock (``vigil:claude:batches:lock:{id}``, one collector at a
time); an ended batch's results go to the ``finish`` callback one by one, then the record is
deleted. Results that were finished before a crash are finished again harmlessly: the store
keeps one row per frame and only a newly stored analysis alerts.

A failed submission (the API unavailable) finishes every request of the batch as failed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import orjson
import redis.asyncio as aioredis

from vigil_analyzer.claude.admitted import Admitted
from vigil_analyzer.claude.client import ClaudeClient
from vigil_analyzer.claude.keys import BATCHES
from vigil_analyzer.claude.models import ClaudeReply, custom_id
from vigil_runtime.claude.errors import ClaudeRejectedError, ClaudeUnavailableError
from vigil_runtime.logging import get_logger

_log = get_logger(__name__)
Outcome = ClaudeReply | ClaudeUnavailableError | ClaudeRejectedError
Finish = Callable[[Admitted, Outcome], Awaitable[None]]
LOCK_PREFIX: Final = BATCHES + ":lock:"


class BatchQueue:
    """See the module docstring."""

    def __init__(
        self,
        redis: aioredis.Redis,
        client: ClaudeClient,
        finish: Finish,
        *,
        size: int,
        wait_s: float,
        lock_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._client = client
        self._finish = finish
        self._size = size
        self._wait_s = wait_s
        self._lock_s = lock_s
        self._clock = clock
        self._waiting: list[Admitted] = []
        self._oldest = 0.0

    @property
    def waiting(self) -> int:
        """Requests not submitted yet."""
        return len(self._waiting)

    async def add(self, item: Admitted) -> None:
        """Queue one routine request; submits the batch when it is full."""
        if not self._waiting:
            self._oldest = self._clock()
        self._waiting.append(item)
        if len(self._waiting) >= self._size:
            await self.submit()

    async def submit_due(self) -> None:
        """Submit the waiting requests if the oldest has waited long enough."""
        if self._waiting and self._clock() - self._oldest >= self._wait_s:
            await self.submit()

    async def submit(self) -> None:
        """Submit every waiting request as one batch, recorded in Redis."""
        items, self._waiting = self._waiting, []
        if not items:
            return
        try:
            batch_id = await self._client.submit_batch([item.request for item in items])
        except (ClaudeUnavailableError, ClaudeRejectedError) as exc:
            for item in items:
                await self._finish(item, exc)
            return
        record = orjson.dumps([item.to_json() for item in items])
        await self._redis.hset(BATCHES, batch_id, record)
        _log.info("claude batch submitted", batch_id=batch_id, requests=len(items))

    async def collect(self) -> int:
        """Poll every recorded batch once; the number of results finished."""
        finished = 0
        for raw_id in await self._redis.hkeys(BATCHES):
            batch_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            lock = LOCK_PREFIX + batch_id
            if not await self._redis.set(lock, "1", nx=True, ex=max(1, round(self._lock_s))):
                continue
            try:
                finished += await self._collect_one(batch_id)
            finally:
                await self._redis.delete(lock)
        return finished

    async def _collect_one(self, batch_id: str) -> int:
        record = await self._redis.hget(BATCHES, batch_id)
        if record is None:
            return 0
        items = {item.request.key: item
                 for item in map(Admitted.from_json, orjson.loads(record))}  # fmt: skip
        results: Mapping[str, Outcome] | None
        try:
            results = await self._client.poll_batch(batch_id)
        except ClaudeUnavailableError as exc:
            _log.warning("claude batch poll failed", batch_id=batch_id, error=str(exc))
            return 0
        except ClaudeRejectedError as exc:  # e.g. the batch is unknown: it will never end
            _log.error("claude batch refused", batch_id=batch_id, error=str(exc))
            results = dict.fromkeys(items, exc)
        if results is None:
            return 0
        for key, item in items.items():
            outcome = results.get(key) or results.get(custom_id(key))  # another submitter's
            if outcome is None:
                outcome = ClaudeUnavailableError("server", f"batch {batch_id} returned no result")
            await self._finish(item, outcome)
        await self._redis.hdel(BATCHES, batch_id)
        return len(items)
