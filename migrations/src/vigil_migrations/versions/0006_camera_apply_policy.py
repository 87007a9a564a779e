"""cameras: the optimizer's apply policy, maintenance window and confidence threshold.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Runs versions/sql/0006_camera_apply_policy.up.sql / .down.sql. Three columns say whether the
optimizer may change a camera on its own:

- ``apply_policy``: ``manual`` (the default: a recommendation waits for ``vigil
  recommendations approve``), ``auto`` (applied when its confidence reaches the threshold,
  inside the maintenance window if one is set) or ``off`` (never applied);
- ``maintenance_window``: NULL (any time) or ``{"days": [0..6], "start": "HH:MM",
  "end": "HH:MM", "tz": "Europe/Paris"}`` (days: Monday = 0, omitted = every day; a window
  whose end is before its start crosses midnight); its shape is checked by
  ``vigil_schema.camera.MaintenanceWindow``, the database only requires an object;
- ``auto_apply_min_confidence``: NULL (the optimizer's default) or a threshold in [0, 1].

The roles that read cameras column by column (0004) are granted the new columns too.
"""

from __future__ import annotations

from vigil_migrations.sqlfiles import run_sql_file

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    run_sql_file("0006_camera_apply_policy.up.sql")


def downgrade() -> None:
    run_sql_file("0006_camera_apply_policy.down.sql")
