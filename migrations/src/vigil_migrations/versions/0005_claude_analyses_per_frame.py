"""claude_analyses: at most one analysis per frame (camera_id, frame_number, ts).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Runs versions/sql/0005_claude_analyses_per_frame.up.sql / .down.sql. The analyzer claims a
frame in Redis before it asks Claude (so a redelivered frame costs no second call); this
unique index is the database's half of the promise: a second row for the same frame is a
conflict, never a duplicate analysis. ``frame_number`` stays nullable (an analysis that is
not about one frame); NULLs never conflict. ``TableSpec.dedup_key`` names the same columns.
"""

from __future__ import annotations

from vigil_migrations.sqlfiles import run_sql_file

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    run_sql_file("0005_claude_analyses_per_frame.up.sql")


def downgrade() -> None:
    run_sql_file("0005_claude_analyses_per_frame.down.sql")
