"""Shared helpers for the migration tests (servers come from the vigil pytest plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

OUR_RELATIONS_SQL = """
    SELECT c.relname, c.relkind
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND NOT c.relispartition AND c.relname <> 'alembic_version'
"""


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """Autocommit psycopg connection to a fresh migrated database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn
