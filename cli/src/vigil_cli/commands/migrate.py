"""`vigil migrate`: bring the database schema to a revision, or show where it is.

Thin wrapper over :mod:`vigil_migrations` (Alembic revisions of plain SQL). The database is
the one in ``VIGIL_DATABASE_URL`` (or the stack env file written by ``vigil stack up``).
"""

from __future__ import annotations

import click
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

import vigil_migrations
from vigil_cli.db import load_settings
from vigil_runtime.settings import redact_text, redacted_url


@click.command(name="migrate")
@click.option(
    "--revision",
    default="head",
    show_default=True,
    help="Upgrade to this revision.",
)
@click.option(
    "--downgrade",
    "downgrade_to",
    metavar="REV",
    help="Downgrade to REV instead ('base' removes every Vigil table: data is lost).",
)
@click.option("--show", is_flag=True, help="Only print the current revision; change nothing.")
def command(revision: str, downgrade_to: str | None, show: bool) -> None:
    """Apply database migrations (default: upgrade to the latest revision)."""
    if show and downgrade_to is not None:
        raise click.UsageError("--show and --downgrade cannot be combined")
    url = load_settings().database_url
    where = redacted_url(url)
    try:
        if not show:
            if downgrade_to is not None:
                vigil_migrations.downgrade(url, downgrade_to)
            else:
                vigil_migrations.upgrade(url, revision)
        current = vigil_migrations.current(url)
    except SQLAlchemyError as exc:
        detail = redact_text(str(getattr(exc, "orig", None) or exc).strip())
        raise click.ClickException(f"migration failed on {where}: {detail}") from None
    except CommandError as exc:  # unknown revision names and the like
        raise click.ClickException(f"migration failed: {redact_text(str(exc))}") from None
    click.echo(f"database {where}: revision {current or 'none (not migrated)'}")
