"""Redis Streams: a producer, and a consumer-group consumer with at-least-once delivery.

:class:`StreamConsumer` reads with ``XREADGROUP``, hands a batch to an async
handler that commits its own work, and only then ``XACK``s it. Entries whose
consumer died are taken over with ``XAUTOCLAIM`` once idle for
``claim_idle_ms``. A batch that fails is retried entry by entry so that one
poison entry cannot block the others; an entry that failed ``max_deliveries``
times (or was delivered more often than that, e.g. because it crashed its
consumers) is moved to the dead-letter stream and acknowledged, atomically.
A handler error that :func:`is_transient` recognises (database or Redis
down) is not the entry's fault: the batch is retried in place with backoff
and never dead-lettered for it.

The Redis client must speak RESP2 (redis-py's default) and return bytes
(``decode_responses=False``), and its ``socket_timeout``, if any, must
exceed ``block_ms``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio
import redis.exceptions
from prometheus_client import Counter, Gauge

from vigil_runtime.backoff import Backoff
from vigil_runtime.db import is_transient_error
from vigil_runtime.logging import get_logger
from vigil_runtime.redis_client import REDIS_CONNECTION_ERRORS
from vigil_runtime.tasks import wait_event
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import DLQ, Envelope

__all__ = [
    "REDIS_CONNECTION_ERRORS",
    "FieldSource",
    "Fields",
    "Handler",
    "StreamConsumer",
    "StreamEntry",
    "StreamProducer",
    "is_transient",
]

_log = get_logger(__name__)

Fields = Mapping[str | bytes, bytes | str | int | float]

PUBLISHED = Counter("vigil_stream_published_total", "Entries added to a stream", ["stream"])
CONSUMED = Counter(
    "vigil_stream_consumed_total", "Entries delivered to this consumer", ["stream", "group"]
)
ACKED = Counter("vigil_stream_acked_total", "Entries acknowledged", ["stream", "group"])
RECLAIMED = Counter(
    "vigil_stream_reclaimed_total", "Idle entries taken over with XAUTOCLAIM", ["stream", "group"]
)
DEAD_LETTERED = Counter(
    "vigil_stream_dead_lettered_total",
    "Entries moved to the dead-letter stream",
    ["stream", "group"],
)
HANDLER_ERRORS = Counter(
    "vigil_stream_handler_errors_total", "Handler calls that raised", ["stream", "group"]
)
LAG = Gauge("vigil_stream_lag", "Entries not yet delivered to the group (XINFO GROUPS lag)",
            ["stream", "group"])  # fmt: skip

_ERROR_MEMORY = 10_000  # entry ids whose last handler error is remembered
_DLQ_MAXLEN = 100_000


class FieldSource(Protocol):
    """Anything with ``to_fields()``, such as ``vigil_schema.streams.Envelope``."""

    def to_fields(self) -> Mapping[str, bytes | str]: ...


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One delivered entry; ``deliveries`` counts this delivery (1 when new)."""

    id: bytes
    fields: dict[bytes, bytes]
    deliveries: int


Handler = Callable[[list[StreamEntry]], Awaitable[None]]


def is_transient(exc: BaseException) -> bool:
    """Whether a handler error means "a server is unavailable", not "bad entry"."""
    return isinstance(exc, REDIS_CONNECTION_ERRORS) or is_transient_error(exc)


def _as_fields(fields: Fields | FieldSource) -> dict[Any, Any]:
    if isinstance(fields, Mapping):
        return dict(fields)
    return dict(fields.to_fields())


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


