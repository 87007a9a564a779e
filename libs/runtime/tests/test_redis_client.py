"""The hiredis-packed asyncio client: same bytes as redis-py's packer, works against Redis."""

from __future__ import annotations

from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import DataError

from vigil_runtime.redis_client import open_redis, packing_class

_ARG = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=50),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _python_and_hiredis() -> tuple[Connection, Connection]:
    return Connection(), packing_class(Connection)()  # type: ignore[return-value]


@given(name=st.sampled_from(["XADD", b"HSET", "evalsha", "CONFIG GET", b"CLIENT SETNAME"]),
       args=st.lists(_ARG, max_size=20))  # fmt: skip
def test_same_bytes_as_redis_py(name: str | bytes, args: list[Any]) -> None:
    python, fast = _python_and_hiredis()
    assert b"".join(fast.pack_command(name, *args)) == b"".join(python.pack_command(name, *args))


def test_pipeline_bytes_and_memoryview() -> None:
    python, fast = _python_and_hiredis()
    commands = [("SET", "a", memoryview(b"\x00\xff" * 40_000)), ("HSET", "h", "f", 1.5)]
    assert b"".join(fast.pack_commands(commands)) == b"".join(
        bytes(chunk) for chunk in python.pack_commands(commands)
    )


def test_unencodable_argument_is_refused_like_redis_py() -> None:
    _, fast = _python_and_hiredis()
    with pytest.raises(DataError):
        fast.pack_command("SET", "key", None)  # type: ignore[arg-type]


def test_class_follows_the_url_scheme(tmp_path: Any) -> None:
    client = open_redis(f"unix://{tmp_path}/redis.sock")
    assert issubclass(client.connection_pool.connection_class, UnixDomainSocketConnection)
    assert packing_class(Connection) is packing_class(Connection)


async def test_round_trip_against_redis(redis_url: str) -> None:
    client = open_redis(redis_url)
    plain = aioredis.Redis.from_url(redis_url)
    try:
        key = "vigil:test:redis-client"
        payload = bytes(range(256)) * 10
        async with client.pipeline(transaction=False) as pipe:
            pipe.delete(key)
            pipe.xadd(key, {"data": payload, "n": 7, "x": 0.25})
            pipe.config_get("maxmemory")
            results = await pipe.execute()
        assert results[2] is not None
        [(_, fields)] = cast(list[Any], await plain.xrange(key))
        assert fields == {b"data": payload, b"n": b"7", b"x": b"0.25"}
        sha = await client.script_load("return #ARGV")
        assert await client.evalsha(sha, 0, *range(50)) == 50
        await client.delete(key)
    finally:
        await client.aclose()
        await plain.aclose()
