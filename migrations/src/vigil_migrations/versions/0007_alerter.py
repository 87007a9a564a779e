"""The alerter's state: seed 001 lifecycle, aggregation groups, notification outbox, silences.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

Runs versions/sql/0007_alerter.up.sql / .down.sql:

- ``alerts.status`` becomes seed 001's operator lifecycle (``new`` -> ``acknowledged`` ->
  ``investigating`` -> ``resolved`` | ``false_positive`` | ``dismissed``); the source's state
  (Alertmanager's firing/resolved) is ``active`` with ``ends_at``, one active alert per
  fingerprint; ``source``, ``annotations``, ``generator_url`` and the escalation fields
  (``escalated``, ``escalated_at``, ``escalation_level``) are added.
- ``alert_groups`` / ``alert_group_members``: Alertmanager's aggregation groups, persisted so
  that restarts and replicas share them; ``notified_firing`` / ``notified_resolved`` play
  Alertmanager's notification log.
- ``notifications`` becomes the delivery outbox: ``group_key``, ``alert_ids``, ``kind``,
  ``idempotency_key``, the rendered ``payload``, and the retry/lease columns.
- ``silences.matchers`` becomes Alertmanager's matcher list and silences get a ``uuid``.
"""

from __future__ import annotations

from vigil_migrations.sqlfiles import run_sql_file

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    run_sql_file("0007_alerter.up.sql")


def downgrade() -> None:
    run_sql_file("0007_alerter.down.sql")