class StreamProducer:
    """Publishes entries (a field mapping or an ``Envelope``) to streams."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._redis = client

    async def publish(
        self,
        stream: str,
        fields: Fields | FieldSource,
        *,
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> bytes:
        """``XADD`` one entry, trimming to ``maxlen`` (``~`` when approximate); return its id."""
        entry_id = await self._redis.xadd(
            stream, _as_fields(fields), maxlen=maxlen, approximate=approximate
        )
        PUBLISHED.labels(stream).inc()
        return _as_bytes(entry_id)

    async def publish_many(
        self,
        items: Iterable[tuple[str, Fields | FieldSource]],
        *,
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> list[bytes]:
        """``XADD`` (stream, fields) pairs in one MULTI/EXEC round trip; return the ids."""
        pairs = list(items)
        if not pairs:
            return []
        async with self._redis.pipeline(transaction=True) as pipe:
            for stream, fields in pairs:
                pipe.xadd(stream, _as_fields(fields), maxlen=maxlen, approximate=approximate)
            ids: list[bytes | str] = await pipe.execute()
        for stream, _ in pairs:
            PUBLISHED.labels(stream).inc()
        return [_as_bytes(entry_id) for entry_id in ids]


class _Stopped(Exception):
    """The stop event was set while a batch was being retried."""


class StreamConsumer:
    """One member of a consumer group; see the module docstring for the guarantees."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        stream: str,
        group: str,
        consumer: str,
        handler: Handler,
        *,
        batch_size: int = 100,
        block_ms: int = 1000,
        claim_idle_ms: int = 30_000,
        max_deliveries: int = 5,
        dlq_stream: str = DLQ,
        lag_interval_s: float = 5.0,
        retry_backoff_max: float = 10.0,
    ) -> None:
        if batch_size < 1 or block_ms < 1 or claim_idle_ms < 1 or max_deliveries < 1:
            raise ValueError("batch_size, block_ms, claim_idle_ms, max_deliveries must be >= 1")
        if retry_backoff_max <= 0:
            raise ValueError("retry_backoff_max must be > 0")
        self._redis = client
        self.stream, self.group, self.consumer = stream, group, consumer
        self._handler = handler
        self._batch_size = batch_size
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._claim_every_s = min(claim_idle_ms / 2000, 5.0)
        self._max_deliveries = max_deliveries
        self._dlq = dlq_stream
        self._lag_interval_s = lag_interval_s
        self._retry_backoff_max = retry_backoff_max
        self._claim_cursor: bytes | str = b"0-0"
        self._next_claim_at = 0.0
        self._next_lag_at = 0.0
        self._errors: OrderedDict[bytes, str] = OrderedDict()
        self._group_ready = False
        self._stop = asyncio.Event()
        labels = (stream, group)
        self._consumed = CONSUMED.labels(*labels)
        self._acked = ACKED.labels(*labels)
        self._reclaimed = RECLAIMED.labels(*labels)
        self._dead = DEAD_LETTERED.labels(*labels)
        self._handler_errors = HANDLER_ERRORS.labels(*labels)
        self._lag = LAG.labels(*labels)

    def _new_backoff(self) -> Backoff:
        return Backoff(initial=min(0.1, self._retry_backoff_max), maximum=self._retry_backoff_max)

    async def ensure_group(self) -> None:
        """Create the group (and the stream) if missing; new groups start at the beginning."""
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set (the current batch finishes first)."""
        self._stop = stop
        backoff = self._new_backoff()
        while not stop.is_set():
            try:
                if not self._group_ready:
                    await self.ensure_group()
                await self.poll_once()
                backoff.reset()
            except _Stopped:
                break
            except redis.exceptions.ResponseError as exc:
                # NOGROUP, or UNBLOCKED when the stream is deleted under a blocked read.
                if not str(exc).startswith(("NOGROUP", "UNBLOCKED")):
                    raise
                self._group_ready = False  # stream or group deleted: create it again
            except REDIS_CONNECTION_ERRORS as exc:
                delay = backoff.next_delay()
                _log.warning("stream_redis_unavailable", stream=self.stream, error=repr(exc),
                             retry_in_s=round(delay, 3))  # fmt: skip
                await wait_event(stop, delay)

    async def poll_once(self) -> int:
        """Reclaim idle entries, read new ones, handle and ack them; return how many."""
        if not self._group_ready:
            await self.ensure_group()
        handled = 0
        claimed = await self._reclaim()
        if claimed:
            handled += await self._process(claimed)
        fresh = await self._read_new(block=not claimed)
        if fresh:
            handled += await self._process(fresh)
        await self._update_lag()
        return handled

    # -- reading ---------------------------------------------------------------

    async def _read_new(self, *, block: bool) -> list[StreamEntry]:
        reply: Any = await self._redis.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=self._batch_size,
            block=self._block_ms if block else None,
        )
        if not reply:
            return []
        entries = [
            StreamEntry(entry_id, dict(fields), 1)
            for _stream, items in reply  # RESP2: [[stream, [(id, fields), ...]]]
            for entry_id, fields in items
        ]
        self._consumed.inc(len(entries))
        return entries

    async def _reclaim(self) -> list[StreamEntry]:
        """XAUTOCLAIM entries idle longer than claim_idle_ms, with their delivery counts."""
        now = time.monotonic()
        if self._claim_cursor in (b"0-0", "0-0") and now < self._next_claim_at:
            return []
        reply: Any = await self._redis.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=self._claim_idle_ms,
            start_id=self._claim_cursor,
            count=self._batch_size,
        )
        # Redis 6.2 answers [cursor, entries]; 7.0+ adds the ids of deleted entries.
        self._claim_cursor = reply[0]
        if self._claim_cursor in (b"0-0", "0-0"):
            self._next_claim_at = now + self._claim_every_s
        live = [(eid, fields) for eid, fields in reply[1] if eid is not None and fields]
        # 6.2 returns entries deleted (e.g. trimmed) since delivery with no fields: drop them.
        gone = [eid for eid, fields in reply[1] if eid is not None and not fields]
        if gone:
            await self._redis.xack(self.stream, self.group, *gone)
        if not live:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for eid, _ in live:
                pipe.xpending_range(self.stream, self.group, min=eid, max=eid, count=1)
            pending = await pipe.execute()
        entries = [
            StreamEntry(eid, dict(fields), info[0]["times_delivered"] if info else 1)
            for (eid, fields), info in zip(live, pending, strict=True)
        ]
        self._reclaimed.inc(len(entries))
        self._consumed.inc(len(entries))
        return entries

    # -- handling --------------------------------------------------------------

    async def _process(self, entries: list[StreamEntry]) -> int:
        overdue = [e for e in entries if e.deliveries > self._max_deliveries]
        if overdue:
            await self._dead_letter(overdue)
        live = [e for e in entries if e.deliveries <= self._max_deliveries]
        if not live:
            return len(entries)
        try:
            await self._handle(live)
        except Exception as exc:
            if len(live) == 1:
                await self._failed(live[0], exc)
            else:
                await self._isolate(live)
        else:
            await self._ack(live)
        return len(entries)

    async def _isolate(self, entries: list[StreamEntry]) -> None:
        """Handle entries one by one so that only the bad ones stay behind."""
        for entry in entries:
            try:
                await self._handle([entry])
            except Exception as exc:
                await self._failed(entry, exc)
            else:
                await self._ack([entry])

    async def _handle(self, entries: list[StreamEntry]) -> None:
        """Call the handler; transient failures are retried in place until ``stop``."""
        backoff = self._new_backoff()
        while True:
            try:
                await self._handler(entries)
                return
            except Exception as exc:
                self._handler_errors.inc()
                if not is_transient(exc):
                    raise
                delay = backoff.next_delay()
                _log.warning("stream_handler_unavailable", stream=self.stream, group=self.group,
                             error=repr(exc), retry_in_s=round(delay, 3))  # fmt: skip
                if await wait_event(self._stop, delay):
                    raise _Stopped from exc

    async def _failed(self, entry: StreamEntry, exc: Exception) -> None:
        """Remember the error; dead-letter the entry if this was its last chance."""
        error = f"{type(exc).__name__}: {exc}"
        _log.warning(
            "stream_entry_failed",
            stream=self.stream,
            group=self.group,
            entry_id=entry.id.decode(),
            deliveries=entry.deliveries,
            error=error,
        )
        self._errors[entry.id] = error
        self._errors.move_to_end(entry.id)
        while len(self._errors) > _ERROR_MEMORY:
            self._errors.popitem(last=False)
        if entry.deliveries >= self._max_deliveries:
            await self._dead_letter([entry])

    async def _ack(self, entries: Sequence[StreamEntry]) -> None:
        ids = [e.id for e in entries]
        await self._redis.xack(self.stream, self.group, *ids)
        self._acked.inc(len(ids))
        for entry_id in ids:
            self._errors.pop(entry_id, None)

    async def _dead_letter(self, entries: Sequence[StreamEntry]) -> None:
        """XADD each entry to the DLQ and XACK it, in one MULTI/EXEC."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for entry in entries:
                letter = DeadLetter.from_entry(
                    stream=self.stream,
                    group=self.group,
                    consumer=self.consumer,
                    entry_id=entry.id,
                    fields=entry.fields,
                    deliveries=entry.deliveries,
                    error=self._errors.get(entry.id, "max deliveries exceeded"),
                )
                fields = _as_fields(Envelope.wrap(letter))
                pipe.xadd(self._dlq, fields, maxlen=_DLQ_MAXLEN, approximate=True)
                pipe.xack(self.stream, self.group, entry.id)
            await pipe.execute()
        for entry in entries:
            self._errors.pop(entry.id, None)
            _log.error("stream_entry_dead_lettered", stream=self.stream, group=self.group,
                       entry_id=entry.id.decode(), deliveries=entry.deliveries)  # fmt: skip
        self._dead.inc(len(entries))

    async def _update_lag(self) -> None:
        now = time.monotonic()
        if now < self._next_lag_at:
            return
        self._next_lag_at = now + self._lag_interval_s
        try:
            groups = await self._redis.xinfo_groups(self.stream)
        except redis.exceptions.ResponseError:  # the stream was deleted meanwhile
            return
        for info in groups:
            name = info.get("name")
            if name in (self.group, self.group.encode()) and info.get("lag") is not None:
                self._lag.set(info["lag"])  # Redis 7.0+
