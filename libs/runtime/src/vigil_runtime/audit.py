"""Append one row to the immutable ``audit_log``.

Every service records operator-visible actions (camera added, configuration
applied, alert acknowledged, ...) through :func:`write_audit`. Pass a
connection to make the audit row part of the caller's transaction (it then
commits or rolls back with the change it describes), or a pool for a
stand-alone insert. A missing monthly partition is created and the insert
retried, inside a savepoint so the caller's transaction survives.
:func:`write_audits` appends several rows (:class:`AuditEntry`) in one pipelined statement,
on a connection, with the same guarantees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from vigil_runtime.partitions import write_creating_partitions

__all__ = ["AuditEntry", "write_audit", "write_audits"]

_INSERT_SQL = """
INSERT INTO audit_log (
    ts, actor, action, entity_type, entity_id, details,
    action_status, severity, service, ip_address, correlation_id)
VALUES (coalesce($1::timestamptz, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10::inet, $11)
"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row for :func:`write_audits` (the fields of :func:`write_audit`)."""

    actor: str
    action: str
    entity_type: str
    entity_id: str | None
    details: Mapping[str, Any] = field(default_factory=dict)
    ts: datetime | None = None
    action_status: str = "success"
    severity: str = "info"
    service: str | None = None
    ip_address: str | None = None
    correlation_id: str | None = None

    def args(self) -> tuple[Any, ...]:
        return (
            self.ts, self.actor, self.action, self.entity_type, self.entity_id,
            dict(self.details), self.action_status, self.severity, self.service,
            self.ip_address, self.correlation_id,
        )  # fmt: skip


async def write_audits(conn: asyncpg.Connection, entries: Sequence[AuditEntry]) -> None:
    """Insert every entry (as :func:`write_audit` on a connection, one ``executemany``)."""
    if not entries:
        return
    rows = [entry.args() for entry in entries]
    await write_creating_partitions(
        conn, "audit_log", (row[0] for row in rows), lambda: conn.executemany(_INSERT_SQL, rows)
    )


async def write_audit(
    conn_or_pool: asyncpg.Connection | asyncpg.Pool,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    details: Mapping[str, Any],
    ts: datetime | None = None,
    action_status: str = "success",
    severity: str = "info",
    service: str | None = None,
    ip_address: str | None = None,
    correlation_id: str | None = None,
) -> None:
    """Insert an audit row.

    No ``RETURNING``: the writer roles may insert into ``audit_log`` but not
    read it back.

    ``details`` must be JSON-serialisable; never put a secret in it.
    ``action_status`` is one of success/failure/denied/pending and
    ``severity`` one of debug/info/warning/error/critical (CHECK constraints).
    ``ts`` defaults to the database's ``now()`` (the transaction start).
    """
    args = (
        ts, actor, action, entity_type, entity_id, dict(details),
        action_status, severity, service, ip_address, correlation_id,
    )  # fmt: skip
    if isinstance(conn_or_pool, asyncpg.Pool):
        async with conn_or_pool.acquire() as conn:
            await _insert(conn, args)
    else:
        await _insert(conn_or_pool, args)


async def _insert(conn: asyncpg.Connection, args: tuple[Any, ...]) -> None:
    # A savepoint inside the caller's transaction, or a transaction of its own.
    await write_creating_partitions(
        conn, "audit_log", [args[0]], lambda: conn.execute(_INSERT_SQL, *args)
    )
