"""The services' asyncio Redis client, with commands packed by hiredis.

redis-py parses replies with hiredis when it is installed (``redis[hiredis]``), but its
asyncio connections still *pack* every command in Python, one ``encode`` and a few bytes
joins per argument. For the ingest's fan-out (one ``EVALSHA`` with ten arguments per
message) that was about 8 µs of CPU per message; ``hiredis.pack_command`` (C) does the same
in well under one (``bench/pipeline_micro.py``, docs/ingest.md). The wire bytes are the same:
``tests/test_redis_client.py`` compares both packers.

:func:`open_redis` builds the client from a URL like ``redis.asyncio.Redis.from_url`` (TCP,
TLS or Unix socket, whichever the URL names) and swaps the pool's connection class for a
subclass that overrides only the two packing methods.

The errors of that client, named once for every caller:

- ``REDIS_CONNECTION_ERRORS``: Redis unreachable or not answering in time (the socket
  failed, the server closed the connection, a timeout). The work is not at fault: back off
  and try again. A refused command (``ResponseError``) is not one of them.
- ``REDIS_ERRORS``: any failure of a Redis call, a refused command included (``OOM``,
  ``READONLY`` during a failover, ``NOAUTH``). For best-effort background work (the
  heartbeat) and for connecting, which must retry rather than crash on either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import hiredis
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

__all__ = [
    "REDIS_CONNECTION_ERRORS",
    "REDIS_ERRORS",
    "HiredisPacking",
    "open_redis",
    "packing_class",
]

REDIS_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,  # the builtin TimeoutError (asyncio's timeouts) is an OSError
)
"""Redis unreachable or too slow: retry later (see the module docstring)."""

REDIS_ERRORS: tuple[type[BaseException], ...] = (
    *REDIS_CONNECTION_ERRORS,
    redis.exceptions.RedisError,
)
"""Any failed Redis call, refused commands included (see the module docstring)."""

_SPACE = b" "


class HiredisPacking:
    """Mixin for redis-py asyncio connections: ``pack_command(s)`` done by hiredis."""

    encoder: Any

    def pack_command(self, *args: Any) -> list[bytes]:
        """One command in RESP, as one bytes object (redis-py's contract: a list of chunks).

        Like redis-py, a first argument with spaces (``"CONFIG GET"``) is split into words;
        other arguments go through the connection's encoder (so ``decode_responses`` and the
        encoding settings apply as they would in Python).
        """
        first = args[0]
        if isinstance(first, str):
            first = first.encode()
        args = (*first.split(), *args[1:]) if _SPACE in first else (first, *args[1:])
        encode = self.encoder.encode
        return [hiredis.pack_command(tuple(map(encode, args)))]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        """A pipeline's commands, packed into one bytes object."""
        return [b"".join([self.pack_command(*command)[0] for command in commands])]


_PACKING_CLASSES: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def packing_class(base: type[AbstractConnection]) -> type[AbstractConnection]:
    """``base`` (a redis-py asyncio connection class) with hiredis packing (one class per
    base, made once)."""
    made = _PACKING_CLASSES.get(base)
    if made is None:
        made = _PACKING_CLASSES[base] = type(
            f"HiredisPacking{base.__name__}", (HiredisPacking, base), {}
        )
    return made


def open_redis(url: str, **kwargs: Any) -> aioredis.Redis:
    """An asyncio Redis client for ``url`` (options as ``Redis.from_url``), hiredis-packed."""
    client = aioredis.Redis.from_url(url, **kwargs)
    pool = client.connection_pool
    pool.connection_class = packing_class(pool.connection_class)
    return client
