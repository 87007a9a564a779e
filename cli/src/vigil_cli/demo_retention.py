"""The demo's retention: where it keeps archives, and waiting for its first run.

`vigil demo` runs vigil-retention as a loop (a pass a minute) with its archive folder and
the optimizer's snapshot folder inside the demo's data folder; `wait_for_retention_run`
waits for a finished run in ``retention_runs`` and returns it (status, actions), so the demo
can say what retention did on the fresh database: partitions made ahead, rollups computed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg

__all__ = ["RETENTION_TIMEOUT_S", "retention_env", "wait_for_retention_run"]

RETENTION_TIMEOUT_S = 90.0

_LAST_RUN_SQL = (
    "SELECT status, jsonb_array_length(actions), error FROM retention_runs"
    " WHERE finished_at IS NOT NULL AND NOT dry_run ORDER BY id DESC LIMIT 1"
)


def retention_env(data_dir: Path) -> dict[str, str]:
    """vigil-retention's environment in the demo."""
    return {
        "VIGIL_ARCHIVE_DIR": str(data_dir / "archive"),
        "VIGIL_SNAPSHOT_DIR": str(data_dir / "snapshots"),
        "VIGIL_INTERVAL_S": "60",
    }


def wait_for_retention_run(
    database_url: str, stop: threading.Event, *, timeout_s: float = RETENTION_TIMEOUT_S
) -> dict[str, Any] | None:
    """The newest finished run (``status``, ``actions``, ``error``), waiting up to
    ``timeout_s`` for one; None when none finished (or a stop was requested)."""
    deadline = time.monotonic() + timeout_s
    while not stop.is_set():
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute(_LAST_RUN_SQL).fetchone()
        if row is not None:
            return {"status": row[0], "actions": row[1], "error": row[2]}
        if time.monotonic() > deadline:
            return None
        stop.wait(1.0)
    return None
