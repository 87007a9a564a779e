"""Create, clone and drop PostgreSQL databases for tests (psycopg, autocommit)."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from vigil_runtime.stack.logins import Logins, prepare_database

TEMPLATE_NAME = "vigil_template"
ADMIN_DATABASE = "postgres"
CONNECT_TIMEOUT_S = 10


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database (same host, port and user)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"expected a postgresql:// URL, got {parts.scheme!r}")
    return urlunsplit(parts._replace(path=f"/{database}"))


def admin_connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the server's ``postgres`` database (for DDL on databases)."""
    return psycopg.connect(
        with_database(url, ADMIN_DATABASE), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
    )


def unique_name(prefix: str = "test") -> str:
    """A database name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex}"


def create_database(url: str, name: str, template: str = "template0") -> str:
    """Create ``name`` as a copy of ``template`` and return its URL."""
    query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )
    with admin_connect(url) as conn:
        conn.execute(query)
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop ``name`` even if connections are still open (``WITH (FORCE)``, PostgreSQL 13+)."""
    query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with admin_connect(url) as conn:
        conn.execute(query)


def find_upgrade() -> Callable[[str], None] | None:
    """``vigil_migrations.upgrade`` when the migrations package provides it, else ``None``."""
    try:
        module = importlib.import_module("vigil_migrations")
    except ImportError:
        return None
    upgrade = getattr(module, "upgrade", None)
    return cast("Callable[[str], None]", upgrade) if callable(upgrade) else None


def build_template(url: str, name: str = TEMPLATE_NAME) -> Logins | None:
    """(Re)create the template database, migrate it to head, and freeze it as a template.

    The migrations run as the owner's login and every role gets a login
    (:func:`vigil_runtime.stack.logins.prepare_database`); returns those logins, or None
    when ``vigil_migrations.upgrade`` does not exist yet (the template is then an empty
    database). Connections to the template are disallowed afterwards so that
    ``CREATE DATABASE … TEMPLATE`` never finds it busy.
    """
    with admin_connect(url) as conn:
        if _exists(conn, name):
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name))
            )
    drop_database(url, name)
    template_url = create_database(url, name)
    upgrade = find_upgrade()
    found = prepare_database(template_url, upgrade) if upgrade is not None else None
    with admin_connect(url) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
                sql.Identifier(name)
            )
        )
    return found


def _exists(conn: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None
