"""Execute one plan action on the database and the disk: :func:`execute`.

- ``CREATE_AHEAD``: ``SELECT vigil_ensure_partition_range(table, now, until)`` as the
  service's own role (the function is SECURITY DEFINER); the partitions it returns that were
  not attached before are the ones created (counted, audited).
- ``EXPIRE``: on the owner connection (:func:`~vigil_retention.owner_ddl.owner_session`),
  read where the partition stands *now* (the plan may be stale: a killed run), then:
  attached → ``DETACH ... CONCURRENTLY`` (first finalizing another pending detach of the
  parent, if any: PostgreSQL allows one; that one stays detached in ``public`` for its own
  action); detach pending → ``... FINALIZE``; detached → nothing to detach. Then per
  ``expire_action``: ``drop`` → (snapshots: delete its rows' image files first)
  ``DROP TABLE``; ``archive_schema`` → ``SET SCHEMA vigil_archive``; ``archive_file`` →
  export (:mod:`~vigil_retention.archive_export`, reusing a complete one; ``ExportConflict``
  if an earlier table's export holds the name), then (snapshots: files) ``DROP TABLE``.
  Snapshot files go whenever the rows leave the database, so they stay with
  ``archive_schema`` until ``DROP_ARCHIVED``. A table already gone, or archived, is done.
- ``DROP_ARCHIVED``: (snapshots: files) ``DROP TABLE IF EXISTS vigil_archive.<partition>``.
- ``DELETE_ARCHIVE_FILE``: delete the export and its manifest (missing is fine).

Every step is idempotent, so a run killed anywhere is finished by the next one. Each step
that changed something is counted (:mod:`~vigil_retention.metrics`), logged and written to
``audit_log`` right after it (actor ``vigil-retention``, on a pool connection as the
service's role), and listed in the :class:`ActionOutcome` (``describe()`` for
``retention_runs.actions``). ``PRUNE_ROLLUP`` belongs to the rollups runner: refused here.
Failures propagate (``LockNotAvailableError`` for a busy table: the caller logs, carries on
or fails the run, and the next run retries).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from vigil_retention import metrics
from vigil_retention.archive_export import (
    complete_export,
    delete_export,
    export_partition,
    export_paths,
)
from vigil_retention.models import ARCHIVE_SCHEMA, Action, ActionKind, Partition, PartitionState
from vigil_retention.owner_ddl import OwnerDDL, owner_session
from vigil_retention.settings import RetentionSettings
from vigil_retention.snapshot_files import delete_snapshot_files, partition_file_paths
from vigil_runtime.audit import AuditEntry, write_audits
from vigil_runtime.logging import get_logger
from vigil_schema.enums import ExpireAction

__all__ = ["ACTOR", "ActionOutcome", "ExpiryContext", "execute"]

ACTOR = "vigil-retention"
SNAPSHOTS = "snapshots"
log = get_logger(__name__)

ConnectionSource = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]

_ATTACHED_SQL = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass(format('public.%I', $1::text))
"""


@dataclass(frozen=True, slots=True)
class ExpiryContext:
    """What :func:`execute` needs: the service's pool, the run's clock, folders, DDL role.

    ``ddl_connection`` gives the connection the owner DDL runs on (outside any transaction;
    :func:`owner_session` resets it after); by default one is acquired from ``pool``.
    """

    pool: asyncpg.Pool
    now: datetime
    archive_dir: Path
    snapshot_dir: Path
    ddl_role: str = "vigil_owner"
    lock_timeout_s: float = 10.0
    actor: str = ACTOR
    service: str = "retention"
    ddl_connection: ConnectionSource | None = None

    @classmethod
    def from_settings(
        cls, pool: asyncpg.Pool, settings: RetentionSettings, now: datetime,
        ddl_connection: ConnectionSource | None = None,
    ) -> ExpiryContext:  # fmt: skip
        """The context of a run with ``settings``' folders, role and lock timeout."""
        return cls(
            pool=pool, now=now, archive_dir=settings.archive_dir,
            snapshot_dir=settings.snapshot_dir, ddl_role=settings.ddl_role,
            lock_timeout_s=settings.lock_timeout_s, ddl_connection=ddl_connection,
        )  # fmt: skip

    def owner_connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """A connection for :func:`owner_session`."""
        if self.ddl_connection is not None:
            return self.ddl_connection()
        acquired: AbstractAsyncContextManager[asyncpg.Connection] = self.pool.acquire()
        return acquired


@dataclass(slots=True)
class ActionOutcome:
    """What executing one action did: its steps in order (``detached``, ``finalized``,
    ``exported``, ``export_reused``, ``dropped``, ``archived``, ``deleted``, ``gone``, ...),
    partitions created, rows exported, snapshot files deleted."""

    action: Action
    steps: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    rows_exported: int | None = None
    export_path: Path | None = None
    files_deleted: int = 0

    def describe(self) -> dict[str, Any]:
        """JSON-able: the action's ``describe()`` plus what happened."""
        out = self.action.describe()
        out["steps"] = list(self.steps)
        if self.created:
            out["created"] = list(self.created)
        if self.rows_exported is not None:
            out["rows_exported"] = self.rows_exported
        if self.export_path is not None:
            out["export_path"] = str(self.export_path)
        if self.files_deleted:
            out["files_deleted"] = self.files_deleted
        return out


