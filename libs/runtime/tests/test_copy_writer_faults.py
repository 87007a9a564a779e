"""CopyWriter against real PostgreSQL: infrastructure faults keep the rows, never reject them.

A revoked privilege, a partition that cannot be created, a refused row with nowhere to go,
an ``on_reject`` that fails: the writer keeps the rows, runs no ``on_commit``, says why in
``fault``, and commits exactly the rows once the cause is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from vigil_runtime.copy_writer import CopyWriter, Row
from vigil_runtime.db import create_pool
from vigil_runtime.partitions import PartitionHelper

NOW = datetime.now(UTC).replace(microsecond=0)
WAIT = 15.0


@dataclass(frozen=True)
class Spec:
    name: str
    column_names: tuple[str, ...]
    partition_key: str | None


EVENTS = Spec("camera_events", ("camera_id", "event_type", "ts", "frame_number"), "ts")


def event(frame: int, *, ts: datetime = NOW) -> Row:
    return ("cam-1", "motion", ts, frame)


async def count(pool: asyncpg.Pool) -> int:
    value: int = await pool.fetchval("SELECT count(*) FROM camera_events")
    return value


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until ``predicate`` holds."""
    async with asyncio.timeout(WAIT):
        while not predicate():  # noqa: ASYNC110 - polls another task's state
            await asyncio.sleep(0.01)
    assert predicate(), what


@contextlib.asynccontextmanager
async def writer(pool: asyncpg.Pool, **kwargs: Any) -> AsyncIterator[CopyWriter]:
    copy_writer = CopyWriter(pool, EVENTS, max_age_s=0.01, backoff_max=0.05, **kwargs)
    try:
        yield copy_writer
    finally:
        with contextlib.suppress(TimeoutError):
            await copy_writer.close(timeout=WAIT)


@dataclass(frozen=True)
class RolePool:
    pool: asyncpg.Pool
    role: str


@pytest.fixture
async def role_pool(pg_pool: asyncpg.Pool, database_url: str) -> AsyncIterator[RolePool]:
    """A pool whose connections act as a fresh non-superuser role with every table
    privilege (the superuser ``pg_pool`` revokes and grants them back)."""
    role = f"vigil_test_{secrets.token_hex(4)}"
    await pg_pool.execute(f"CREATE ROLE {role} NOLOGIN")
    await pg_pool.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")

    async def as_role(conn: asyncpg.Connection) -> None:
        await conn.execute(f"SET ROLE {role}")

    pool = await create_pool(database_url, min_size=1, max_size=3, init=as_role)
    try:
        yield RolePool(pool, role)
    finally:
        await pool.close()
        await pg_pool.execute(f"DROP OWNED BY {role}")
        await pg_pool.execute(f"DROP ROLE {role}")


async def test_a_revoked_privilege_keeps_the_rows_until_it_is_granted_back(
    pg_pool: asyncpg.Pool, role_pool: RolePool
) -> None:
    role = role_pool.role
    await pg_pool.execute(f"REVOKE INSERT ON camera_events FROM {role}")
    rejected: list[Row] = []
    committed: list[bool] = []
    async with writer(role_pool.pool, on_reject=lambda row, _exc: rejected.append(row)) as cw:
        await cw.add_many([event(i) for i in range(20)], on_commit=lambda: committed.append(True))
        await until(lambda: cw.fault is not None, "the writer reports the fault")
        assert cw.fault is not None
        assert cw.fault.startswith("42501 ")
        assert "permission denied" in cw.fault
        assert rejected == []
        assert committed == []
        assert cw.pending == 20
        await pg_pool.execute(f"GRANT INSERT ON camera_events TO {role}")
        await asyncio.wait_for(cw.flush(), WAIT)
        assert cw.fault is None
    assert committed == [True]
    assert rejected == []
    assert await count(pg_pool) == 20


