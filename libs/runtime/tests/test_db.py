"""create_pool, pg_ready and the error classifiers against a real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from vigil_runtime.db import create_pool, is_connection_error, is_transient_error, pg_ready


async def test_pool_round_trips_json_and_jsonb_as_python_objects(pg_pool: asyncpg.Pool) -> None:
    value = {"zones": [{"name": "door", "points": [[0, 0], [1, 1]]}], "ok": True}
    async with pg_pool.acquire() as conn:
        as_jsonb = await conn.fetchval("SELECT $1::jsonb", value)
        as_json = await conn.fetchval("SELECT $1::json", [1, "two"])
        keys = await conn.fetchval("SELECT jsonb_object_keys($1::jsonb) LIMIT 1", {"k": 1})
    assert as_jsonb == value
    assert as_json == [1, "two"]
    assert keys == "k"


async def test_pool_applies_application_name_and_statement_timeout(database_url: str) -> None:
    pool = await create_pool(
        database_url,
        min_size=1,
        max_size=1,
        application_name="vigil-test",
        statement_timeout_ms=100,
    )
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "vigil-test"
            with pytest.raises(asyncpg.QueryCanceledError) as info:
                await conn.execute("SELECT pg_sleep(2)")
        assert is_transient_error(info.value)
        assert not is_connection_error(info.value)
    finally:
        await pool.close()


async def test_pg_ready_passes_on_a_live_pool(pg_pool: asyncpg.Pool) -> None:
    await pg_ready(pg_pool)


async def test_pg_ready_raises_when_no_server_answers() -> None:
    pool = await create_pool(
        "postgresql://postgres@127.0.0.1:1/none", min_size=0, max_size=1, connect_timeout=1.0
    )
    try:
        with pytest.raises(Exception) as info:
            await pg_ready(pool, timeout=2.0)
        assert is_connection_error(info.value)
    finally:
        pool.terminate()


async def test_terminated_backend_is_a_connection_error(database_url: str) -> None:
    victim = await asyncpg.connect(database_url)
    killer = await asyncpg.connect(database_url)
    try:
        await killer.fetchval("SELECT pg_terminate_backend($1)", victim.get_server_pid())
        with pytest.raises(Exception) as info:
            await victim.fetchval("SELECT 1")
        assert is_connection_error(info.value), repr(info.value)
    finally:
        victim.terminate()
        await killer.close()


async def test_unreachable_server_is_a_connection_error() -> None:
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(
            create_pool("postgresql://postgres@127.0.0.1:1/none", min_size=1, connect_timeout=1),
            5,
        )
    assert is_connection_error(info.value)


async def test_data_errors_are_neither_connection_nor_transient(pg_pool: asyncpg.Pool) -> None:
    async with pg_pool.acquire() as conn:
        with pytest.raises(asyncpg.DataError) as info:
            await conn.fetchval("SELECT 'not a number'::int")
    assert not is_connection_error(info.value)
    assert not is_transient_error(info.value)
