"""``Dispatcher``: delivers the outbox, each receiver by its own workers.

For every receiver with due rows, one lane keeps up to ``workers_per_receiver`` sends in
flight: it leases as many due rows as it has free slots in one statement
(:func:`ledger.lease_batch`, committed before sending, so a row is leased only when it can
be sent at once), and for each row finds its integration by ``channel`` in the *current*
config's receiver, wait for the receiver's ``rate_limit`` (over it, the row is
deferred without counting the attempt: it waits, never drops), send outside any transaction,
then end the attempt:

- ``SENT`` → ``sent`` (``sent_at``, metric ``sent``, ``delivery_seconds`` since queued); the
  lane marks the rows sent since its last statement together (:func:`ledger.mark_sent_many`)
  before it leases more;
- ``SUPPRESSED`` (the integration's filter left nothing) → ``suppressed``;
- a retryable :class:`DeliveryError` (or an unexpected exception) → retry at ``now +``
  :func:`backoff_policy.retry_delay` (never past ``deadline_at``), metric ``retried``;
- past ``max_attempts`` or ``deadline_at``, a non-retryable error, a receiver or channel
  missing from the config → ``failed`` with ``last_error``, a ``vigil:dlq`` letter
  (:mod:`.dead_letter`), metric ``failed``.

Lanes of different receivers never wait for each other: a slow receiver only delays its own
rows. A crash between send and mark leaves the row leased; once the lease runs out it is
sent again with the same ``Idempotency-Key``. Times come from ``clock`` (tests move it);
the rate limiter reads the same clock.

:meth:`dispatch_once` runs one round (a lane for every due receiver until none of its rows
is due) and returns the rows handled (webhooks share one keep-alive HTTP session during a round,
or during :meth:`run`); :meth:`run` keeps lanes going until ``stop``, looking
for due rows every ``poll_interval`` or as soon as :meth:`wake` is called (this replica
queued something).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

import aiohttp
import asyncpg
import redis.asyncio as aioredis

from vigil_alerter.clock import Clock
from vigil_alerter.config.models import AlerterConfig, Receiver
from vigil_alerter.delivery import ledger
from vigil_alerter.delivery.backoff_policy import retry_delay
from vigil_alerter.delivery.dead_letter import publish_dead_letter
from vigil_alerter.delivery.ledger import OutboxRow
from vigil_alerter.delivery.settings import DeliverySettings
from vigil_alerter.metrics import DELIVERY_SECONDS, NOTIFICATIONS, PENDING
from vigil_alerter.receivers import build_integrations
from vigil_alerter.receivers.base import DeliveryError, Integration, SendOutcome
from vigil_runtime.logging import get_logger
from vigil_runtime.rate_limit import Limit, RateLimiter
from vigil_runtime.streams import StreamProducer
from vigil_runtime.tasks import wait_event

__all__ = ["ConfigSource", "Dispatcher"]

_log = get_logger(__name__)

RATE_LIMIT_PREFIX = "vigil:alerter:ratelimit"
_MIN_DEFER = timedelta(milliseconds=10)


class _Loaded(Protocol):
    @property
    def config(self) -> AlerterConfig: ...


class ConfigSource(Protocol):
    """What the dispatcher needs of ``ConfigHolder``: the current loaded configuration."""

    @property
    def current(self) -> _Loaded: ...


IntegrationFactory = Callable[[Receiver], Mapping[str, Integration]]


class Dispatcher:
    """Sends due outbox rows (see the module docstring); ``owner`` names this replica."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        holder: ConfigSource,
        redis: aioredis.Redis,
        clock: Clock,
        settings: DeliverySettings,
        owner: str,
        *,
        integrations: IntegrationFactory | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._holder = holder
        self._clock = clock
        self._settings = settings
        self._owner = owner
        self._integrations = integrations or self._build_integrations
        self._http: aiohttp.ClientSession | None = None
        self._rng = rng or random.Random()
        self._producer = StreamProducer(redis)
        self._limiter = RateLimiter(redis, RATE_LIMIT_PREFIX, clock=lambda: clock().timestamp())
        self._running: dict[str, list[asyncio.Task[int]]] = {}
        self._gauged: set[str] = set()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due rows now rather than at the next poll (in :meth:`run`)."""
        self._wake.set()

    async def dispatch_once(self) -> int:
        """A lane for every receiver with due rows, until none is due; rows handled."""
        async with self._http_session():
            tasks = await self._spawn_due()
            counts = await asyncio.gather(*tasks)
        return sum(counts)

    @contextlib.asynccontextmanager
    async def _http_session(self) -> AsyncIterator[None]:
        """Webhooks share one keep-alive HTTP session while this is entered (outermost
        entry opens and closes it)."""
        if self._http is not None:
            yield
            return
        self._http = aiohttp.ClientSession()
        try:
            yield
        finally:
            session, self._http = self._http, None
            await session.close()

    def _build_integrations(self, receiver: Receiver) -> Mapping[str, Integration]:
        return build_integrations(receiver, http=self._http)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll for due receivers every ``poll_interval`` (or at :meth:`wake`) until ``stop``;
        then cancel in-flight sends (their leases run out and they are sent again)."""
        poll_s = self._settings.poll_interval.total_seconds()
        async with self._http_session():
            await self._poll(stop, poll_s)

    async def _poll(self, stop: asyncio.Event, poll_s: float) -> None:
        loop = asyncio.get_running_loop()
        gauged_at = -poll_s
        try:
            while not stop.is_set():
                try:
                    await self._spawn_due()
                    if loop.time() - gauged_at >= poll_s:  # at most once a poll, not per wake
                        await self.update_pending_gauge()
                        gauged_at = loop.time()
                except Exception:  # DB/Redis down: poll again later
                    _log.exception("delivery_poll_failed")
                if not stop.is_set():
                    await wait_event(self._wake, poll_s)
                    self._wake.clear()
        finally:
            tasks = [task for tasks in self._running.values() for task in tasks]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def update_pending_gauge(self) -> None:
        """Set ``notifications_pending`` per receiver (0 for receivers that emptied)."""
        async with self._pool.acquire() as conn:
            counts = await ledger.pending_counts(conn)
        for receiver in self._gauged - counts.keys():
            PENDING.labels(receiver).set(0)
        for receiver, count in counts.items():
            PENDING.labels(receiver).set(count)
        self._gauged = set(counts)

    async def _spawn_due(self) -> list[asyncio.Task[int]]:
        async with self._pool.acquire() as conn:
            receivers = await ledger.due_receivers(conn, self._clock())
        spawned: list[asyncio.Task[int]] = []
        for receiver in receivers:
            if any(not task.done() for task in self._running.get(receiver, [])):
                continue
            tasks = [asyncio.create_task(self._lane(receiver), name=f"delivery:{receiver}")]
            self._running[receiver] = tasks
            spawned.extend(tasks)
        return spawned

    async def _lane(self, receiver: str) -> int:
        """Lease and send ``receiver``'s due rows, up to ``workers_per_receiver`` at a time,
        until none is due; the rows handled."""
        slots = self._settings.workers_per_receiver
        in_flight: dict[asyncio.Task[bool], OutboxRow] = {}
        sent: list[OutboxRow] = []
        handled = 0
        try:
            while True:
                rows = await self._mark_and_lease(receiver, sent, slots - len(in_flight))
                sent = []
                for row in rows:
                    in_flight[asyncio.create_task(self._send(row))] = row
                handled += len(rows)
                if not in_flight:
                    return handled
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                finished = [(in_flight.pop(task), task.result()) for task in done]
                sent = [row for row, was_sent in finished if was_sent]
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _mark_and_lease(
        self, receiver: str, sent: list[OutboxRow], free: int
    ) -> list[OutboxRow]:
        """Mark ``sent`` rows sent and lease up to ``free`` due rows of ``receiver``, in one
        transaction (one commit)."""
        now = self._clock()
        changed: set[int] = set()
        rows: list[OutboxRow] = []
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    if sent:
                        changed = await ledger.mark_sent_many(conn, sent, now)
                    if free > 0:
                        rows = await ledger.lease_batch(
                            conn, receiver=receiver, owner=self._owner, now=now,
                            lease_until=now + self._settings.lease, limit=free,
                        )  # fmt: skip
            except Exception:
                if not sent:
                    raise
                # DB down: the leases run out and the rows are sent again
                _log.exception("delivery_mark_failed", receiver=receiver)
                return []
        for row in sent:
            if row.id in changed:
                self._count_delivered(row, SendOutcome.SENT, now)
        return rows

    async def _send(self, row: OutboxRow) -> bool:
        """One attempt; ``True`` when sent and left for the lane to mark."""
        try:
            return await self._attempt(row)
        except Exception:  # DB/Redis down: the lease runs out, the row is tried again
            _log.exception("delivery_attempt_crashed", notification_id=row.id,
                           receiver=row.receiver)  # fmt: skip
            return False

    def _integration(self, row: OutboxRow) -> tuple[Receiver, Integration]:
        """The row's receiver and integration in the current config (else a final error)."""
        try:
            receiver = self._holder.current.config.receiver(row.receiver)
        except KeyError:
            raise DeliveryError(
                f"receiver {row.receiver!r} is not in the current configuration",
                retryable=False,
            ) from None
        integration = self._integrations(receiver).get(row.channel)
        if integration is None:
            raise DeliveryError(
                f"receiver {row.receiver!r} has no integration {row.channel!r} "
                "in the current configuration",
                retryable=False,
            )
        return receiver, integration

    async def _attempt(self, row: OutboxRow) -> bool:
        """Send ``row``: ``True`` when sent (the caller marks it); any other end of the
        attempt is recorded here."""
        try:
            receiver, integration = self._integration(row)
            if row.payload is None:
                raise DeliveryError("the outbox row has no payload", retryable=False)
            if row.attempts > self._settings.max_attempts:
                raise DeliveryError(
                    f"{row.attempts - 1} attempts (leases ran out unmarked)", retryable=False
                )
        except DeliveryError as exc:
            await self._attempt_failed(row, str(exc), retryable=exc.retryable)
            return False
        if not await self._rate_allows(row, receiver):
            return False
        try:
            outcome = await integration.send(row.payload, row.idempotency_key or f"n-{row.id}")
        except DeliveryError as exc:
            await self._attempt_failed(row, str(exc), retryable=exc.retryable)
        except Exception as exc:  # an integration's bug must not stop the worker
            _log.exception("delivery_integration_error", notification_id=row.id)
            await self._attempt_failed(row, f"{type(exc).__name__}: {exc}", retryable=True)
        else:
            if outcome is SendOutcome.SENT:
                return True
            await self._attempt_succeeded(row, outcome)
        return False

    async def _rate_allows(self, row: OutboxRow, receiver: Receiver) -> bool:
        """Take a slot of the receiver's rate limit, or defer the row until one frees."""
        limit = receiver.rate_limit
        if limit is None:
            return True
        decision = await self._limiter.acquire(
            [Limit(f"receiver:{row.receiver}", limit.max, limit.per.total_seconds())]
        )
        if decision.allowed:
            return True
        wait = max(timedelta(seconds=decision.retry_after_s), _MIN_DEFER)
        async with self._pool.acquire() as conn:
            await ledger.defer(conn, row, until=self._clock() + wait)
        _log.info("delivery_rate_limited", notification_id=row.id, receiver=row.receiver,
                  retry_after_s=round(wait.total_seconds(), 3))  # fmt: skip
        return False

    async def _attempt_succeeded(self, row: OutboxRow, outcome: SendOutcome) -> None:
        now = self._clock()
        async with self._pool.acquire() as conn:
            if outcome is SendOutcome.SENT:
                changed = await ledger.mark_sent(conn, row, now)
            else:
                changed = await ledger.mark_suppressed(conn, row, "nothing to send (filtered)")
        if changed:
            self._count_delivered(row, outcome, now)

    @staticmethod
    def _count_delivered(row: OutboxRow, outcome: SendOutcome, now: datetime) -> None:
        NOTIFICATIONS.labels(row.receiver, outcome.value).inc()
        if outcome is SendOutcome.SENT:
            DELIVERY_SECONDS.labels(row.receiver).observe(
                max((now - row.created_at).total_seconds(), 0.0)
            )
        _log.info("notification_delivered", notification_id=row.id, receiver=row.receiver,
                  channel=row.channel, outcome=outcome.value, attempts=row.attempts)  # fmt: skip

    async def _attempt_failed(self, row: OutboxRow, error: str, *, retryable: bool) -> None:
        now = self._clock()
        final = (
            not retryable
            or row.attempts >= self._settings.max_attempts
            or (row.deadline_at is not None and now >= row.deadline_at)
        )
        if final:
            await self._fail(row, error)
            return
        at = now + retry_delay(
            row.attempts,
            base=self._settings.backoff_base,
            cap=self._settings.backoff_cap,
            rng=self._rng,
        )
        if row.deadline_at is not None:
            at = min(at, row.deadline_at)
        async with self._pool.acquire() as conn:
            changed = await ledger.schedule_retry(conn, row, at=at, error=error)
        if changed:
            NOTIFICATIONS.labels(row.receiver, "retried").inc()
            _log.warning("notification_retry", notification_id=row.id, receiver=row.receiver,
                         channel=row.channel, attempts=row.attempts, error=error,
                         next_attempt_at=at.isoformat())  # fmt: skip

    async def _fail(self, row: OutboxRow, error: str) -> None:
        """Dead-letter first (idempotent), then mark: a crash in between fails it again."""
        await publish_dead_letter(self._producer, row, error, self._owner)
        async with self._pool.acquire() as conn:
            changed = await ledger.mark_failed(conn, row, error)
        if changed:
            NOTIFICATIONS.labels(row.receiver, "failed").inc()
            _log.error("notification_failed", notification_id=row.id, receiver=row.receiver,
                       channel=row.channel, attempts=row.attempts, error=error)  # fmt: skip
