"""Notify listeners when the camera registry changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-02

Runs versions/sql/0002_camera_notify.up.sql / .down.sql: a trigger on `cameras` that sends
`pg_notify('vigil_cameras', id)` after every insert, update and delete, so the ingest's
camera registry cache refreshes within moments instead of waiting for its periodic reload.
"""

from __future__ import annotations

from vigil_migrations.sqlfiles import run_sql_file

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    run_sql_file("0002_camera_notify.up.sql")


def downgrade() -> None:
    run_sql_file("0002_camera_notify.down.sql")
