"""Run the alerter's asyncpg store functions from the synchronous CLI.

The lifecycle and silence rules (allowed transitions, Alertmanager's silence updates, the
audit rows) live in ``vigil_alerter.store``; the CLI calls the same functions rather than
re-implementing them in psycopg. :func:`run_store` opens one asyncpg connection as the CLI's
role (``VIGIL_DATABASE_URL``) with the runtime's JSON codecs, runs the coroutine function on
it inside ``asyncio.run``, and closes it. Connection and database errors become
:class:`click.ClickException` without the password; the store's own errors pass through for
the command to word.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import click

from vigil_runtime.db import init_connection
from vigil_runtime.settings import VigilSettings, redact_text, redacted_url

T = TypeVar("T")
CONNECT_TIMEOUT_S = 10


def run_store(settings: VigilSettings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """``work(conn)`` on a fresh asyncpg connection; its result."""
    return asyncio.run(_run(settings, work))


async def _run(settings: VigilSettings, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise click.ClickException(
            f"cannot connect to PostgreSQL at {redacted_url(settings.database_url)}: "
            f"{redact_text(str(exc).strip())} (is the stack running? try `vigil stack status`)"
        ) from None
    try:
        await init_connection(conn)
        return await work(conn)
    except asyncpg.UndefinedTableError as exc:
        raise click.ClickException(
            f"{exc}: the database is not migrated; run `vigil migrate`"
        ) from None
    except asyncpg.PostgresError as exc:
        raise click.ClickException(f"database error: {redact_text(str(exc).strip())}") from None
    finally:
        await conn.close()
