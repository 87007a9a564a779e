"""One role per service, an owner role that owns every object, least-privilege grants.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Runs versions/sql/0004_service_roles.up.sql / .down.sql. Replaces 0001's ``vigil_app`` and
``vigil_maintenance`` (one role for four services, and a migrate role without DDL rights)
with NOLOGIN roles ``vigil_ingest``, ``vigil_analyzer``, ``vigil_optimizer``,
``vigil_alerter``, ``vigil_retention``, ``vigil_cli``, ``vigil_readonly`` and the owner
``vigil_owner``. Every object of the schema is handed to ``vigil_owner``, so the SECURITY
DEFINER partition functions (owned by it) may create, drop and detach partitions for the
writer roles. A later revision that creates objects ends with
``SELECT vigil_adopt_ownership();`` and grants its tables to the roles that need them
(``migrations/tests/test_roles.py`` fails otherwise).
"""

from __future__ import annotations

from vigil_migrations.sqlfiles import run_sql_file

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    run_sql_file("0004_service_roles.up.sql")


def downgrade() -> None:
    run_sql_file("0004_service_roles.down.sql")
