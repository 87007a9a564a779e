"""Vigil database migrations: an Alembic environment whose revisions run plain SQL files.

No ``alembic.ini`` is needed: :func:`config` builds the configuration in code, with
``script_location`` pointing at this package and the database URL passed to ``env.py``
through ``Config.attributes``. URLs are libpq URLs (``postgresql://…``); ``env.py`` turns
them into ``postgresql+psycopg://`` for SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from vigil_migrations.urls import sqlalchemy_url

__all__ = ["config", "current", "downgrade", "head", "sqlalchemy_url", "upgrade"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def config(url: str) -> Config:
    """Alembic configuration for the database at libpq URL ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_PACKAGE_DIR))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``."""
    command.upgrade(config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at ``url`` down to ``revision`` (default: drop everything)."""
    command.downgrade(config(url), revision)


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or ``None`` when it is unmigrated."""
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision shipped in this package (what ``upgrade`` reaches)."""
    revision = ScriptDirectory(str(_PACKAGE_DIR)).get_current_head()
    if revision is None:
        raise RuntimeError("the migrations package holds no revision")
    return revision
