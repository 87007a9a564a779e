"""Redis Streams: a producer, and a consumer-group consumer with at-least-once delivery.

:class:`StreamProducer` (:mod:`vigil_runtime.stream_producer`, re-exported here) adds
entries through :class:`vigil_runtime.stream_writer.StreamWriter` (bounded by the stream's
``StreamPolicy``, idempotent per entry key).

:class:`StreamConsumer` creates its group at the stream's documented start position
(``StreamPolicy.start``: ``$`` for live-only streams, a time back for replaying ones; see
:attr:`StreamConsumer.start_id`), reads with ``XREADGROUP``, hands a batch to an async
handler that commits its own work, and only then ``XACK``s it, recording in the same
``MULTI`` that the group completed each entry's idempotency key
(``SET {stream}:done:{group}:{key} 1 EX dedup_window``). An entry whose key the group
already completed (a duplicate from a redelivered producer message, or a redelivery of
an entry that was handled but not acknowledged) is acknowledged without calling the
handler and counted (``vigil_stream_duplicates_skipped_total``). The window that remains:
a handler that committed and crashed before the ``MULTI`` sees that entry again, and two
copies handled at the same moment by two consumers of the group both run; handlers
therefore stay idempotent (dedup keys in PostgreSQL). Entries whose
consumer died are taken over with ``XAUTOCLAIM`` once idle for
``claim_idle_ms``. A batch that fails is retried entry by entry so that one
poison entry cannot block the others; an entry that failed ``max_deliveries``
times (or was delivered more often than that, e.g. because it crashed its
consumers) is added to the dead-letter stream (idempotent per stream, group, entry
id and fields), then acknowledged.
A handler error that :func:`is_transient` recognises (database or Redis
down) is not the entry's fault: the batch is retried in place with backoff
and never dead-lettered for it. Length, lag, pending and entries trimmed before the group
read them are exported every ``lag_interval_s`` (:mod:`vigil_runtime.stream_stats`).

Camera affinity (optional ``router``, e.g.
:meth:`vigil_runtime.membership.GroupMembership.router`): the router names the consumer
that must handle an entry (``None`` or this consumer: here; a router that raises on an
entry means here, where the handler fails it in turn). An entry routed elsewhere is handed
over with ``XCLAIM <owner> 0 <id> RETRYCOUNT n JUSTID``: it moves to the owner's pending
list, unacknowledged, neither handled nor acknowledged here. ``n`` is the entry's
deliveries minus one, so a handover never counts as a failed delivery (measured on Redis
6.2 and 7.0: ``JUSTID`` leaves the count alone, ``RETRYCOUNT`` sets it, and both
``XCLAIM`` without ``JUSTID`` and a history read ``XREADGROUP ... 0`` add one and reset
the idle time). Each poll the owner first reclaims idle entries, then picks up what was
handed to it, then reads new entries, so that older entries of a key go first. A pickup
lists the consumer's own pending entries (``XPENDING ... <consumer>``, which changes
nothing) and ``XCLAIM``s them to itself (one delivery more) with ``min-idle-time`` = the
idle time just listed, so an entry another consumer took meanwhile stays there. It skips
entries this consumer failed itself and nobody touched since: those wait for
``XAUTOCLAIM`` after ``claim_idle_ms`` as before (a history read is not used because it
would redeliver them at once and reset their idle time). Pickups run on every poll while
this consumer holds no failed entries, else every ``pickup_interval_s`` (failures another
consumer has taken since are forgotten then). Entries of a dead consumer (read ones and
ones handed to it) are reclaimed after ``claim_idle_ms`` and routed again. Ping-pong while
replicas' views differ is bounded: an entry this consumer already handed over
``max_handovers`` times within ``handover_window_s`` is handled here. Overdue entries are
dead-lettered wherever they are, before routing; handler failures are dead-lettered by the
owner. Handed-over entries wait for the owner's next poll (up to ``block_ms`` when idle).
On a clean stop, :meth:`StreamConsumer.hand_back` (after :meth:`StreamConsumer.run` ended
and the membership was left) passes the consumer's pending entries to their new owners at
once instead of after ``claim_idle_ms``.

The Redis client must speak RESP2 (redis-py's default) and return bytes
(``decode_responses=False``), and its ``socket_timeout``, if any, must
exceed ``block_ms``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio
import redis.exceptions
from prometheus_client import Counter

from vigil_runtime.backoff import Backoff
from vigil_runtime.completed_keys import CompletedKeys
from vigil_runtime.db import is_transient_error
from vigil_runtime.faults import is_transient_redis_error
from vigil_runtime.logging import get_logger
from vigil_runtime.redis_client import REDIS_CONNECTION_ERRORS
from vigil_runtime.stream_producer import StreamProducer
from vigil_runtime.stream_stats import export, read_stream_stats
from vigil_runtime.stream_writer import OutgoingEntry, StreamWriter
from vigil_runtime.tasks import wait_event
from vigil_schema.entry_keys import IDEMPOTENCY_FIELD
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import DLQ, STREAM_POLICIES, Envelope, StreamPolicy, stream_policy

__all__ = [
    "Handler",
    "Router",
    "StreamConsumer",
    "StreamEntry",
    "StreamProducer",
    "is_transient",
]

_log = get_logger(__name__)

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
DUPLICATES = Counter(
    "vigil_stream_duplicates_skipped_total",
    "Entries acknowledged without handling: the group had completed their key",
    ["stream", "group"],
)

HANDED_OVER = Counter(
    "vigil_stream_handed_over_total",
    "Entries routed to another consumer and handed over with XCLAIM",
    ["stream", "group"],
)
PICKED_UP = Counter(
    "vigil_stream_handover_pickups_total",
    "Entries handed to this consumer and picked up from its pending list",
    ["stream", "group"],
)
HANDOVER_KEPT = Counter(
    "vigil_stream_handover_kept_total",
    "Entries handled where read although routed elsewhere: handed over too often already",
    ["stream", "group"],
)

_ERROR_MEMORY = 10_000  # entry ids whose last handler error is remembered
_KEY_FIELD = IDEMPOTENCY_FIELD.encode()


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One delivered entry; ``deliveries`` counts this delivery (1 when new)."""

    id: bytes
    fields: dict[bytes, bytes]
    deliveries: int

    @property
    def key(self) -> bytes | None:
        """The entry's idempotency key (``None`` when its producer gave none)."""
        return self.fields.get(_KEY_FIELD) or None


