"""The runtime's writers under the services' own roles, not the superuser.

A writer role owns nothing: a missing partition is created through the SECURITY DEFINER
``vigil_ensure_partition`` (owned by ``vigil_owner``), and the audit row goes in without
reading ``audit_log`` back. A grant missing from migration 0004 fails here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from vigil_runtime.audit import write_audit
from vigil_runtime.copy_writer import CopyWriter
from vigil_runtime.partitions import PartitionHelper
from vigil_schema.roles import OWNER, SERVICE_ROLES
from vigil_schema.tables import CAMERA_EVENTS

PoolAs = Callable[[str], Awaitable[Any]]


FAR = datetime(2039, 5, 6, 7, tzinfo=UTC)
WAIT = 15.0


async def _owner_of(pool: asyncpg.Pool, partition: str) -> str | None:
    owner: str | None = await pool.fetchval(
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = $1", partition
    )
    return owner


def _event(frame: int, ts: datetime) -> tuple[object, ...]:
    """A camera_events row in the column order of the ingest's own spec."""
    values = {"camera_id": "cam-1", "event_type": "motion", "ts": ts, "frame_number": frame,
              "received_at": ts, "source": "camera", "object_count": 0}  # fmt: skip
    return tuple(values.get(name) for name in CAMERA_EVENTS.column_names)


async def test_ingest_copies_into_a_partition_it_creates(
    pg_pool_as: PoolAs, pg_pool: asyncpg.Pool
) -> None:
    pool = await pg_pool_as(SERVICE_ROLES["ingest"])
    assert await pool.fetchval("SELECT current_user") == "vigil_ingest_login"
    far = FAR + timedelta(days=1)
    rows = [_event(n, ts) for n, ts in enumerate((FAR, far))]
    partitions = PartitionHelper(pool)
    async with CopyWriter(pool, CAMERA_EVENTS, conflict=True, partitions=partitions) as writer:
        await writer.add_many(rows)
        await asyncio.wait_for(writer.flush(), WAIT)
        # A redelivery: the COPY hits the dedup key, and the writer stages the batch in a
        # temp table built from camera_events (SELECT) and inserts ON CONFLICT DO NOTHING.
        await writer.add_many([*rows, _event(2, FAR)])
        await asyncio.wait_for(writer.flush(), WAIT)
        assert writer.fault is None
    assert await pg_pool.fetchval("SELECT count(*) FROM camera_events") == 3
    for name in ("camera_events_p20390506", "camera_events_p20390507"):
        assert await _owner_of(pg_pool, name) == OWNER


@pytest.mark.parametrize("service", sorted(SERVICE_ROLES))
async def test_every_service_writes_the_audit_log(
    service: str, pg_pool_as: PoolAs, pg_pool: asyncpg.Pool
) -> None:
    pool = await pg_pool_as(SERVICE_ROLES[service])
    ts = datetime(2039, 8, 1, tzinfo=UTC)
    assert await pg_pool.fetchval("SELECT to_regclass('audit_log_p203908')") is None
    await write_audit(pool, actor=service, action="role.test", entity_type="system",
                      entity_id=None, details={}, ts=ts, service=service)  # fmt: skip
    assert await pg_pool.fetchval("SELECT actor FROM audit_log WHERE ts = $1", ts) == service
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("DELETE FROM audit_log")


async def test_ingest_may_not_write_another_service_s_table(pg_pool_as: PoolAs) -> None:
    pool = await pg_pool_as(SERVICE_ROLES["ingest"])
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute(
            "INSERT INTO alerts (fingerprint, rule, severity, title) VALUES ('f', 'r', 'info', 't')"
        )
