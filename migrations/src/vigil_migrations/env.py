"""Alembic environment for Vigil (loaded by Alembic, not imported by application code).

The database URL comes from ``config.attributes["url"]`` (set by
:func:`vigil_migrations.config`), else the ``sqlalchemy.url`` option, else the
``VIGIL_DATABASE_URL`` environment variable. A live SQLAlchemy connection passed as
``config.attributes["connection"]`` is used as is.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from vigil_migrations.urls import sqlalchemy_url


def _database_url() -> str:
    config = context.config
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("VIGIL_DATABASE_URL")
    if not url:
        raise RuntimeError(
            "no database URL: call vigil_migrations.upgrade(url) or set VIGIL_DATABASE_URL"
        )
    return sqlalchemy_url(str(url))


def _run_with(connection: Connection) -> None:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Write the migration SQL to the output instead of executing it."""
    context.configure(
        url=_database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection (psycopg 3)."""
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_with(given)
        return
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
