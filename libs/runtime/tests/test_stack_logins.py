"""The local stack's logins: URLs, and migrating a database as the owner's login."""

from __future__ import annotations

import psycopg

import vigil_migrations
from vigil_runtime.stack.logins import login_name, prepare_database, url_as
from vigil_schema.roles import ALL_ROLES, OWNER


def test_url_as_swaps_only_the_user_and_password() -> None:
    url = "postgresql://postgres:secret@127.0.0.1:5432/vigil?sslmode=disable"
    assert url_as(url, "vigil_ingest_login", "p@ss/w:rd") == (
        "postgresql://vigil_ingest_login:p%40ss%2Fw%3Ard@127.0.0.1:5432/vigil?sslmode=disable"
    )
    assert url_as("postgresql://h/db", "u", "p") == "postgresql://u:p@h/db"


def _owner_of(url: str, relation: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", (relation,)
        ).fetchone()
    return None if row is None else str(row[0])


def test_a_fresh_database_is_migrated_by_the_owner_login(empty_database_url: str) -> None:
    logins = prepare_database(empty_database_url, vigil_migrations.upgrade)
    assert vigil_migrations.current(empty_database_url) == vigil_migrations.head()
    assert _owner_of(empty_database_url, "camera_events") == OWNER
    assert _owner_of(empty_database_url, "alembic_version") == OWNER
    for role in ALL_ROLES:
        with psycopg.connect(logins.url(role, empty_database_url)) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (login_name(role),)


def test_a_database_the_superuser_migrated_before_0004_is_handed_to_the_owner(
    empty_database_url: str,
) -> None:
    vigil_migrations.upgrade(empty_database_url, "0003")
    assert _owner_of(empty_database_url, "camera_events") == "postgres"
    logins = prepare_database(empty_database_url, vigil_migrations.upgrade)
    assert vigil_migrations.current(empty_database_url) == vigil_migrations.head()
    assert _owner_of(empty_database_url, "camera_events") == OWNER
    vigil_migrations.upgrade(logins.url(OWNER, empty_database_url))  # the owner may go on
