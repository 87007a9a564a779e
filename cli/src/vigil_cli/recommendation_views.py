"""Recommendations (``optimizations`` rows) as the CLI shows and reviews them.

:func:`recommendation_json` is the JSON of one row; :func:`approve` and :func:`reject` change a
proposed (or approved) recommendation's status with the reviewer and time, in the caller's
transaction, with an ``audit_log`` row; an unknown id or a recommendation already applied,
rejected or superseded is a clear error.
"""

from __future__ import annotations

from typing import Any

import click

from vigil_cli.audit import write_audit
from vigil_cli.db import Connection

REVIEWABLE = ("proposed", "approved")
LIST_COLUMNS = ("id", "camera_id", "created_at", "ai_provider", "confidence", "status")


def recommendation_json(row: Any) -> dict[str, Any]:
    """One ``optimizations`` row for people and scripts (request_data left out: large)."""
    keys = ("id", "camera_id", "status", "ai_provider", "model", "confidence",
            "recommended_settings", "current_settings", "warnings", "explanation",
            "processing_time_ms", "reviewed_by", "reviewed_at", "created_at")  # fmt: skip
    return {key: row[key] for key in keys}


def _review(conn: Connection, optimization_id: int, actor: str, status: str) -> Any:
    row = conn.execute(
        "SELECT id, camera_id, status FROM optimizations WHERE id = %s FOR UPDATE",
        (optimization_id,),
    ).fetchone()
    if row is None:
        raise click.ClickException(f"no recommendation {optimization_id}")
    if row["status"] not in REVIEWABLE:
        raise click.ClickException(
            f"recommendation {optimization_id} is {row['status']}; only proposed or approved "
            "ones can be reviewed"
        )
    updated = conn.execute(
        "UPDATE optimizations SET status = %s, reviewed_by = %s, reviewed_at = now(), "
        "updated_at = now() WHERE id = %s RETURNING *",
        (status, actor, optimization_id),
    ).fetchone()
    details = {"camera_id": row["camera_id"], "previous_status": row["status"]}
    write_audit(conn, actor=actor, action=f"optimization.{status}", entity_type="optimization",
                entity_id=str(optimization_id), details=details)  # fmt: skip
    return updated


def approve(conn: Connection, optimization_id: int, actor: str) -> Any:
    """Mark the recommendation approved; its row."""
    return _review(conn, optimization_id, actor, "approved")


def reject(conn: Connection, optimization_id: int, actor: str) -> Any:
    """Mark the recommendation rejected; its row."""
    return _review(conn, optimization_id, actor, "rejected")
