"""`retention_runs`: one row per run that held the lock, written at its start and end.

``start`` inserts the row (status ``running``); ``finish`` sets ``finished_at``, the outcome
and the actions (what was done, or for a dry run what would be), and deletes the rows older
than ``keep``. A run killed in between leaves its row ``running`` with no ``finished_at``:
`vigil status` shows it as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from vigil_schema.enums import RetentionRunStatus

__all__ = ["RUNS_KEPT", "finish_run", "start_run"]

RUNS_KEPT: Final = timedelta(days=90)
"""How long run rows are kept."""

_START_SQL: Final = (
    "INSERT INTO retention_runs (started_at, instance, dry_run) VALUES ($1, $2, $3) RETURNING id"
)
_FINISH_SQL: Final = (
    "UPDATE retention_runs SET finished_at = $2, status = $3, actions = $4::jsonb, error = $5"
    " WHERE id = $1"
)
_PRUNE_SQL: Final = "DELETE FROM retention_runs WHERE started_at < $1"


async def start_run(conn: Any, started_at: datetime, instance: str, dry_run: bool) -> int:
    """Insert the run's row; its id."""
    run_id: int = await conn.fetchval(_START_SQL, started_at, instance, dry_run)
    return run_id


async def finish_run(
    conn: Any,
    run_id: int,
    finished_at: datetime,
    status: RetentionRunStatus,
    actions: Sequence[dict[str, Any]],
    error: str | None,
) -> None:
    """Record the outcome and prune rows older than :data:`RUNS_KEPT`."""
    await conn.execute(_FINISH_SQL, run_id, finished_at, status.value, list(actions), error)
    await conn.execute(_PRUNE_SQL, finished_at - RUNS_KEPT)