async def execute(action: Action, ctx: ExpiryContext) -> ActionOutcome:
    """Carry out ``action`` (module docstring); returns what it did."""
    outcome = ActionOutcome(action)
    if action.kind is ActionKind.CREATE_AHEAD:
        await _create_ahead(action, ctx, outcome)
    elif action.kind is ActionKind.EXPIRE:
        await _expire(action, ctx, outcome)
    elif action.kind is ActionKind.DROP_ARCHIVED:
        await _drop_archived(action, ctx, outcome)
    elif action.kind is ActionKind.DELETE_ARCHIVE_FILE:
        await _delete_archive_file(action, ctx, outcome)
    else:
        raise ValueError(f"{action.kind.value} is not an expiry action")
    return outcome


async def _create_ahead(action: Action, ctx: ExpiryContext, outcome: ActionOutcome) -> None:
    if action.until is None:
        raise ValueError("create_ahead needs until")
    async with ctx.pool.acquire() as conn:
        before = {str(r["relname"]) for r in await conn.fetch(_ATTACHED_SQL, action.table)}
        rows = await conn.fetch(
            "SELECT vigil_ensure_partition_range($1, $2, $3) AS name",
            action.table, ctx.now, action.until,
        )  # fmt: skip
    names = list(dict.fromkeys(str(r["name"]) for r in rows))
    outcome.created = [name for name in names if name not in before]
    outcome.steps.append("created" if outcome.created else "present")
    if not outcome.created:
        return
    metrics.PARTITIONS_CREATED.labels(table=action.table).inc(len(outcome.created))
    log.info("partitions_created", table=action.table, partitions=outcome.created)
    entries = [_entry(ctx, "retention.partition_created", "partition", name,
                      {"table": action.table, "until": action.until.isoformat()})
               for name in outcome.created]  # fmt: skip
    await _audit(ctx, entries)


async def _expire(action: Action, ctx: ExpiryContext, outcome: ActionOutcome) -> None:
    part = _partition(action)
    mode = action.expire_action
    if mode is None:
        raise ValueError("expire needs expire_action")
    async with (
        ctx.owner_connection() as conn,
        owner_session(conn, ctx.ddl_role, ctx.lock_timeout_s) as ddl,
    ):
        state = await ddl.state(part.table, part.name)
        if state is None or state is PartitionState.ARCHIVED:
            outcome.steps.append("gone" if state is None else "already_archived")
            _check_gone(ctx, part, mode, state)
            return
        await _detach(ddl, ctx, part, state, outcome)
        if mode is ExpireAction.ARCHIVE_SCHEMA:
            await _archive_schema(ddl, ctx, part, outcome)
            return
        if mode is ExpireAction.ARCHIVE_FILE:
            await _export(ddl, ctx, part, outcome)
        await _drop(ddl, ctx, "public", part, outcome, "retention.partition_dropped")


def _check_gone(
    ctx: ExpiryContext, part: Partition, mode: ExpireAction, state: PartitionState | None
) -> None:
    """A partition already gone: fine, but say so when its archive_file export is missing."""
    if mode is ExpireAction.ARCHIVE_FILE and state is None:
        path, manifest = export_paths(ctx.archive_dir, part.table, part.name)
        if complete_export(path, manifest) is None:
            log.warning("expired_partition_gone_without_export", table=part.table,
                        partition=part.name, path=str(path))  # fmt: skip


async def _detach(
    ddl: OwnerDDL, ctx: ExpiryContext, part: Partition, state: PartitionState,
    outcome: ActionOutcome,
) -> None:  # fmt: skip
    if state is PartitionState.ATTACHED:
        for other in await ddl.pending(part.table):  # it would make the detach fail
            await ddl.finalize_detach(part.table, other)
            outcome.steps.append(f"finalized_pending:{other}")
            await _detached(ctx, part.table, other, {"how": "finalized", "for": part.name})
        await ddl.detach_concurrently(part.table, part.name)
        step = "detached"
    elif state is PartitionState.DETACH_PENDING:
        await ddl.finalize_detach(part.table, part.name)
        step = "finalized"
    else:
        return
    outcome.steps.append(step)
    await _detached(ctx, part.table, part.name, {"how": step, **_range(part)})


async def _detached(ctx: ExpiryContext, table: str, name: str, details: dict[str, Any]) -> None:
    metrics.PARTITIONS_DETACHED.labels(table=table).inc()
    log.info("partition_detached", table=table, partition=name, how=details["how"])
    entry = _entry(ctx, "retention.partition_detached", "partition", name,
                   {"table": table, **details})  # fmt: skip
    await _audit(ctx, [entry])


