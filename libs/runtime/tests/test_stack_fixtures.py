"""Smoke tests of the pytest plugin's fixtures against the session's real servers."""

from __future__ import annotations

import asyncpg
import psycopg
import pytest
import redis.asyncio

from vigil_runtime.stack import StackInfo
from vigil_runtime.stack.probes import mqtt_connack
from vigil_runtime.testing import databases

_seen_redis_urls: list[str] = []


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {str(row[0]) for row in rows}


def test_database_url_is_a_fresh_clone_of_the_template(
    database_url: str, vigil_stack: StackInfo
) -> None:
    name = database_url.rsplit("/", 1)[1]
    assert name.startswith("test_")
    with databases.admin_connect(vigil_stack.database_url) as conn:
        row = conn.execute(
            "SELECT datistemplate FROM pg_database WHERE datname = %s",
            (databases.TEMPLATE_NAME,),
        ).fetchone()
    assert row == (True,)
    if databases.find_upgrade() is not None:
        assert "alembic_version" in _tables(database_url)
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE scratch (id int)")


def test_databases_are_isolated(database_url: str, empty_database_url: str) -> None:
    assert database_url != empty_database_url
    assert "scratch" not in _tables(database_url)
    assert _tables(empty_database_url) == set()


def test_database_is_dropped_after_the_test(vigil_stack: StackInfo) -> None:
    with databases.admin_connect(vigil_stack.database_url) as conn:
        leftovers = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%' "
            "OR datname LIKE 'empty\\_%'"
        ).fetchall()
    assert leftovers == []


async def test_pg_pool_runs_queries(pg_pool: asyncpg.Pool) -> None:
    assert await pg_pool.fetchval("SELECT 1 + 1") == 2


@pytest.mark.parametrize("round_", [1, 2])
async def test_redis_databases_are_isolated(
    round_: int, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    assert redis_url not in _seen_redis_urls
    _seen_redis_urls.append(redis_url)
    assert await redis_client.dbsize() == 0
    await redis_client.set(b"marker", str(round_).encode())
    assert await redis_client.get(b"marker") == str(round_).encode()


def test_mqtt_url_accepts_connections(mqtt_url: str) -> None:
    port = int(mqtt_url.rsplit(":", 1)[1])
    assert mqtt_connack(port) == 0


def test_stack_env_points_at_this_test(
    stack_env: dict[str, str], database_url: str, redis_url: str, mqtt_url: str
) -> None:
    assert stack_env == {
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_MQTT_URL": mqtt_url,
    }
