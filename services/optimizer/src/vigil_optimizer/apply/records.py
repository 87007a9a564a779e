"""The ``applied_configs`` rows of an apply, and the optimization it carries out.

Each function is one statement (or one transaction) on the connection the caller holds (the
one holding the camera's apply lock, :mod:`vigil_optimizer.apply.lock`). JSONB values go in as
Python objects (the runtime's pools have JSON codecs). The status flow is the applier's (see
:mod:`vigil_optimizer.apply.applier`); ``updated_at`` is set by the table's trigger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

from vigil_schema.enums import ApplyMethod, ApplyStatus, OptimizationStatus

__all__ = [
    "UnknownCameraError",
    "camera_site",
    "finish",
    "insert_pending",
    "mark_in_progress",
]

_INSERT_SQL: Final = """
INSERT INTO applied_configs (camera_id, optimization_id, settings, apply_method, status,
                             applied_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""
_IN_PROGRESS_SQL: Final = """
UPDATE applied_configs SET status = $2, previous_settings = $3 WHERE id = $1
"""
_FINISH_SQL: Final = """
UPDATE applied_configs
   SET status = $2, verification = $3, error_message = $4, applied_at = $5, verified_at = $6
 WHERE id = $1
"""
_OPTIMIZATION_APPLIED_SQL: Final = (
    "UPDATE optimizations SET status = $2, updated_at = now() WHERE id = $1"
)


class UnknownCameraError(Exception):
    """The camera is not in the registry."""

    def __init__(self, camera_id: str) -> None:
        super().__init__(f"camera {camera_id!r} does not exist")
        self.camera_id = camera_id


async def camera_site(conn: asyncpg.Connection, camera_id: str) -> str | None:
    """The camera's site (``None`` when it has none); :class:`UnknownCameraError` if absent."""
    row = await conn.fetchrow("SELECT site FROM cameras WHERE id = $1", camera_id)
    if row is None:
        raise UnknownCameraError(camera_id)
    site: str | None = row["site"]
    return site


async def insert_pending(
    conn: asyncpg.Connection,
    *,
    camera_id: str,
    optimization_id: int | None,
    settings: dict[str, Any],
    applied_by: str,
    method: ApplyMethod = ApplyMethod.ONVIF,
) -> int:
    """Insert the ``pending`` row; its id."""
    row_id: int = await conn.fetchval(
        _INSERT_SQL, camera_id, optimization_id, settings, method.value,
        ApplyStatus.PENDING.value, applied_by,
    )  # fmt: skip
    return row_id


async def mark_in_progress(
    conn: asyncpg.Connection, row_id: int, previous_settings: dict[str, Any] | None
) -> None:
    """``in_progress``, with the settings read before any write (``None``: unreadable)."""
    await conn.execute(_IN_PROGRESS_SQL, row_id, ApplyStatus.IN_PROGRESS.value, previous_settings)


async def finish(
    conn: asyncpg.Connection,
    row_id: int,
    *,
    status: ApplyStatus,
    verification: dict[str, Any],
    error_message: str | None,
    applied_at: datetime | None,
    verified_at: datetime | None,
    optimization_id: int | None,
) -> None:
    """Record the outcome; on success also mark the optimization ``applied`` (one transaction)."""
    async with conn.transaction():
        await conn.execute(
            _FINISH_SQL, row_id, status.value, verification, error_message, applied_at,
            verified_at,
        )  # fmt: skip
        if status is ApplyStatus.SUCCESS and optimization_id is not None:
            await conn.execute(
                _OPTIMIZATION_APPLIED_SQL, optimization_id, OptimizationStatus.APPLIED.value
            )
