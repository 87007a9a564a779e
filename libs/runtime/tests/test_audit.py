"""write_audit into the migrated, immutable audit_log."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from vigil_runtime.audit import write_audit


async def test_writes_a_row_through_the_pool(pg_pool: asyncpg.Pool) -> None:
    await write_audit(
        pg_pool,
        actor="cli:alice",
        action="camera.add",
        entity_type="camera",
        entity_id="cam-1",
        details={"name": "Front door", "zones": 2},
        service="cli",
        ip_address="10.0.0.7",
        correlation_id="req-42",
    )
    row = await pg_pool.fetchrow("SELECT * FROM audit_log")
    assert row["actor"] == "cli:alice"
    assert row["action"] == "camera.add"
    assert row["entity_type"] == "camera"
    assert row["entity_id"] == "cam-1"
    assert row["details"] == {"name": "Front door", "zones": 2}
    assert row["action_status"] == "success"
    assert row["severity"] == "info"
    assert str(row["ip_address"]) == "10.0.0.7"
    assert row["correlation_id"] == "req-42"
    assert abs((datetime.now(UTC) - row["ts"]).total_seconds()) < 60


async def test_joins_the_callers_transaction(pg_pool: asyncpg.Pool) -> None:
    async with pg_pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await write_audit(
            conn, actor="a", action="x", entity_type="camera", entity_id=None, details={}
        )
        await tx.rollback()
        async with conn.transaction():
            await write_audit(
                conn, actor="b", action="y", entity_type="camera", entity_id="c", details={}
            )
    assert await pg_pool.fetchval("SELECT array_agg(actor) FROM audit_log") == ["b"]


async def test_missing_partition_is_created_inside_the_callers_transaction(
    pg_pool: asyncpg.Pool,
) -> None:
    far = datetime(2033, 7, 1, 12, tzinfo=UTC)
    async with pg_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL ROLE vigil_ingest")  # insert-only, like the ingest
        await write_audit(
            conn,
            actor="ingest",
            action="camera.offline",
            entity_type="camera",
            entity_id="cam-9",
            details={"reason": "lwt"},
            ts=far,
            severity="warning",
        )
        await conn.execute("SELECT 1")  # the transaction survived the missing partition
    assert await pg_pool.fetchval("SELECT count(*) FROM audit_log_p203307") == 1


async def test_rows_are_immutable_and_checks_apply(pg_pool: asyncpg.Pool) -> None:
    await write_audit(
        pg_pool, actor="a", action="x", entity_type="camera", entity_id="c", details={}
    )
    with pytest.raises(asyncpg.PostgresError, match="immutable"):
        await pg_pool.execute("UPDATE audit_log SET actor = 'mallory'")
    with pytest.raises(asyncpg.CheckViolationError):
        await write_audit(
            pg_pool,
            actor="a",
            action="x",
            entity_type="camera",
            entity_id="c",
            details={},
            severity="apocalyptic",
        )
