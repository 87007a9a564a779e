"""Offline mode (``alembic upgrade --sql``) and URL handling, without a server."""

from __future__ import annotations

import io

import pytest
from alembic import command

import vigil_migrations
from vigil_migrations.sqlfiles import read_sql
from vigil_migrations.urls import sqlalchemy_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://h/db?sslmode=require", "postgresql+psycopg://h/db?sslmode=require"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
    ],
)
def test_sqlalchemy_url(given: str, expected: str) -> None:
    assert sqlalchemy_url(given) == expected


@pytest.mark.parametrize(("revision", "sql_file"), [("head", "0001_initial.up.sql")])
def test_offline_upgrade_writes_the_sql_file_verbatim(revision: str, sql_file: str) -> None:
    out = io.StringIO()
    cfg = vigil_migrations.config("postgresql://nobody@localhost/none")
    cfg.output_buffer = out
    command.upgrade(cfg, revision, sql=True)
    script = out.getvalue()
    assert read_sql(sql_file) in script
    assert "INSERT INTO alembic_version" in script


def test_offline_downgrade_writes_the_down_file() -> None:
    out = io.StringIO()
    cfg = vigil_migrations.config("postgresql://nobody@localhost/none")
    cfg.output_buffer = out
    command.downgrade(cfg, "0001:base", sql=True)
    assert read_sql("0001_initial.down.sql") in out.getvalue()
