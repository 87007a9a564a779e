"""`vigil recommendations list|show|approve|reject`: review the optimizer's recommendations.

``approve ID`` marks a proposed recommendation approved and asks the optimizer to apply it
(a camera with the ``manual`` policy waits for exactly this); ``reject ID`` closes it.
"""

from __future__ import annotations

from typing import Any

import click

from vigil_cli.audit import os_actor
from vigil_cli.db import connect, load_settings
from vigil_cli.optimizer_requests import approve_and_request_apply
from vigil_cli.output import echo_json, render_table
from vigil_cli.recommendation_views import LIST_COLUMNS, recommendation_json, reject

STATUSES = ("proposed", "approved", "rejected", "applied", "superseded")


@click.group("recommendations")
def group() -> None:
    """Review the optimizer's recommendations."""


@group.command("list")
@click.option("--camera", "camera_id", help="Only this camera's.")
@click.option("--status", type=click.Choice(STATUSES), help="Only recommendations in this state.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(camera_id: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List recommendations, newest first."""
    settings = load_settings()
    with connect(settings) as conn:
        rows: list[Any] = conn.execute(
            "SELECT * FROM optimizations WHERE (%(camera)s::text IS NULL OR camera_id = %(camera)s)"
            " AND (%(status)s::text IS NULL OR status = %(status)s)"
            " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
            {"camera": camera_id, "status": status, "limit": limit},
        ).fetchall()
    if as_json:
        echo_json([recommendation_json(row) for row in rows])
        return
    table = [[row[c] for c in LIST_COLUMNS] + [_summary(row)] for row in rows]
    click.echo(render_table([*LIST_COLUMNS, "changes"], table))


def _summary(row: Any) -> str:
    settings = row["recommended_settings"] or {}
    changed = [
        f"{group}.{name}"
        for group, values in settings.items()
        if isinstance(values, dict)
        for name in values
        if name != "profileToken"
    ]
    return ", ".join(changed)


@group.command("show")
@click.argument("optimization_id", type=int)
def show_command(optimization_id: int) -> None:
    """Print one recommendation as JSON."""
    with connect(load_settings()) as conn:
        row = conn.execute("SELECT * FROM optimizations WHERE id = %s", (optimization_id,))
        found = row.fetchone()
    if found is None:
        raise click.ClickException(f"no recommendation {optimization_id}")
    echo_json(recommendation_json(found))


@group.command("approve")
@click.argument("optimization_id", type=int)
def approve_command(optimization_id: int) -> None:
    """Approve recommendation OPTIMIZATION_ID; the optimizer then applies it."""
    settings = load_settings()
    actor = os_actor()
    with connect(settings) as conn:
        _row, request_id = approve_and_request_apply(conn, settings, optimization_id, actor)
    click.echo(f"approved {optimization_id}; apply requested (request {request_id})")


@group.command("reject")
@click.argument("optimization_id", type=int)
def reject_command(optimization_id: int) -> None:
    """Reject recommendation OPTIMIZATION_ID."""
    with connect(load_settings()) as conn:
        reject(conn, optimization_id, os_actor())
    click.echo(f"rejected {optimization_id}")
