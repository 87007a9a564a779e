"""asyncpg connection pool and error classification.

Services talk to PostgreSQL through one :func:`create_pool` per process. The
pool decodes ``json``/``jsonb`` to Python objects (and encodes them back) so
callers never hand-serialise JSON, and sets timeouts so that no query waits
forever. :func:`is_connection_error` and :func:`is_transient_error` tell
retry loops which failures are worth retrying on a fresh connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg
import orjson

__all__ = [
    "create_pool",
    "init_connection",
    "is_connection_error",
    "is_transient_error",
    "pg_ready",
]

_JSONB_VERSION = b"\x01"

ConnectionInit = Callable[[asyncpg.Connection], Awaitable[None]]

# Server-side errors that mean "this connection (or the server) went away".
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    OSError,  # includes TimeoutError / asyncio.TimeoutError
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.InterfaceError,  # includes ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)

# Errors that a retry of the same work on a fresh connection can clear.
_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *_CONNECTION_ERRORS,
    asyncpg.QueryCanceledError,  # statement_timeout / cancel request
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.LockNotAvailableError,
    asyncpg.InsufficientResourcesError,  # class 53: disk full, out of memory
)


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection or the server is unavailable."""
    return isinstance(exc, _CONNECTION_ERRORS) or _is_dead_connection_quirk(exc)


def _is_dead_connection_quirk(exc: BaseException) -> bool:
    """asyncpg's report of a backend terminated while its connection sat idle.

    The server's FATAL message arrives unasked, and the connection's next use
    fails with ``InternalClientError("cannot switch to state ...; another
    operation ... is in progress")``. Other ``InternalClientError``s are bugs
    (e.g. a missing binary codec) and must not be retried as outages.
    """
    return isinstance(exc, asyncpg.InternalClientError) and "another operation" in str(exc)


def is_transient_error(exc: BaseException) -> bool:
    """Whether retrying the same statement later may succeed.

    Connection loss, timeouts, serialization failures and deadlocks are
    transient; data errors (bad values, constraint violations) are not.
    """
    return isinstance(exc, _TRANSIENT_ERRORS) or _is_dead_connection_quirk(exc)


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _decode_json(data: bytes) -> Any:
    return json.loads(data)


_ORJSON_OPTIONS: Final = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _encode_jsonb(value: Any) -> bytes:
    """jsonb binary format: the version byte, then the JSON text.

    The text comes from orjson (about ten times faster than ``json``; jsonb is the binary
    COPY's costliest column type), but only where the stored value is exactly the one
    ``json.dumps`` gives: jsonb keeps decoded strings and numeric values, and both libraries
    write floats as their shortest round-trip decimal. Everything else goes through
    :func:`_encode_json` as before: what orjson refuses (integers beyond 64 bits, non-string
    keys, lone surrogates, datetimes and dataclasses, which ``json`` refuses too), and any
    output holding ``null``, because orjson writes NaN and infinities as ``null`` where
    ``json`` writes ``NaN``, which PostgreSQL refuses.
    """
    try:
        text = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return _JSONB_VERSION + _encode_json(value)
    if b"null" in text:
        return _JSONB_VERSION + _encode_json(value)
    return _JSONB_VERSION + text


def _decode_jsonb(data: bytes) -> Any:
    if data[:1] != _JSONB_VERSION:
        raise ValueError(f"unsupported jsonb binary format version {data[:1]!r}")
    return json.loads(data[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    """Register JSON codecs: ``json``/``jsonb`` values are Python objects.

    The codecs use the binary wire format (jsonb's is a version byte then the
    text), so they also serve the binary COPY of :mod:`vigil_runtime.copy_writer`.
    """
    await conn.set_type_codec(
        "json", encoder=_encode_json, decoder=_decode_json, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


async def create_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    command_timeout: float | None = 30.0,
    connect_timeout: float = 10.0,
    application_name: str | None = None,
    statement_timeout_ms: int | None = None,
    max_inactive_connection_lifetime: float = 300.0,
    init: ConnectionInit | None = None,
) -> asyncpg.Pool:
    """Create an ``asyncpg.Pool`` with JSON codecs and timeouts.

    ``command_timeout`` bounds each query on the client side;
    ``statement_timeout_ms`` (optional) sets the server-side
    ``statement_timeout`` too. ``init`` runs after the JSON codecs are set
    on every new connection. The pool is returned open.
    """
    server_settings: dict[str, str] = {}
    if application_name:
        server_settings["application_name"] = application_name
    if statement_timeout_ms is not None:
        server_settings["statement_timeout"] = str(statement_timeout_ms)

    async def _init(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        if init is not None:
            await init(conn)

    return await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        timeout=connect_timeout,
        max_inactive_connection_lifetime=max_inactive_connection_lifetime,
        server_settings=server_settings or None,
        init=_init,
    )


async def pg_ready(pool: asyncpg.Pool, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Raise unless a pooled connection answers ``SELECT 1`` within ``timeout``.

    Used as the ``/readyz`` check of every service that writes to PostgreSQL.
    """
    async with asyncio.timeout(timeout):
        async with pool.acquire() as conn:
            value = await conn.fetchval("SELECT 1")
    if value != 1:
        raise RuntimeError(f"unexpected answer to SELECT 1: {value!r}")
