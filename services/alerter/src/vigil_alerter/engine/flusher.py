"""The flusher: due aggregation groups → outbox notifications, with Alertmanager's semantics.

:meth:`Flusher.flush_due` flushes up to ``limit`` groups whose ``next_flush_at`` has come,
in batches of up to ``BATCH`` groups, each batch in one transaction holding its groups' row
locks (``FOR UPDATE SKIP LOCKED``), so that any number of replicas flush each group once.
A batch reads its members in one query and writes its outbox rows, flush records, removed
members and deleted groups in one statement each; the active silences and (only when there
are inhibition rules) the firing alerts are read once per :meth:`~Flusher.flush_due`. A
flush:

1. splits the members into firing (active, ``ends_at`` not passed) and resolved;
2. leaves out (``SUPPRESSED``) alerts an operator closed (false positive, dismissed,
   resolved by hand), silenced ones (silences table, active at ``now``) and inhibited ones
   (inhibition rules over every firing alert);
3. sends nothing while the route is muted (``mute_time_intervals``, or outside its
   ``active_time_intervals``);
4. asks :func:`needs_update` (Alertmanager's ``DedupStage``) whether to notify, with the
   rule that a repeat stops once every firing alert is acknowledged;
5. to notify, queues the v4 body to every integration of the receiver
   (:func:`~vigil_alerter.store.outbox.queue_notification`) and records what was notified;
6. schedules the next flush (``now + group_interval``), removes resolved members and deletes
   the group once empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import asyncpg

from vigil_alerter.clock import Clock
from vigil_alerter.config.holder import LoadedConfig
from vigil_alerter.config.models import Receiver
from vigil_alerter.engine.intake import ConfigSource
from vigil_alerter.metrics import GROUPS_FLUSHED, OPEN_ALERTS, SUPPRESSED
from vigil_alerter.notify.message import NotifiedAlert, webhook_body
from vigil_alerter.routing.silences import SilenceRule, first_muting
from vigil_alerter.routing.tree import Route
from vigil_alerter.store import alerts as alert_rows
from vigil_alerter.store import groups
from vigil_alerter.store.alerts import AlertRow
from vigil_alerter.store.groups import FlushRecord, GroupRow
from vigil_alerter.store.outbox import QueuedNotification, queue_notifications
from vigil_alerter.store.silence_rows import active_silences
from vigil_runtime.logging import get_logger
from vigil_schema.enums import AlertSeverity, NotificationKind

__all__ = [
    "BATCH",
    "DEFAULT_MAX_DELIVERY",
    "Flusher",
    "Selection",
    "needs_update",
    "update_reason",
]

DEFAULT_MAX_DELIVERY: Final = timedelta(hours=1)
BATCH: Final = 100
"""Groups flushed per transaction."""
_log = get_logger(__name__)


@dataclass
class Selection:
    """The alerts of one flush that a notification may show."""

    firing: list[AlertRow] = field(default_factory=list)
    resolved: list[AlertRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Context:
    """What every group of one :meth:`Flusher.flush_due` call shares."""

    now: datetime
    loaded: LoadedConfig
    silences: list[SilenceRule]
    firing_labels: list[dict[str, str]]


def update_reason(
    group: GroupRow,
    firing: set[str],
    resolved: set[str],
    *,
    send_resolved: bool,
    repeat_interval: timedelta,
    now: datetime,
) -> str | None:
    """Alertmanager's ``DedupStage.needsUpdate`` over the group's notification log: why to
    notify (``first``, ``changed``, ``all_resolved``, ``resolved``, ``repeat``) or ``None``."""
    if group.notified_at is None:
        return "first" if firing else None
    if not firing <= group.notified_firing:
        return "changed"
    if not firing:
        return "all_resolved" if group.notified_firing else None
    if send_resolved and not resolved <= group.notified_resolved:
        return "resolved"
    return "repeat" if group.notified_at + repeat_interval <= now else None


def needs_update(
    group: GroupRow,
    firing: set[str],
    resolved: set[str],
    *,
    send_resolved: bool,
    repeat_interval: timedelta,
    now: datetime,
) -> bool:
    """Whether :func:`update_reason` gives a reason."""
    reason = update_reason(group, firing, resolved, send_resolved=send_resolved,
                           repeat_interval=repeat_interval, now=now)  # fmt: skip
    return reason is not None


class Flusher:
    """Flushes due groups into the outbox (see the module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        holder: ConfigSource,
        clock: Clock,
        external_url: str,
        *,
        max_delivery: timedelta = DEFAULT_MAX_DELIVERY,
    ) -> None:
        self._pool = pool
        self._holder = holder
        self._clock = clock
        self._external_url = external_url
        self._max_delivery = max_delivery

    async def flush_due(self, limit: int = 200) -> int:
        """Flush up to ``limit`` due groups; how many were flushed."""
        now = self._clock()
        loaded = self._holder.current
        flushed = 0
        async with self._pool.acquire() as conn:
            context = _Context(
                now=now, loaded=loaded, silences=await active_silences(conn, now),
                firing_labels=(
                    await alert_rows.firing_label_sets(conn, now) if loaded.inhibitor.rules else []
                ),
            )  # fmt: skip
            while flushed < limit:
                async with conn.transaction():
                    batch = await groups.lock_due_groups(conn, now, min(BATCH, limit - flushed))
                    if not batch:
                        break
                    await self._flush_batch(conn, batch, context)
                flushed += len(batch)
            if flushed:
                await self._count_open(conn)
        return flushed

    async def _flush_batch(
        self, conn: asyncpg.Connection, batch: Sequence[GroupRow], ctx: _Context
    ) -> None:
        """Flush the locked groups of ``batch`` (inside the caller's transaction)."""
        members = await alert_rows.groups_alerts(conn, [g.group_key for g in batch])
        queued: list[QueuedNotification] = []
        records: list[FlushRecord] = []
        gone: list[tuple[str, int]] = []
        for group in batch:
            route = self._route(ctx.loaded, group)
            alerts = members.get(group.group_key, [])
            notified = self._decide(group, route, alerts, ctx, queued)
            records.append(FlushRecord(group.group_key, ctx.now + route.group_interval, notified))
            gone += [(group.group_key, a.alert_id) for a in alerts if not a.firing(ctx.now)]
        await queue_notifications(conn, queued)
        await groups.record_flushes(conn, ctx.now, records)
        await groups.remove_member_pairs(conn, gone)
        await groups.delete_empty(conn, [g.group_key for g in batch])

    def _decide(
        self, group: GroupRow, route: Route, members: Sequence[AlertRow], ctx: _Context,
        queued: list[QueuedNotification],
    ) -> tuple[list[str], list[str]] | None:  # fmt: skip
        """Add a notification to ``queued`` if one is due; the (firing, resolved) notified,
        or None."""
        if self._muted(ctx, route):
            GROUPS_FLUSHED.labels("muted").inc()
            return None
        selection = self._select(members, ctx)
        if not selection.firing and not selection.resolved:
            GROUPS_FLUSHED.labels("empty").inc()
            return None
        try:
            receiver = ctx.loaded.config.receiver(group.receiver)
        except KeyError:
            _log.error("group_receiver_unknown", group_key=group.group_key,
                       receiver=group.receiver)  # fmt: skip
            GROUPS_FLUSHED.labels("unchanged").inc()
            return None
        firing = {a.fingerprint for a in selection.firing}
        resolved = {a.fingerprint for a in selection.resolved}
        send_resolved = (
            any(c.send_resolved for c in receiver.webhook_configs)
            or any(c.send_resolved for c in receiver.apprise_configs)
            or any(c.send_resolved for c in receiver.log_configs)
        )
        reason = update_reason(group, firing, resolved, send_resolved=send_resolved,
                               repeat_interval=route.repeat_interval, now=ctx.now)  # fmt: skip
        if reason is None:
            GROUPS_FLUSHED.labels("unchanged").inc()
            return None
        if reason == "repeat" and all(a.acknowledged for a in selection.firing):
            SUPPRESSED.labels("acknowledged").inc(len(selection.firing))
            GROUPS_FLUSHED.labels("unchanged").inc()
            return None
        queued.append(self._notification(group, receiver, selection, ctx))
        GROUPS_FLUSHED.labels("notified").inc()
        return sorted(firing), sorted(resolved)

    @staticmethod
    def _muted(ctx: _Context, route: Route) -> bool:
        intervals = ctx.loaded.intervals
        if any(intervals.contains(name, ctx.now) for name in route.mute_time_intervals):
            return True
        active = route.active_time_intervals
        return bool(active) and not any(intervals.contains(n, ctx.now) for n in active)

    @staticmethod
    def _select(members: Sequence[AlertRow], ctx: _Context) -> Selection:
        """Members split into firing and resolved, without closed, silenced, inhibited."""
        selection = Selection()
        inhibitor = ctx.loaded.inhibitor
        for alert in members:
            if alert.closed_by_operator:
                SUPPRESSED.labels("closed").inc()
            elif first_muting(ctx.silences, alert.labels, ctx.now) is not None:
                SUPPRESSED.labels("silenced").inc()
            elif inhibitor.inhibits(alert.labels, ctx.firing_labels):
                SUPPRESSED.labels("inhibited").inc()
            elif alert.firing(ctx.now):
                selection.firing.append(alert)
            else:
                selection.resolved.append(alert)
        return selection

    def _notification(
        self, group: GroupRow, receiver: Receiver, selection: Selection, ctx: _Context
    ) -> QueuedNotification:
        shown = [*selection.firing, *selection.resolved]
        external = ctx.loaded.config.global_.external_url or self._external_url
        body = webhook_body(
            receiver=receiver.name, group_key=group.group_key, group_labels=group.group_labels,
            alerts=[_notified(a, ctx.now) for a in shown], external_url=external,
        )  # fmt: skip
        kind = NotificationKind.FIRING if selection.firing else NotificationKind.RESOLVED
        return QueuedNotification(
            group_key=group.group_key, receiver=receiver, kind=kind,
            alert_ids=[a.alert_id for a in sorted(shown, key=lambda a: a.alert_id)],
            payload=body, now=ctx.now, deadline=ctx.now + self._max_delivery,
        )  # fmt: skip

    @staticmethod
    def _route(loaded: LoadedConfig, group: GroupRow) -> Route:
        """The group's route; the root's timings when a reload removed it."""
        route = loaded.tree.route(group.route_key)
        if route is None:
            _log.warning("group_route_gone", group_key=group.group_key, route=group.route_key)
            route = loaded.tree.routes()[0]
        return route

    @staticmethod
    async def _count_open(conn: asyncpg.Connection) -> None:
        counts = await alert_rows.count_open_by_severity(conn)
        for severity in AlertSeverity:
            OPEN_ALERTS.labels(str(severity)).set(counts.get(str(severity), 0))


def _notified(alert: AlertRow, now: datetime) -> NotifiedAlert:
    frame = alert.annotations.get("frame_url") or alert.data.get("frame_url")
    return NotifiedAlert(
        alert_id=alert.alert_id, fingerprint=alert.fingerprint, firing=alert.firing(now),
        labels=alert.labels, annotations=alert.annotations, starts_at=alert.starts_at,
        ends_at=alert.ends_at, generator_url=alert.generator_url, status=str(alert.status),
        frame_url=frame if isinstance(frame, str) else None,
    )  # fmt: skip