async def _archive_schema(
    ddl: OwnerDDL, ctx: ExpiryContext, part: Partition, outcome: ActionOutcome
) -> None:
    await ddl.move_to_archive(part.name)
    outcome.steps.append("archived")
    metrics.PARTITIONS_ARCHIVED.labels(table=part.table, mode="schema").inc()
    log.info("partition_archived", table=part.table, partition=part.name, mode="schema")
    await _audit_partition(ctx, "retention.partition_archived", part,
                           {"mode": "schema", "schema": ARCHIVE_SCHEMA})  # fmt: skip


async def _export(
    ddl: OwnerDDL, ctx: ExpiryContext, part: Partition, outcome: ActionOutcome
) -> None:
    result = await export_partition(
        ddl.conn, schema="public", table=part.table, partition=part.name, start=part.start,
        end=part.end, archive_dir=ctx.archive_dir, exported_at=ctx.now,
    )  # fmt: skip
    outcome.rows_exported = result.rows
    outcome.export_path = result.path
    outcome.steps.append("export_reused" if result.reused else "exported")
    if result.reused:
        return
    metrics.PARTITIONS_ARCHIVED.labels(table=part.table, mode="file").inc()
    log.info("partition_archived", table=part.table, partition=part.name, mode="file",
             path=str(result.path), rows=result.rows, bytes=result.bytes)  # fmt: skip
    await _audit_partition(ctx, "retention.partition_archived", part, {
        "mode": "file", "path": str(result.path), "rows": result.rows,
        "bytes": result.bytes, "sha256": result.sha256,
    })  # fmt: skip


async def _drop(
    ddl: OwnerDDL, ctx: ExpiryContext, schema: str, part: Partition, outcome: ActionOutcome,
    audit_action: str,
) -> None:  # fmt: skip
    """Drop ``schema.<partition>``, a snapshots partition's image files first."""
    if part.table == SNAPSHOTS:
        paths = await partition_file_paths(ddl.conn, schema, part.name)
        deleted = await asyncio.to_thread(delete_snapshot_files, ctx.snapshot_dir, paths)
        outcome.files_deleted += deleted.deleted
        metrics.SNAPSHOT_FILES_DELETED.inc(deleted.deleted)
    await ddl.drop(schema, part.name)
    outcome.steps.append("dropped")
    details: dict[str, Any] = {"schema": schema}
    if part.table == SNAPSHOTS:
        details["files_deleted"] = outcome.files_deleted
    if schema == ARCHIVE_SCHEMA:
        metrics.ARCHIVES_DELETED.labels(table=part.table, mode="schema").inc()
    else:
        metrics.PARTITIONS_DROPPED.labels(table=part.table).inc()
    log.info("partition_dropped", table=part.table, partition=part.name, schema=schema)
    await _audit_partition(ctx, audit_action, part, details)


async def _drop_archived(action: Action, ctx: ExpiryContext, outcome: ActionOutcome) -> None:
    part = _partition(action)
    async with (
        ctx.owner_connection() as conn,
        owner_session(conn, ctx.ddl_role, ctx.lock_timeout_s) as ddl,
    ):
        if not await ddl.exists(ARCHIVE_SCHEMA, part.name):
            outcome.steps.append("gone")
            return
        await _drop(ddl, ctx, ARCHIVE_SCHEMA, part, outcome, "retention.archive_deleted")


async def _delete_archive_file(action: Action, ctx: ExpiryContext, outcome: ActionOutcome) -> None:
    if action.path is None:
        raise ValueError("delete_archive_file needs path")
    existed = await asyncio.to_thread(delete_export, ctx.archive_dir, action.path)
    outcome.steps.append("deleted" if existed else "gone")
    if not existed:
        return
    metrics.ARCHIVES_DELETED.labels(table=action.table, mode="file").inc()
    log.info("archive_file_deleted", table=action.table, path=str(action.path))
    details = {"table": action.table, **action.describe()}
    await _audit(ctx, [_entry(ctx, "retention.archive_deleted", "archive_file",
                              str(action.path), details)])  # fmt: skip


def _range(part: Partition) -> dict[str, Any]:
    return {"range": [part.start.isoformat(), part.end.isoformat()]}


def _partition(action: Action) -> Partition:
    if action.partition is None:
        raise ValueError(f"{action.kind.value} needs a partition")
    return action.partition


def _entry(
    ctx: ExpiryContext, name: str, entity_type: str, entity_id: str, details: dict[str, Any]
) -> AuditEntry:
    return AuditEntry(actor=ctx.actor, action=name, entity_type=entity_type,
                      entity_id=entity_id, details=details, service=ctx.service)  # fmt: skip


async def _audit_partition(
    ctx: ExpiryContext, name: str, part: Partition, extra: dict[str, Any]
) -> None:
    details = {"table": part.table, **_range(part), **extra}
    await _audit(ctx, [_entry(ctx, name, "partition", part.name, details)])


async def _audit(ctx: ExpiryContext, entries: list[AuditEntry]) -> None:
    async with ctx.pool.acquire() as conn:
        await write_audits(conn, entries)
