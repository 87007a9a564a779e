"""Retention: expiry actions and archives, rollup state, run history, partitions by ATTACH.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Runs versions/sql/0008_retention.up.sql / .down.sql:

- ``retention_policies.expire_action`` (``drop`` | ``archive_schema`` | ``archive_file``)
  replaces ``archive``; ``archive_keep_days`` (how long archives stay) and
  ``min_retention_days`` (a floor: audit_log 365) are added; the seeds' policies.
- ``rollup_state``: each rollup's sources, bucket, lateness window, keep days and watermarks.
- ``occupancy_hourly.sum_count``; ``camera_stats_hourly`` objects and heatmap activity.
- ``retention_runs``: one row per retention run.
- ``vigil_ensure_partition`` creates partitions by CREATE TABLE LIKE + CHECK + ATTACH.
- ``vigil_retention`` becomes a NOINHERIT member of ``vigil_owner`` (SET ROLE for the DDL
  that cannot run in a SECURITY DEFINER function: DETACH PARTITION ... CONCURRENTLY).
"""

from __future__ import annotations

from vigil_migrations.sqlfiles import run_sql_file

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    run_sql_file("0008_retention.up.sql")


def downgrade() -> None:
    run_sql_file("0008_retention.down.sql")
