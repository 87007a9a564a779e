"""``ingest_rejects`` for `vigil rejects`: select, tell which rows can be replayed, remove.

A reject row can be replayed when it holds its message's whole payload (``payload_size`` is
not over the 64 KiB kept) and its topic is an MQTT topic (the ingest keeps the topic the
message arrived on; rows from a stream consumer name the stream, ``vigil:...``, and are not
MQTT messages). Replayed rows are deleted in the transaction that records the replay in
``audit_log``: a message replayed into a fault that still refuses it comes back as a new
reject row through the ingest, so nothing is lost by deleting the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from vigil_cli.db import Connection

__all__ = ["RejectFilter", "RejectRow", "delete_rows", "select_rows"]

_COLUMNS = (
    "id, received_at, topic, camera_id, payload, payload_size, reason, detail, source, "
    "octet_length(payload) AS kept"
)


@dataclass(frozen=True)
class RejectFilter:
    """Which reject rows a command works on (every condition given must hold)."""

    reasons: tuple[str, ...] = ()
    since: datetime | None = None
    camera_id: str | None = None
    limit: int = 1000

    def where(self) -> tuple[sql.Composable, list[Any]]:
        parts: list[sql.Composable] = [sql.SQL("true")]
        params: list[Any] = []
        if self.reasons:
            parts.append(sql.SQL("reason = ANY(%s)"))
            params.append(list(self.reasons))
        if self.since is not None:
            parts.append(sql.SQL("received_at >= %s"))
            params.append(self.since)
        if self.camera_id is not None:
            parts.append(sql.SQL("camera_id = %s"))
            params.append(self.camera_id)
        return sql.SQL(" AND ").join(parts), params

    def describe(self) -> dict[str, Any]:
        """The filter for the audit record."""
        return {
            "reasons": list(self.reasons),
            "since": self.since.isoformat() if self.since else None,
            "camera_id": self.camera_id,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class RejectRow:
    """One ``ingest_rejects`` row."""

    id: int
    received_at: datetime
    topic: str
    camera_id: str | None
    payload: bytes
    payload_size: int
    reason: str
    detail: str
    source: str
    kept: int | None

    @property
    def why_not_replayable(self) -> str | None:
        """Why the row cannot be replayed, or None when it can."""
        if self.topic.startswith("vigil:") or self.topic.startswith("table:"):
            return "not an MQTT message"
        if self.kept is None or self.kept < self.payload_size:
            return f"payload truncated ({self.kept or 0} of {self.payload_size} bytes kept)"
        return None


REPLAY_LOCK = "vigil rejects replay"
"""Name of the transaction-level advisory lock that serialises replays: a second replay
waits, then finds the rows the first one deleted gone (no ``FOR UPDATE``, which would need
UPDATE on ingest_rejects; the CLI's role may only read and delete there)."""


def select_rows(conn: Connection, where: RejectFilter, *, lock: bool = False) -> list[RejectRow]:
    """The matching rows, oldest first (``lock``, for a replay: first take
    :data:`REPLAY_LOCK` until the transaction ends)."""
    if lock:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (REPLAY_LOCK,))
    condition, params = where.where()
    query = sql.SQL(
        "SELECT {columns} FROM ingest_rejects WHERE {condition} ORDER BY received_at, id LIMIT %s"
    ).format(columns=sql.SQL(_COLUMNS), condition=condition)
    rows = conn.execute(query, [*params, where.limit]).fetchall()
    return [
        RejectRow(**{**row, "payload": bytes(row["payload"] or b"")})  # bytea → bytes
        for row in rows
    ]


def delete_rows(conn: Connection, rows: list[RejectRow]) -> int:
    """Delete these rows (by primary key); how many were deleted."""
    if not rows:
        return 0
    cursor = conn.execute(
        "DELETE FROM ingest_rejects r USING unnest(%s::bigint[], %s::timestamptz[]) AS k(id, ts)"
        " WHERE r.id = k.id AND r.received_at = k.ts",
        ([row.id for row in rows], [row.received_at for row in rows]),
    )
    return cursor.rowcount
