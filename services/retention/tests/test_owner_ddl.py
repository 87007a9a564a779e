"""owner_ddl as the real vigil_retention login: SET ROLE around DDL, detach, finalize, drop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from vigil_retention.models import PartitionState
from vigil_retention.owner_ddl import owner_session, qualified, quote_ident

from .expire_helpers import OWNER, insert_rejects, interrupt_detach, make_partition, state_of

PoolAs = Callable[[str], Awaitable[Any]]


def test_quoting() -> None:
    assert quote_ident('we"ird') == '"we""ird"'
    assert qualified("public", "t") == '"public"."t"'


async def test_session_switches_role_and_lock_timeout_and_resets(pg_pool_as: PoolAs) -> None:
    pool = await pg_pool_as("vigil_retention")
    async with pool.acquire() as conn:
        login = await conn.fetchval("SELECT current_user")
        timeout = await conn.fetchval("SHOW lock_timeout")
        async with owner_session(conn, OWNER, 2.5) as ddl:
            assert await ddl.conn.fetchval("SELECT current_user") == OWNER
            assert await conn.fetchval("SHOW lock_timeout") == "2500ms"
        assert await conn.fetchval("SELECT current_user") == login
        assert await conn.fetchval("SHOW lock_timeout") == timeout
    assert login != OWNER


async def test_session_resets_after_an_error(pg_pool_as: PoolAs) -> None:
    pool = await pg_pool_as("vigil_retention")
    async with pool.acquire() as conn:
        login = await conn.fetchval("SELECT current_user")
        with pytest.raises(asyncpg.UndefinedTableError):
            async with owner_session(conn, OWNER, 1.0) as ddl:
                await ddl.conn.execute("SELECT * FROM no_such_table")
        assert await conn.fetchval("SELECT current_user") == login


async def test_without_set_role_the_login_cannot_drop(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    pool = await pg_pool_as("vigil_retention")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute(f"DROP TABLE {qualified('public', part.name)}")


async def test_detach_concurrently_then_drop(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    pool = await pg_pool_as("vigil_retention")
    assert await state_of(pool, part) is PartitionState.ATTACHED
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        await ddl.detach_concurrently(part.table, part.name)
        assert await ddl.state(part.table, part.name) is PartitionState.DETACHED
        assert await ddl.exists("public", part.name)
        await ddl.drop("public", part.name)
        await ddl.drop("public", part.name)  # a repeat is a no-op
        assert await ddl.state(part.table, part.name) is None
        assert not await ddl.exists("public", part.name)


async def test_interrupted_detach_is_pending_and_finalize_finishes_it(
    pg_pool: Any, pg_pool_as: PoolAs
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    await insert_rejects(pg_pool)
    pool = await pg_pool_as("vigil_retention")
    await interrupt_detach(pg_pool, pool, part)
    assert await state_of(pool, part) is PartitionState.DETACH_PENDING
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        assert await ddl.pending(part.table) == [part.name]
    # A pending partition is no longer seen through the parent by new snapshots.
    assert await pg_pool.fetchval("SELECT count(*) FROM ingest_rejects") == 0
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        await ddl.finalize_detach(part.table, part.name)
        assert await ddl.state(part.table, part.name) is PartitionState.DETACHED
    assert await pg_pool.fetchval(f"SELECT count(*) FROM {part.name}") == 3


async def test_move_to_archive_is_idempotent(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    pool = await pg_pool_as("vigil_retention")
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        await ddl.detach_concurrently(part.table, part.name)
        await ddl.move_to_archive(part.name)
        await ddl.move_to_archive(part.name)
        assert await ddl.state(part.table, part.name) is PartitionState.ARCHIVED
        assert await ddl.exists("vigil_archive", part.name)
