"""Upgrade to head, downgrade to base, and again: nothing of ours may be left behind."""

from __future__ import annotations

import psycopg

import vigil_migrations
from vigil_schema.roles import ALL_ROLES
from vigil_schema.tables import ALL_TABLES, ALL_VIEWS

LEFTOVERS_SQL = """
    SELECT 'relation ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname <> 'alembic_version'
       AND c.relname NOT LIKE 'alembic_version%'
    UNION ALL
    SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' AND t.typname NOT LIKE '%alembic_version'
    UNION ALL
    SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname LIKE 'vigil%'
"""


def _leftovers(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return sorted(row[0] for row in conn.execute(LEFTOVERS_SQL))


def _relation_names(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')"
            " AND NOT c.relispartition AND c.relname <> 'alembic_version'"
        )
        return {row[0] for row in rows}


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url: str) -> None:
    url = empty_database_url
    expected = {spec.name for spec in ALL_TABLES + ALL_VIEWS}
    assert vigil_migrations.current(url) is None

    for _ in range(2):
        vigil_migrations.upgrade(url)
        assert vigil_migrations.current(url) == vigil_migrations.head()
        assert _relation_names(url) == expected

        vigil_migrations.downgrade(url)
        assert vigil_migrations.current(url) is None
        assert _leftovers(url) == []

    vigil_migrations.upgrade(url)
    assert _relation_names(url) == expected


def test_upgrade_is_a_no_op_at_head(database_url: str) -> None:
    before = _relation_names(database_url)
    vigil_migrations.upgrade(database_url)
    assert vigil_migrations.current(database_url) == vigil_migrations.head()
    assert _relation_names(database_url) == before


def test_downgrade_keeps_roles_other_databases_use(
    database_url: str, empty_database_url: str
) -> None:
    """Roles are cluster-wide: downgrading one database must not break another one."""
    vigil_migrations.upgrade(empty_database_url)
    vigil_migrations.downgrade(empty_database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        roles = conn.execute(
            "SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", (list(ALL_ROLES),)
        ).fetchone()
        assert roles == (len(ALL_ROLES),)
        retention_ddl = conn.execute(
            "SELECT pg_has_role('vigil_retention', 'vigil_owner', 'MEMBER')"
        ).fetchone()
        assert retention_ddl == (True,)  # vigil-retention's SET ROLE (0008) still works here
        conn.execute("SET ROLE vigil_readonly")
        conn.execute("SELECT count(*) FROM camera_events")
