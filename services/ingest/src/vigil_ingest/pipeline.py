"""The ingest pipeline: queue → decode → COPY writers → (after commit) fan-out → ack.

* :meth:`Pipeline.submit` (synchronous, called by ``MqttLink.on_messages``) queues messages
  and pauses MQTT reading once ``queue_high_water`` messages, or ``queue_high_water_bytes``
  bytes (:func:`vigil_ingest.memory.held_bytes`), are unacknowledged; reading resumes once
  both are back at ``queue_low_water`` / ``queue_low_water_bytes``.
* One worker decodes the queue in arrival order and adds each message's rows to the
  writer of their table (``CopyWriter``; camera_events, frame_metadata and health_metrics
  take the ``ON CONFLICT DO NOTHING`` path when a redelivery hits their dedup key). A
  refused message becomes one ``ingest_rejects`` row.
* Every message is tracked in arrival order until acknowledged. Once all its rows are
  committed, the fan-out task takes the longest committed prefix (at most
  ``fanout_group_max`` messages and ``fanout_group_max_bytes`` of entries), writes its entries
  and live state in one Redis pipeline, hands status reports to the liveness tracker, and
  only then acknowledges the messages, in order. A message is therefore never acknowledged
  before its rows are committed and its entries written; a crash before that means the
  broker redelivers it.
* Backpressure: Redis down → the committed prefix waits and is retried with backoff (the
  readiness check fails meanwhile); PostgreSQL down or refusing the writes for a reason that
  is no row's fault (a revoked privilege, a partition it cannot create, a full disk: see
  :mod:`vigil_runtime.faults`) → the writers keep their rows, retry with backoff and the
  readiness check fails with the reason; the writers buffer up to their bound and then
  block the worker. Either way the tracked messages reach a high-water mark (count or
  bytes) and reading pauses; nothing is dropped, and everything resumes by itself when the
  cause goes away. The bytes mark is what bounds memory with large payloads (frames):
  docs/ingest.md "Memory" adds up what else is held.
* Only a row's own bad data (SQLSTATE class 22/23) makes it a reject: its message's original
  topic and payload go to ``ingest_rejects`` (replayable with ``vigil rejects replay``), and
  the message is acknowledged once that reject row is committed, never before.
* A fan-out group that fails with a non-transient Redis error ``POISON_ATTEMPTS`` times is
  split until the message that fails alone is found; that one goes to ``vigil:dlq``
  (:mod:`vigil_ingest.poison`), so one poisoned message never stalls the ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import redis.asyncio as aioredis

from vigil_ingest.backpressure import Backpressure
from vigil_ingest.decode import (
    Decoded,
    DecodeLimits,
    InboundMessage,
    Rejected,
    decode,
    reject_row,
)
from vigil_ingest.fanout import Fanout
from vigil_ingest.memory import fanout_bytes
from vigil_ingest.metrics import (
    ACKS,
    ACKS_STALE,
    EVENTS_COMMITTED,
    FANOUT_FAILURES,
    LAST_SEEN,
    MESSAGES_RECEIVED,
    REJECTED,
    observe_lag,
)
from vigil_ingest.poison import POISON_ATTEMPTS, publish_isolating, write_dead_letters
from vigil_ingest.registry import CameraRegistry
from vigil_ingest.settings import IngestSettings
from vigil_runtime.backoff import Backoff
from vigil_runtime.copy_writer import CopyWriter, Row
from vigil_runtime.faults import describe_error, is_transient_redis_error
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.partitions import PartitionHelper
from vigil_schema.enums import CameraStatus, RejectReason
from vigil_schema.tables import (
    CAMERA_EVENTS,
    FRAME_METADATA,
    HEALTH_METRICS,
    INGEST_REJECTS,
    TableSpec,
)

__all__ = ["Decoder", "InboundMessage", "Pipeline", "StatusHook", "decode_limits"]

_log = get_logger(__name__)

_DEDUP_TABLES = (CAMERA_EVENTS, FRAME_METADATA, HEALTH_METRICS)
"""The tables decoded messages write, each with a unique dedup key: their writers take the
conflict path on redelivery. (health_logs rows come from the liveness tracker, which
inserts its own.)"""
_STALLED_S = 1.0
"""A fan-out round trip taking longer than this makes the service not ready."""
_KINDS = ("events", "health", "frames", "status", "frigate", "unsupported")
"""Label values of ``vigil_ingest_messages_received_total{kind}``."""


M = TypeVar("M", bound=InboundMessage)
StatusHook = Callable[[str, CameraStatus, datetime], Awaitable[None] | None]
"""``on_status(camera_id, status, ts)``: the liveness tracker's entry point."""
Decoder = Callable[[M, datetime], Decoded | Rejected]