Handler = Callable[[list[StreamEntry]], Awaitable[None]]
Router = Callable[[StreamEntry], str | None]
"""The consumer that must handle an entry; ``None`` (or the consumer itself): handle here."""


def is_transient(exc: BaseException) -> bool:
    """Whether a handler error means "a server is unavailable", not "bad entry": PostgreSQL's
    (:func:`vigil_runtime.db.is_transient_error`) or Redis's state
    (:func:`vigil_runtime.faults.is_transient_redis_error`: unreachable, loading, out of
    memory, read-only replica, ...)."""
    return is_transient_redis_error(exc) or is_transient_error(exc)


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
        policies: Mapping[str, StreamPolicy] = STREAM_POLICIES,
        router: Router | None = None,
        max_handovers: int = 3,
        handover_window_s: float = 60.0,
        pickup_interval_s: float | None = None,
    ) -> None:
        if min(batch_size, block_ms, claim_idle_ms, max_deliveries, max_handovers) < 1:
            raise ValueError(
                "batch_size, block_ms, claim_idle_ms, max_deliveries, max_handovers must be >= 1"
            )
        if retry_backoff_max <= 0:
            raise ValueError("retry_backoff_max must be > 0")
        self._redis = client
        self.stream, self.group, self.consumer = stream, group, consumer
        self.policy = stream_policy(stream, policies)
        stream_policy(dlq_stream, policies)  # the dead-letter stream needs a bound too
        self._completed = CompletedKeys(client, stream, group, self.policy.dedup_window)
        self._writer = StreamWriter(client, policies=policies)
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
        self._trimmed_seen: dict[str, int | None] = {}
        self._errors: OrderedDict[bytes, tuple[str, float]] = OrderedDict()  # (error, when)
        self._router = router
        self._max_handovers = max_handovers
        self._handover_window_s = handover_window_s
        self._pickup_every_s = (
            pickup_interval_s if pickup_interval_s is not None else min(claim_idle_ms / 4000, 1.0)
        )
        self._next_pickup_at = 0.0
        self._handed: OrderedDict[bytes, tuple[int, float]] = OrderedDict()  # (times, since)
        self._group_ready = False
        self._stop = asyncio.Event()
        labels = (stream, group)
        self._consumed = CONSUMED.labels(*labels)
        self._acked = ACKED.labels(*labels)
        self._reclaimed = RECLAIMED.labels(*labels)
        self._dead = DEAD_LETTERED.labels(*labels)
        self._handler_errors = HANDLER_ERRORS.labels(*labels)
        self._duplicates = DUPLICATES.labels(*labels)
        self._handed_over = HANDED_OVER.labels(*labels)
        self._picked_up = PICKED_UP.labels(*labels)
        self._kept = HANDOVER_KEPT.labels(*labels)

    def _new_backoff(self) -> Backoff:
        return Backoff(initial=min(0.1, self._retry_backoff_max), maximum=self._retry_backoff_max)

    @property
    def start_id(self) -> str:
        """Where a group created now starts (after this id): the policy's documented start,
        ``$`` (live only), ``0`` (all retained) or now minus a replay window."""
        return self.policy.start_id(datetime.now(UTC))

    async def ensure_group(self) -> None:
        """Create the group (and the stream) at :attr:`start_id` if missing; an existing
        group keeps its position."""
        try:
            await self._redis.xgroup_create(
                self.stream, self.group, id=self.start_id, mkstream=True
            )
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
        """Reclaim idle entries, pick up entries handed over to this consumer, read new ones;
        handle and ack (or hand over) them; return how many."""
        if not self._group_ready:
            await self.ensure_group()
        handled = 0
        claimed = await self._reclaim()
        if claimed:
            handled += await self._process(claimed)
        picked = await self._pick_up()
        if picked:
            handled += await self._process(picked)
        fresh = await self._read_new(block=not (claimed or picked))
        if fresh:
            handled += await self._process(fresh)
        await self._update_lag()
        return handled

    async def hand_back(self) -> int:
        """After :meth:`run` ended and this consumer left its membership: hand its pending
        entries (handed to it and not picked up, or failed here) to their owners now rather
        than after ``claim_idle_ms``; their delivery counts stay as they are. Entries the
        router keeps here stay pending (``XAUTOCLAIM`` takes them later). How many moved."""
        router, moved, start = self._router, 0, "-"
        while router is not None:
            listed: Any = await self._redis.xpending_range(self.stream, self.group, min=start,
                                                           max="+", count=self._batch_size,
                                                           consumername=self.consumer)  # fmt: skip
            if not listed:
                break
            start = "(" + listed[-1]["message_id"].decode()
            owners = [(e, self._owner_of(router, e)) for e in await self._fetch(listed)]
            away = [(e, owner) for e, owner in owners if owner not in (None, self.consumer)]
            if away:
                await self._hand_over(away)
            moved += len(away)
        return moved

    async def _fetch(self, listed: list[Any]) -> list[StreamEntry]:
        """The listed pending entries still in the stream, read without a delivery
        (``deliveries`` one more than so far, as if delivered now)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in listed:
                pipe.xrange(self.stream, min=item["message_id"], max=item["message_id"])
            replies = await pipe.execute()
        return [StreamEntry(eid, dict(fields), item["times_delivered"] + 1)
                for item, reply in zip(listed, replies, strict=True)
                for eid, fields in reply]  # fmt: skip

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

    async def _pick_up(self) -> list[StreamEntry]:
        """Claim (one delivery more) the entries other consumers handed to this one."""
        now = time.monotonic()
        if self._router is None or (self._errors and now < self._next_pickup_at):
            return []
        self._next_pickup_at = now + self._pickup_every_s
        count = self._batch_size + len(self._errors)
        listed: Any = await self._redis.xpending_range(self.stream, self.group, min="-",
                                                       max="+", count=count,
                                                       consumername=self.consumer)  # fmt: skip
        if len(listed) < count:  # the whole pending list: forget failures taken elsewhere
            self._forget_errors_except({item["message_id"] for item in listed})
        waiting = [item for item in listed if not self._failed_here(item, now)]
        waiting = waiting[: self._batch_size]
        if not waiting:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for item in waiting:
                pipe.xclaim(self.stream, self.group, self.consumer,
                            item["time_since_delivered"], [item["message_id"]])  # fmt: skip
            replies = await pipe.execute()
        return await self._picked(waiting, replies)

    def _forget_errors_except(self, pending: set[bytes]) -> None:
        for entry_id in [entry_id for entry_id in self._errors if entry_id not in pending]:
            del self._errors[entry_id]

    def _failed_here(self, item: Mapping[str, Any], now: float) -> bool:
        """Whether a pending entry is one this consumer failed and nobody touched since
        (its idle time covers the time since the failure)."""
        failed = self._errors.get(item["message_id"])
        return failed is not None and item["time_since_delivered"] + 1 >= (now - failed[1]) * 1000

    async def _picked(self, waiting: list[Any], replies: list[Any]) -> list[StreamEntry]:
        """The claimed entries; entries deleted meanwhile are acknowledged (Redis 6.2
        answers them with no fields; 7.0 drops them from the pending list itself)."""
        entries: list[StreamEntry] = []
        gone: list[bytes] = []
        for item, claimed in zip(waiting, replies, strict=True):
            if not claimed:
                continue  # another consumer took it meanwhile
            entry_id, fields = claimed[0]
            if entry_id is None or not fields:
                gone.append(item["message_id"])
            else:
                entries.append(StreamEntry(entry_id, dict(fields), item["times_delivered"] + 1))
        if gone:
            await self._redis.xack(self.stream, self.group, *gone)
        self._picked_up.inc(len(entries))
        self._consumed.inc(len(entries))
        return entries

    # -- handling --------------------------------------------------------------

    async def _process(self, entries: list[StreamEntry]) -> int:
        overdue = [e for e in entries if e.deliveries > self._max_deliveries]
        if overdue:
            await self._dead_letter(overdue)
        live = await self._skip_completed(
            [e for e in entries if e.deliveries <= self._max_deliveries]
        )
        live = await self._route(live)
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

    async def _skip_completed(self, entries: list[StreamEntry]) -> list[StreamEntry]:
        """Acknowledge (without handling) the entries whose key the group completed, or
        that repeat a key earlier in the batch; the others, in order."""
        flags = await self._completed.duplicates([entry.key for entry in entries])
        skipped = [entry.id for entry, duplicate in zip(entries, flags, strict=True) if duplicate]
        if skipped:
            await self._redis.xack(self.stream, self.group, *skipped)
            self._duplicates.inc(len(skipped))
            self._acked.inc(len(skipped))
        return [entry for entry, duplicate in zip(entries, flags, strict=True) if not duplicate]

    async def _route(self, entries: list[StreamEntry]) -> list[StreamEntry]:
        """Hand over the entries the router assigns to another consumer; the rest, in order."""
        router = self._router
        if router is None:
            return entries
        mine: list[StreamEntry] = []
        away: list[tuple[StreamEntry, str]] = []
        for entry in entries:
            owner = self._owner_of(router, entry)
            if owner is None or owner == self.consumer or self._bounced(entry):
                mine.append(entry)
            else:
                away.append((entry, owner))
        if away:
            await self._hand_over(away)
        return mine

    def _owner_of(self, router: Router, entry: StreamEntry) -> str | None:
        """The router's answer; ``None`` (handle here, where a bad entry fails and is
        dead-lettered) when the router raises on the entry."""
        try:
            return router(entry)
        except Exception as exc:
            _log.warning("stream_route_failed", stream=self.stream, group=self.group,
                         entry_id=entry.id.decode(), error=repr(exc))  # fmt: skip
            return None

    def _bounced(self, entry: StreamEntry) -> bool:
        """Whether this consumer handed the entry over ``max_handovers`` times lately."""
        times, since = self._handed.get(entry.id, (0, 0.0))
        if times < self._max_handovers or time.monotonic() - since > self._handover_window_s:
            return False
        self._kept.inc()
        _log.warning("stream_handover_kept", stream=self.stream, group=self.group,
                     entry_id=entry.id.decode(), handovers=times)  # fmt: skip
        return True

    async def _hand_over(self, away: list[tuple[StreamEntry, str]]) -> None:
        """Move each entry to its owner's pending list, its delivery count minus this one."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry, owner in away:
                pipe.xclaim(self.stream, self.group, owner, 0, [entry.id],
                            retrycount=entry.deliveries - 1, justid=True)  # fmt: skip
            await pipe.execute()
        now = time.monotonic()
        for entry, _ in away:
            times, since = self._handed.pop(entry.id, (0, now))
            fresh = now - since > self._handover_window_s
            self._handed[entry.id] = (1, now) if fresh else (times + 1, since)
        while len(self._handed) > _ERROR_MEMORY:
            self._handed.popitem(last=False)
        self._handed_over.inc(len(away))

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
        self._errors[entry.id] = (error, time.monotonic())
        self._errors.move_to_end(entry.id)
        while len(self._errors) > _ERROR_MEMORY:
            self._errors.popitem(last=False)
        if entry.deliveries >= self._max_deliveries:
            await self._dead_letter([entry])

    async def _ack(self, entries: Sequence[StreamEntry]) -> None:
        """Record the entries' keys as completed by the group and ``XACK`` them, in one
        ``MULTI``."""
        ids = [e.id for e in entries]
        async with self._redis.pipeline(transaction=True) as pipe:
            self._completed.record(pipe, (entry.key for entry in entries))
            pipe.xack(self.stream, self.group, *ids)
            await pipe.execute()
        self._acked.inc(len(ids))
        for entry_id in ids:
            self._errors.pop(entry_id, None)

    async def _dead_letter(self, entries: Sequence[StreamEntry]) -> None:
        """Add each entry to the DLQ, then XACK them. A crash in between redelivers them;
        the DLQ write is idempotent (key: stream, group, entry id, fields): no second letter."""
        letters = [
            OutgoingEntry(self._dlq, Envelope.wrap(DeadLetter.from_entry(
                stream=self.stream, group=self.group, consumer=self.consumer,
                entry_id=entry.id, fields=entry.fields, deliveries=entry.deliveries,
                error=self._errors.get(entry.id, ("max deliveries exceeded",))[0],
            )).to_fields())
            for entry in entries
        ]  # fmt: skip
        await self._writer.write(letters)
        await self._redis.xack(self.stream, self.group, *[entry.id for entry in entries])
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
        stats = await read_stream_stats(self._redis, self.stream, self._trimmed_seen)
        for group in stats.groups:
            self._trimmed_seen[group.group] = group.trimmed_unread
        export(stats, self.group)
