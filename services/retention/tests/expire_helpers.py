"""Helpers of the expiry tests: partitions in the past, rows, an interrupted detach.

Arranging is done as the superuser (``pg_pool``); the code under test runs as the
``vigil_retention`` login. Partitions are made with the migrations' own functions
(``vigil_ensure_partition``, ``vigil_partition_bounds``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from vigil_retention.expiry import ExpiryContext
from vigil_retention.models import Partition, PartitionState
from vigil_retention.owner_ddl import owner_session

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
"""The tests' clock: well after the partitions they expire."""
OLD_DAY = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
"""A time inside the (daily or monthly) partition the tests expire."""
OWNER = "vigil_owner"


async def make_partition(admin: asyncpg.Pool, table: str, ts: datetime = OLD_DAY) -> Partition:
    """Create (if missing) the partition of ``table`` holding ``ts``; its ``Partition``."""
    async with admin.acquire() as conn:
        await conn.execute("SELECT vigil_ensure_partition($1, $2)", table, ts)
        row = await conn.fetchrow("SELECT * FROM vigil_partition_bounds($1, $2)", table, ts)
    assert row is not None
    return Partition(
        table, str(row["partition_name"]), row["range_start"], row["range_end"],
        PartitionState.ATTACHED,
    )  # fmt: skip


REJECT_ROWS: list[tuple[Any, ...]] = [
    (OLD_DAY, "vigil/cam-1/events", "cam-1", b"\x00\x01\\\n\t{", 6, "invalid_json",
     "tab\there, newline\nhere, backslash \\ and quote ' \" and unicode \u00e9\u2603"),
    (OLD_DAY.replace(hour=9), "vigil/cam-2/events", None, None, 0, "unknown_camera", ""),
    (OLD_DAY.replace(hour=23, minute=59), "vigil/cam-3/events", "cam-3", b"{}", 2,
     "validation_error", "\\N is not null"),
]  # fmt: skip


async def insert_rejects(admin: asyncpg.Pool, rows: list[tuple[Any, ...]] = REJECT_ROWS) -> None:
    """Insert ``rows`` into ``ingest_rejects`` (received_at, topic, camera_id, payload, ...)."""
    await admin.executemany(
        "INSERT INTO ingest_rejects (received_at, topic, camera_id, payload, payload_size,"
        " reason, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        rows,
    )


async def table_rows(admin: asyncpg.Pool, qualified: str) -> list[tuple[Any, ...]]:
    """Every row of ``qualified`` as tuples, ordered by all columns."""
    return [tuple(r) for r in await admin.fetch(f"SELECT * FROM {qualified} ORDER BY 1, 2")]


async def state_of(pool: asyncpg.Pool, part: Partition) -> PartitionState | None:
    """Where ``part`` stands now, read through an owner session on ``pool``."""
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        return await ddl.state(part.table, part.name)


async def interrupt_detach(admin: asyncpg.Pool, role_pool: asyncpg.Pool, part: Partition) -> None:
    """Leave ``part`` detach pending: a reader holds the parent open while ``DETACH
    CONCURRENTLY`` (lock_timeout 1 s) waits in its second phase, so it times out there."""
    async with admin.acquire() as reader:
        reader_tx = reader.transaction()
        await reader_tx.start()
        await reader.fetchval(f"SELECT count(*) FROM {part.table}")
        try:
            async with role_pool.acquire() as conn, owner_session(conn, OWNER, 1.0) as ddl:
                with pytest.raises(asyncpg.LockNotAvailableError):
                    await ddl.detach_concurrently(part.table, part.name)
        finally:
            await reader_tx.rollback()


def context(pool: asyncpg.Pool, tmp_path: Path, now: datetime = NOW) -> ExpiryContext:
    """An ``ExpiryContext`` on ``pool`` with folders under ``tmp_path``."""
    return ExpiryContext(
        pool=pool, now=now, archive_dir=tmp_path / "archive",
        snapshot_dir=tmp_path / "snapshots", lock_timeout_s=5.0,
    )  # fmt: skip


async def audit_actions(admin: asyncpg.Pool, entity_id: str) -> list[str]:
    """The audit_log actions of ``entity_id`` by vigil-retention, oldest first."""
    rows = await admin.fetch(
        "SELECT action FROM audit_log WHERE entity_id = $1 AND actor = 'vigil-retention'"
        " ORDER BY id",
        entity_id,
    )
    return [str(r["action"]) for r in rows]
