"""Synchronous audit trail writes for the CLI (psycopg).

Services write ``audit_log`` through the async ``vigil_runtime.audit`` helper; the CLI is
synchronous, so it writes the same columns here, in the caller's transaction: an audit row
exists exactly when the change it describes was committed. Column names are checked against
``vigil_schema.tables.AUDIT_LOG`` so they cannot drift from the schema.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from vigil_schema.enums import AuditStatus, LogSeverity
from vigil_schema.tables import AUDIT_LOG

SERVICE_NAME: Final = "vigil-cli"
ENTITY_CAMERA: Final = "camera"


def os_actor() -> str:
    """The operator running the command, as the OS knows them (``unknown`` if it cannot tell)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def write_audit(
    conn: psycopg.Connection[Any],
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    details: Mapping[str, Any],
    status: AuditStatus = AuditStatus.SUCCESS,
    severity: LogSeverity = LogSeverity.INFO,
) -> None:
    """Insert one ``audit_log`` row in ``conn``'s current transaction.

    ``details`` must not hold secrets: callers record *that* a credential changed, never it.
    """
    values: dict[str, Any] = {
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action_status": status.value,
        "severity": severity.value,
        "details": Jsonb(dict(details)),
        "service": SERVICE_NAME,
    }
    unknown = set(values) - set(AUDIT_LOG.insert_column_names)
    if unknown:  # pragma: no cover - guards against schema drift
        raise RuntimeError(f"audit_log has no column(s) {sorted(unknown)}")
    # audit_log is partitioned by month with no default partition: make sure this month's
    # exists (cheap when it does). ts defaults to now(), the transaction start, like here.
    conn.execute(
        "SELECT vigil_ensure_partition(%s, now())",
        (AUDIT_LOG.name,),
    )
    query = sql.SQL("INSERT INTO {table} ({columns}) VALUES ({values})").format(
        table=sql.Identifier(AUDIT_LOG.name),
        columns=sql.SQL(", ").join(sql.Identifier(name) for name in values),
        values=sql.SQL(", ").join(sql.Placeholder() for _ in values),
    )
    conn.execute(query, tuple(values.values()))