async def test_a_partition_that_cannot_be_created_is_a_fault_not_a_reject(
    pg_pool: asyncpg.Pool,
) -> None:
    name = await pg_pool.fetchval(
        "SELECT partition_name FROM vigil_partition_bounds('camera_events', $1)", NOW
    )
    # A plain table squats on the partition's name: vigil_ensure_partition finds it and
    # returns, and the rows still have no partition.
    await pg_pool.execute(f'DROP TABLE IF EXISTS "{name}"')
    await pg_pool.execute(f'CREATE TABLE "{name}" (squatter int)')
    rejected: list[Row] = []
    async with writer(
        pg_pool, partitions=PartitionHelper(pg_pool), on_reject=lambda r, _e: rejected.append(r)
    ) as cw:
        await cw.add_many([event(i) for i in range(5)])
        await until(lambda: cw.fault is not None, "the writer reports the fault")
        await until(lambda: "partition still missing" in (cw.fault or ""), "partition fault")
        assert rejected == []
        assert cw.pending == 5
        await pg_pool.execute(f'DROP TABLE "{name}"')
        await asyncio.wait_for(cw.flush(), WAIT)
        assert cw.fault is None
    assert rejected == []
    assert await count(pg_pool) == 5


async def test_without_on_reject_a_refused_row_is_kept_and_not_committed(
    pg_pool: asyncpg.Pool,
) -> None:
    committed: list[bool] = []
    cw = CopyWriter(pg_pool, EVENTS, max_age_s=0.01, backoff_max=0.05)
    bad = ("cam-1", "motion", NOW, -1)  # frame_number CHECK (>= 0)
    await cw.add_many([event(1), bad, event(2)], on_commit=lambda: committed.append(True))
    await until(lambda: "keeps no rejects" in (cw.fault or ""), "the writer reports the fault")
    assert committed == []
    assert cw.pending == 3
    assert await count(pg_pool) == 1  # the rows before the refused one; the group is not done
    with pytest.raises(TimeoutError):
        await cw.close(timeout=0.2)
    assert committed == []


async def test_an_on_reject_that_fails_is_retried_and_holds_the_group(
    pg_pool: asyncpg.Pool,
) -> None:
    kept: list[Row] = []
    failures = [RuntimeError("rejects table unavailable")] * 3
    committed: list[bool] = []

    async def on_reject(row: Row, _exc: BaseException) -> None:
        if failures:
            raise failures.pop()
        kept.append(row)

    bad = ("cam-1", "motion", NOW, -1)
    async with writer(pg_pool, on_reject=on_reject) as cw:
        await cw.add_many([event(1), bad], on_commit=lambda: committed.append(True))
        await until(lambda: cw.fault is not None or bool(committed), "fault or done")
        await asyncio.wait_for(cw.flush(), WAIT)
        assert cw.fault is None
    assert kept == [bad]
    assert committed == [True]
    assert await count(pg_pool) == 1


async def test_a_partition_the_role_may_not_create_is_a_fault_until_it_may(
    pg_pool: asyncpg.Pool, role_pool: RolePool
) -> None:
    role = role_pool.role
    function = "vigil_ensure_partition(text, timestamptz)"
    future = NOW + timedelta(days=400)  # no partition yet
    await pg_pool.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    rejected: list[Row] = []
    pool = role_pool.pool
    try:
        async with writer(
            pool, partitions=PartitionHelper(pool), on_reject=lambda r, _e: rejected.append(r)
        ) as cw:
            await cw.add_many([event(1, ts=future), event(2)])
            await until(lambda: "cannot create a partition" in (cw.fault or ""), "the fault")
            assert "42501" in (cw.fault or "")
            assert rejected == []
            assert cw.pending == 2
            await pg_pool.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")
            await asyncio.wait_for(cw.flush(), WAIT)
            assert cw.fault is None
    finally:
        await pg_pool.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
    assert rejected == []
    assert await count(pg_pool) == 2
