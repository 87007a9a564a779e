"""Intake: alerts in, deduplicated into ``alerts`` rows and put in their aggregation groups.

:meth:`Intake.ingest` takes a batch of :class:`IncomingAlert` in one transaction. A firing
alert is upserted (one active row per fingerprint: a repeat raises ``occurrences``); a
resolved one resolves the active row of its fingerprint (``active = false``, ``ends_at``,
``status = 'resolved'`` by the source while open), and a resolve for no active alert is
ignored and counted. Each alert is then routed (the configuration's routing tree, with
``continue``) and its groups upserted with the alert as a member: a new group's first flush
is at ``now + group_wait``, or at once when the alert started more than ``group_wait`` ago
(Alertmanager). Firing alerts from a camera in maintenance are ignored. Creating and
resolving an alert is audited (``alert.created``, ``alert.resolved``; the batch's audit rows,
groups and memberships are written in one statement each). ``on_ingested``
(optional) is called after each committed batch (the service wakes its flusher with it).

:meth:`Intake.handle_entries` is the :class:`~vigil_runtime.streams.StreamConsumer`
handler of ``vigil:alerts``: it decodes every entry as an ``AlertCandidate`` first and
raises on one that is not (the consumer retries it alone and dead-letters it after its
``max_deliveries``), then ingests the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

import asyncpg

from vigil_alerter.clock import Clock
from vigil_alerter.config.holder import LoadedConfig
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.metrics import ALERTS, CANDIDATES
from vigil_alerter.routing.tree import Route
from vigil_alerter.store import alerts as alert_rows
from vigil_alerter.store import groups
from vigil_runtime.audit import AuditEntry, write_audits
from vigil_runtime.logging import get_logger
from vigil_runtime.streams import StreamEntry
from vigil_schema.enums import DesiredState
from vigil_schema.messages import AlertCandidate
from vigil_schema.streams import Envelope

__all__ = ["ACTOR", "ConfigSource", "Intake", "decode_candidate"]

ACTOR: Final = "alerter"
_log = get_logger(__name__)


class ConfigSource(Protocol):
    """What gives the current configuration (:class:`~vigil_alerter.config.holder.ConfigHolder`)."""

    @property
    def current(self) -> LoadedConfig: ...


def decode_candidate(entry: StreamEntry) -> AlertCandidate:
    """The entry's candidate; raises ``ValueError`` (``EnvelopeError``) when it is none."""
    message = Envelope.from_fields(entry.fields).decode()
    if not isinstance(message, AlertCandidate):
        raise ValueError(f"not an alert candidate: {type(message).__name__}")
    return message