def decode_limits(settings: IngestSettings) -> DecodeLimits:
    """The decoding limits the settings ask for."""
    return DecodeLimits(
        max_payload_bytes=settings.max_payload_bytes,
        max_frame_bytes=settings.max_frame_bytes,
        max_future=timedelta(seconds=settings.max_future_s),
        default_max_age=timedelta(days=settings.default_max_age_days),
    )


class _Tracked(Generic[M]):
    """A message from receipt to acknowledgement."""

    __slots__ = ("decoded", "fanned_out", "inbound", "pending", "rejected_by_db", "status_done")

    def __init__(self, inbound: M, decoded: Decoded | None, pending: int) -> None:
        self.inbound = inbound
        self.decoded = decoded
        self.pending = pending  # writers whose rows are not yet committed
        self.fanned_out = False  # stream entries and state written
        self.status_done = decoded is None or decoded.status is None
        self.rejected_by_db = False  # its payload is in ingest_rejects (a row was refused)


class Pipeline(Generic[M]):
    """See the module docstring. Call :meth:`start`, feed :meth:`submit`, end with
    :meth:`drain`.
    """

    def __init__(
        self,
        pool: Any,
        redis: aioredis.Redis,
        registry: CameraRegistry,
        settings: IngestSettings,
        ack: Callable[[M], bool],
        pause: Callable[[], None] | None = None,
        resume: Callable[[], None] | None = None,
        *,
        on_status: StatusHook | None = None,
        decoder: Decoder[M] | None = None,
    ) -> None:
        self._ack = ack
        self._pressure = Backpressure(settings, pause, resume)
        self._on_status = on_status
        self._settings = settings
        limits = decode_limits(settings)
        self._decode: Decoder[M] = decoder or (lambda msg, now: decode(msg, registry, now, limits))
        self._fanout = Fanout(redis, frames_maxlen=settings.frames_maxlen)
        partitions = PartitionHelper(pool)
        self._writers = {
            spec.name: self._writer(pool, spec, partitions, conflict=True) for spec in _DEDUP_TABLES
        }
        self._rejects = CopyWriter(
            pool, INGEST_REJECTS, max_rows=settings.batch_max_rows,
            max_age_s=settings.batch_max_age_s, partitions=partitions,
        )  # fmt: skip
        self._queue: deque[M] = deque()
        self._tracked: deque[_Tracked[M]] = deque()
        self._wake_worker = asyncio.Event()
        self._wake_fanout = asyncio.Event()
        self._room = asyncio.Event()
        self._closing = False
        self._fanout_error: str | None = None
        self._publishing_since: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._warn = RateLimitedLogger(_log, interval_s=60.0)
        self._received = {kind: MESSAGES_RECEIVED.labels(kind) for kind in _KINDS}

    def _writer(
        self, pool: Any, spec: TableSpec, partitions: PartitionHelper, *, conflict: bool
    ) -> CopyWriter:
        async def on_reject(row: Row, exc: BaseException) -> None:
            await self._store_db_reject(spec.name, row, exc)

        return CopyWriter(
            pool, spec, max_rows=self._settings.batch_max_rows,
            max_age_s=self._settings.batch_max_age_s, partitions=partitions,
            conflict=conflict, on_reject=on_reject,
        )  # fmt: skip

    # -- intake (synchronous, on the event loop) ----------------------------------------

    @property
    def depth(self) -> int:
        """Messages received and not yet acknowledged."""
        return len(self._queue) + len(self._tracked)

    def submit(self, batch: Iterable[M]) -> None:
        """Queue messages (``MqttLink.on_messages``); pauses reading above high water.

        Messages submitted while draining are dropped unacknowledged: the broker redelivers
        them to the next session.
        """
        if self._closing:
            return
        messages = batch if isinstance(batch, list) else list(batch)
        self._queue.extend(messages)
        self._wake_worker.set()
        self._pressure.hold(messages, self.depth)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and the fan-out task."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._work(), name="ingest-worker"),
                asyncio.create_task(self._fan_out(), name="ingest-fanout"),
            ]

    async def ready_check(self) -> None:
        """Readiness: raises while the fan-out to Redis fails or a task died."""
        for task in self._tasks:
            if task.done():
                raise RuntimeError(f"{task.get_name()} stopped")
        faults = [f"{name}: {w.fault}" for name, w in self._named_writers() if w.fault]
        if faults:
            raise RuntimeError("postgres writes failing, rows kept: " + "; ".join(faults))
        if self._fanout_error is not None:
            raise RuntimeError(f"redis fan-out failing: {self._fanout_error}")
        started = self._publishing_since
        if started is not None and time.monotonic() - started > _STALLED_S:
            raise RuntimeError(f"redis fan-out stalled for {time.monotonic() - started:.1f} s")

    async def wait_failed(self) -> None:
        """Return (re-raising its error) when the worker or the fan-out task stops."""
        if self._tasks:
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Stop taking messages; commit, fan out and acknowledge what was decoded.

        Queued messages not yet decoded are left unacknowledged (redelivered). Returns
        whether everything decoded was acknowledged within ``timeout`` seconds.
        """
        self._closing = True
        self._pressure.stop_reading()
        dropped = list(self._queue)
        self._queue.clear()
        self._pressure.release(dropped, self.depth, closing=True)
        self._wake_worker.set()
        self._room.set()
        try:
            async with asyncio.timeout(timeout):
                if self._tasks:
                    await asyncio.wait({self._tasks[0]})
                await asyncio.gather(*(writer.flush() for writer in self._all_writers()))
                self._wake_fanout.set()
                if self._tasks:
                    await asyncio.wait({self._tasks[1]})
            clean = not self._tracked
        except TimeoutError:
            clean = False
            _log.warning("drain_timeout", unacknowledged=len(self._tracked))
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        for writer in self._all_writers():
            with contextlib.suppress(TimeoutError, RuntimeError):
                await writer.close(timeout=0.5)
        return clean

    def _all_writers(self) -> list[CopyWriter]:
        return [writer for _, writer in self._named_writers()]

    def _named_writers(self) -> list[tuple[str, CopyWriter]]:
        return [*self._writers.items(), (self._rejects.table, self._rejects)]

    # -- worker --------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            while not self._queue:
                if self._closing:
                    return
                self._wake_worker.clear()
                await self._wake_worker.wait()
            while len(self._tracked) >= self._settings.queue_high_water and not self._closing:
                self._room.clear()
                await self._room.wait()
            if self._closing:
                return
            await self._handle(self._queue.popleft())

    async def _handle(self, inbound: M) -> None:
        try:
            result = self._decode(inbound, datetime.now(UTC))
        except Exception as exc:  # a bug must not lose the message: keep it as a reject
            _log.exception("decode_failed", topic=inbound.topic)
            result = Rejected(RejectReason.VALIDATION_ERROR, f"internal decode error: {exc!r}")
        counter = self._received.get(result.kind) or self._received["unsupported"]
        counter.inc()
        if isinstance(result, Rejected):
            await self._store_reject(inbound, result)
            return
        tracked = _Tracked(inbound, result, len(result.rows))
        self._tracked.append(tracked)
        if not result.rows:
            self._wake_fanout.set()
            return
        for table, rows in result.rows.items():
            await self._writers[table].add_many(rows, on_commit=lambda: self._committed(tracked))

    async def _store_reject(self, inbound: M, rejected: Rejected) -> None:
        REJECTED.labels(rejected.reason.value).inc()
        self._warn.warning("message rejected", key=rejected.reason.value, topic=inbound.topic,
                           reason=rejected.reason.value, detail=rejected.detail[:300])  # fmt: skip
        tracked: _Tracked[M] = _Tracked(inbound, None, 1)
        self._tracked.append(tracked)
        row = reject_row(inbound.topic, inbound.payload, rejected, _utc(inbound.received_at))
        await self._rejects.add(row, on_commit=lambda: self._committed(tracked))

    async def _store_db_reject(self, table: str, row: Row, exc: BaseException) -> None:
        """A row the database refused for its own data (should not happen: payloads are
        validated to be storable): its message's topic and original payload go to
        ingest_rejects (once per message), committed before the message is acknowledged.
        Raises (the writer then retries, holding the message) if that row cannot be stored.
        """
        detail = f"the database refused a {table} row: {describe_error(exc)}"
        REJECTED.labels(RejectReason.VALIDATION_ERROR.value).inc()
        self._warn.error("row refused by the database", key=f"db:{table}", error=detail)
        tracked = self._tracked_of(table, row)
        if tracked is None:  # not reachable: every row added belongs to a tracked message
            raise RuntimeError(f"refused {table} row of no tracked message: {detail}")
        if tracked.rejected_by_db:
            return  # another row of the same message already kept its payload
        decoded = tracked.decoded
        rejected = Rejected(
            RejectReason.VALIDATION_ERROR, detail, decoded.camera_id if decoded else None
        )
        inbound = tracked.inbound
        received = _utc(inbound.received_at)
        await self._rejects.add(reject_row(inbound.topic, inbound.payload, rejected, received))
        await self._rejects.flush()
        tracked.rejected_by_db = True

    def _tracked_of(self, table: str, row: Row) -> _Tracked[M] | None:
        """The message a row was decoded from (rows are matched by identity; rare path)."""
        for tracked in self._tracked:
            decoded = tracked.decoded
            if decoded is not None and any(r is row for r in decoded.rows.get(table, ())):
                return tracked
        return None

    def _committed(self, tracked: _Tracked[M]) -> None:
        tracked.pending -= 1
        if tracked.pending > 0:
            return
        decoded = tracked.decoded
        if decoded is not None:
            if decoded.events:
                EVENTS_COMMITTED.inc(decoded.events)
            if decoded.source_ts is not None:
                observe_lag(decoded.source_ts, datetime.now(UTC))
        self._wake_fanout.set()

    # -- fan-out and acknowledgement -----------------------------------------------------

    def _committed_prefix(self) -> list[_Tracked[M]]:
        """The committed messages at the head, up to the group's count and byte limits."""
        group: list[_Tracked[M]] = []
        limit, budget = self._settings.fanout_group_max, self._settings.fanout_group_max_bytes
        size = 0
        for tracked in self._tracked:
            if tracked.pending > 0 or len(group) >= limit:
                break
            size += fanout_bytes(len(tracked.inbound.payload))
            if size > budget and group:
                break
            group.append(tracked)
        return group

    async def _fan_out(self) -> None:
        backoff = Backoff(initial=0.05, maximum=5.0)
        poisoned = 0  # non-transient failures of the head group in a row
        while True:
            group = self._committed_prefix()
            if not group:
                if self._closing and self._tasks[0].done() and not self._has_pending_rows():
                    return
                self._wake_fanout.clear()
                await self._wake_fanout.wait()
                continue
            self._publishing_since = time.monotonic()
            try:
                if poisoned >= POISON_ATTEMPTS:
                    await publish_isolating(group, self._publish, self._dead_letter)
                else:
                    await self._publish(group)
            except Exception as exc:
                self._fanout_failed(exc)
                poisoned = 0 if is_transient_redis_error(exc) else poisoned + 1
                await asyncio.sleep(backoff.next_delay())
                continue
            finally:
                self._publishing_since = None
            poisoned = 0
            backoff.reset()
            self._fanout_error = None
            self._acknowledge(group)

    def _has_pending_rows(self) -> bool:
        return any(tracked.pending > 0 for tracked in self._tracked)

    async def _publish(self, group: Sequence[_Tracked[M]]) -> None:
        """Fan out the group, then hand its status reports to liveness; a retry after a
        failure redoes only the steps that did not succeed.
        """
        pending = [tracked for tracked in group if not tracked.fanned_out]
        await self._fanout.publish([t.decoded for t in pending if t.decoded is not None])
        for tracked in pending:
            tracked.fanned_out = True
        for tracked in group:
            decoded = tracked.decoded
            if tracked.status_done or decoded is None or decoded.status is None:
                continue
            if self._on_status is not None and decoded.source_ts is not None:
                result = self._on_status(decoded.camera_id, decoded.status, decoded.source_ts)
                if inspect.isawaitable(result):
                    await result
            tracked.status_done = True

    async def _dead_letter(self, tracked: _Tracked[M], exc: BaseException) -> None:
        """A message whose fan-out fails alone: to ``vigil:dlq``, then done."""
        if tracked.decoded is not None:
            error = describe_error(exc)
            await write_dead_letters(
                self._fanout.writer, tracked.decoded, tracked.inbound.topic, error
            )
        tracked.fanned_out = True
        tracked.status_done = True

    def _fanout_failed(self, exc: Exception) -> None:
        FANOUT_FAILURES.inc()
        self._fanout_error = f"{type(exc).__name__}: {exc}"
        self._warn.warning("fan-out failed, retrying", key="fanout", error=self._fanout_error)

    def _acknowledge(self, group: list[_Tracked[M]]) -> None:
        """PUBACK the group in order; metrics once per group (per camera for last-seen)."""
        acked = 0
        last_seen: dict[str, float] = {}
        popleft, ack = self._tracked.popleft, self._ack
        for tracked in group:
            popleft()
            if ack(tracked.inbound):
                acked += 1
            decoded = tracked.decoded
            if decoded is not None and decoded.state:
                last_seen[decoded.camera_id] = tracked.inbound.received_at
        ACKS.inc(acked)
        if acked < len(group):
            ACKS_STALE.inc(len(group) - acked)
        for camera_id, received_at in last_seen.items():
            LAST_SEEN.labels(camera_id).set(received_at)
        self._room.set()
        self._pressure.release(
            (tracked.inbound for tracked in group), self.depth, closing=self._closing
        )


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
