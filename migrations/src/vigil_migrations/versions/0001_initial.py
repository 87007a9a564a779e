"""Initial Vigil schema: every table of ARCHITECTURE §4, partition functions, roles.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Runs versions/sql/0001_initial.up.sql / .down.sql (plain SQL, no ORM models).
"""

from __future__ import annotations

from vigil_migrations.sqlfiles import run_sql_file

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    run_sql_file("0001_initial.up.sql")


def downgrade() -> None:
    run_sql_file("0001_initial.down.sql")