class Intake:
    """Writes incoming alerts and their group membership (one replica or many)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        holder: ConfigSource,
        clock: Clock,
        *,
        on_ingested: Callable[[], None] | None = None,
    ) -> None:
        self._pool = pool
        self._holder = holder
        self._clock = clock
        self._on_ingested = on_ingested

    async def handle_entries(self, entries: list[StreamEntry]) -> None:
        """StreamConsumer handler: decode all (raise on a bad one), then ingest them."""
        candidates = [decode_candidate(entry) for entry in entries]
        for candidate in candidates:
            CANDIDATES.labels(candidate.source).inc()
        await self.ingest([IncomingAlert.from_candidate(c) for c in candidates])

    async def ingest(self, alerts: Sequence[IncomingAlert]) -> None:
        """Upsert or resolve ``alerts`` and their groups, in one transaction.

        Rows are locked in a fixed order (alerts by fingerprint, then groups by key) so that
        concurrent batches of several replicas never deadlock."""
        if not alerts:
            return
        now = self._clock()
        loaded = self._holder.current
        async with self._pool.acquire() as conn, conn.transaction():
            states = await alert_rows.camera_states(
                conn, sorted({a.camera_id for a in alerts if a.camera_id})
            )
            ordered = sorted(alerts, key=lambda a: a.fingerprint)  # stable sort
            audits: list[AuditEntry] = []
            if any(alert.is_resolved(now) for alert in ordered):
                placed = await self._store_each(conn, ordered, states, now, audits)
            else:  # all firing (the common case): one upsert statement
                placed = await self._upsert_all(conn, ordered, states, now, audits)
            await write_audits(conn, audits)
            plan = _plan(loaded, placed, now)
            await groups.upsert_groups(
                conn,
                [(p.group_key, p.route.key, p.route.receiver, p.group_labels, p.first_flush_at)
                 for p in plan],
                now,
            )  # fmt: skip
            await groups.add_member_pairs(
                conn, [(p.group_key, alert_id) for p in plan for alert_id in p.alert_ids]
            )
        if self._on_ingested is not None:
            self._on_ingested()

    async def _store_each(
        self, conn: asyncpg.Connection, ordered: Sequence[IncomingAlert],
        states: dict[str, str], now: datetime, audits: list[AuditEntry],
    ) -> list[tuple[IncomingAlert, int]]:  # fmt: skip
        """Write the alerts one by one, in order; those placed with their ids."""
        placed: list[tuple[IncomingAlert, int]] = []
        for alert in ordered:
            alert_id = await self._store(conn, alert, states, now, audits)
            if alert_id is not None:
                placed.append((alert, alert_id))
        return placed

    async def _upsert_all(
        self, conn: asyncpg.Connection, ordered: Sequence[IncomingAlert],
        states: dict[str, str], now: datetime, audits: list[AuditEntry],
    ) -> list[tuple[IncomingAlert, int]]:  # fmt: skip
        """:meth:`_store` for firing alerts only, in one statement per round."""
        kept = [a for a in ordered if not self._in_maintenance(a, states)]
        placed: list[tuple[IncomingAlert, int]] = []
        for alert, (alert_id, created) in zip(
            kept, await alert_rows.upsert_alerts(conn, kept, now), strict=True
        ):
            ALERTS.labels("created" if created else "deduplicated").inc()
            if created:
                audits.append(_created_entry(alert, alert_id, now))
            placed.append((alert, alert_id))
        return placed

    @staticmethod
    def _in_maintenance(alert: IncomingAlert, states: dict[str, str]) -> bool:
        """A firing alert of a camera in maintenance (ignored, counted)."""
        if alert.camera_id and states.get(alert.camera_id) == DesiredState.MAINTENANCE:
            ALERTS.labels("ignored").inc()
            return True
        return False

    async def _store(
        self, conn: asyncpg.Connection, alert: IncomingAlert, states: dict[str, str],
        now: datetime, audits: list[AuditEntry],
    ) -> int | None:  # fmt: skip
        """Write the alert (its audit entry added to ``audits``); its id, or ``None`` when it
        was ignored."""
        if alert.is_resolved(now):
            return await self._resolve(conn, alert, now, audits)
        if self._in_maintenance(alert, states):
            return None
        alert_id, created = await alert_rows.upsert_alert(conn, alert, now)
        ALERTS.labels("created" if created else "deduplicated").inc()
        if created:
            audits.append(_created_entry(alert, alert_id, now))
        return alert_id

    async def _resolve(
        self, conn: asyncpg.Connection, alert: IncomingAlert, now: datetime,
        audits: list[AuditEntry],
    ) -> int | None:  # fmt: skip
        ends_at = alert.ends_at if alert.ends_at is not None and alert.ends_at <= now else now
        resolved = await alert_rows.resolve_alert(conn, alert.fingerprint, ends_at, now)
        if resolved is None:
            ALERTS.labels("ignored").inc()
            return None
        ALERTS.labels("resolved").inc()
        audits.append(AuditEntry(
            actor=ACTOR, action="alert.resolved", entity_type="alert",
            entity_id=str(resolved.alert_id), ts=now, service=ACTOR,
            details={"by": "source", "source": alert.source, "closed": resolved.closed,
                     "ends_at": ends_at.isoformat()},
        ))  # fmt: skip
        return resolved.alert_id


def _created_entry(alert: IncomingAlert, alert_id: int, now: datetime) -> AuditEntry:
    return AuditEntry(
        actor=ACTOR, action="alert.created", entity_type="alert", entity_id=str(alert_id),
        ts=now, service=ACTOR,
        details={"fingerprint": alert.fingerprint, "source": alert.source,
                 "labels": dict(alert.labels)},
    )  # fmt: skip


@dataclass
class _Placement:
    """The alerts of one batch that go to one aggregation group."""

    group_key: str
    route: Route
    group_labels: dict[str, str]
    first_flush_at: datetime
    alert_ids: list[int] = field(default_factory=list)


def _plan(
    loaded: LoadedConfig, placed: Sequence[tuple[IncomingAlert, int]], now: datetime
) -> list[_Placement]:
    """Route every alert (Alertmanager's tree, with ``continue``); the groups by key.

    A new group first flushes ``group_wait`` from now, or at once when one of its alerts
    started more than ``group_wait`` ago (Alertmanager)."""
    plan: dict[str, _Placement] = {}
    for alert, alert_id in placed:
        labels = dict(alert.labels)
        for route in loaded.tree.match(labels):
            key = route.group_key(labels)
            first = now if alert.starts_at + route.group_wait < now else now + route.group_wait
            placement = plan.get(key)
            if placement is None:
                placement = plan[key] = _Placement(key, route, route.group_labels(labels), first)
            placement.first_flush_at = min(placement.first_flush_at, first)
            placement.alert_ids.append(alert_id)
    return [plan[key] for key in sorted(plan)]
