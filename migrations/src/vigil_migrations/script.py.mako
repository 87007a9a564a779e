"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Runs versions/sql/<this file's stem>.up.sql / .down.sql (plain SQL, no ORM models).
"""

from __future__ import annotations

from pathlib import Path

from vigil_migrations.sqlfiles import run_sql_file

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | tuple[str, ...] | None = ${repr(branch_labels)}
depends_on: str | tuple[str, ...] | None = ${repr(depends_on)}

_STEM = Path(__file__).stem


def upgrade() -> None:
    run_sql_file(f"{_STEM}.up.sql")


def downgrade() -> None:
    run_sql_file(f"{_STEM}.down.sql")
