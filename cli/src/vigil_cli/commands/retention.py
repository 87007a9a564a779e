"""`vigil retention show|set|set-rollup`: how long Vigil keeps each table and each rollup.

``show`` prints every retention policy (granularity, days, floor, partitions made ahead,
expire action, how long archives stay) and every rollup (sources, bucket, lateness, keep
days, watermarks); ``--json`` for machines. ``set TABLE`` changes a policy's days, premake,
expire action and archive keep days; ``set-rollup NAME`` a rollup's keep days and lateness.
The rules and the audit row are :mod:`vigil_cli.retention_store`'s; the retention service
applies a change on its next run. Granularity cannot be changed (see ``set --help``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import asyncpg
import click

from vigil_alerter.config.models import parse_duration
from vigil_cli import retention_store
from vigil_cli.alerter_db import run_store
from vigil_cli.audit import os_actor
from vigil_cli.db import load_settings
from vigil_cli.output import echo_json
from vigil_cli.retention_store import Changes, RetentionError
from vigil_cli.retention_views import render_changes, render_show, rollup_json
from vigil_schema.enums import ExpireAction

GRANULARITY_REFUSAL = (
    "the granularity of a table cannot be changed: its existing partitions keep their bounds, "
    "and partitions of another size would overlap them. Create a new table and migrate the data."
)


KEEP_METAVAR = "N|none"


def days_or_none(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[int | None] | None:
    """``N`` (1 or more) or ``none`` as ``(N,)`` / ``(None,)``; not given: ``None``."""
    if value is None:
        return None
    text = value.strip().lower()
    if text == "none":
        return (None,)
    if text.isdigit() and int(text) >= 1:
        return (int(text),)
    raise click.BadParameter(f"{value!r} is neither a number of days (1 or more) nor 'none'")


def duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    """Prometheus' duration syntax (``30m``, ``1h``, ``90s``); not given: ``None``."""
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group("retention")
def group() -> None:
    """Show and change how long data and rollups are kept."""


@group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def show_command(as_json: bool) -> None:
    """List the retention policies and the rollups."""

    async def work(conn: asyncpg.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await retention_store.read_policies(conn), await retention_store.read_rollups(conn)

    policies, rollups = run_store(load_settings(), work)
    if as_json:
        echo_json({"policies": policies, "rollups": [rollup_json(r) for r in rollups]})
        return
    click.echo(render_show(policies, rollups))


@group.command("set", epilog=f"Granularity: {GRANULARITY_REFUSAL}")
@click.argument("table")
@click.option("--days", type=click.IntRange(min=1), help="Keep partitions this many days.")
@click.option(
    "--action",
    type=click.Choice([a.value for a in ExpireAction]),
    help="What expiry does: drop, archive_schema (to vigil_archive), archive_file.",
)
@click.option(
    "--archive-keep-days",
    metavar=KEEP_METAVAR,
    callback=days_or_none,
    help="Delete archives this many days after their range ended (none: keep).",
)
@click.option("--premake", type=click.IntRange(min=0), help="Partitions to create ahead.")
@click.option("--granularity", hidden=True, help="Refused: see below.")
def set_command(
    table: str,
    days: int | None,
    action: str | None,
    archive_keep_days: tuple[int | None] | None,
    premake: int | None,
    granularity: str | None,
) -> None:
    """Change TABLE's retention policy (days are never set under its minimum)."""
    if granularity is not None:
        raise click.UsageError(GRANULARITY_REFUSAL)
    values: dict[str, Any] = {"retention_days": days, "premake": premake, "expire_action": action}
    values = {column: value for column, value in values.items() if value is not None}
    if archive_keep_days is not None:
        values["archive_keep_days"] = archive_keep_days[0]
    if not values:
        raise click.UsageError("nothing to change: give --days, --action, --archive-keep-days "
                               "or --premake")  # fmt: skip
    changes = _run(retention_store.set_policy, table, values)
    click.echo(render_changes("table", table, changes))


@group.command("set-rollup")
@click.argument("name")
@click.option(
    "--keep-days",
    metavar=KEEP_METAVAR,
    callback=days_or_none,
    help="Delete rollup rows older than this many days (none: keep).",
)
@click.option(
    "--lateness",
    metavar="DURATION",
    callback=duration,
    help="How late raw rows may still arrive (e.g. 30m): buckets are final after it.",
)
def set_rollup_command(
    name: str, keep_days: tuple[int | None] | None, lateness: timedelta | None
) -> None:
    """Change rollup NAME's keep days or lateness."""
    values: dict[str, Any] = {} if lateness is None else {"lateness": lateness}
    if keep_days is not None:
        values["keep_days"] = keep_days[0]
    if not values:
        raise click.UsageError("nothing to change: give --keep-days or --lateness")
    changes = _run(retention_store.set_rollup, name, values)
    click.echo(render_changes("rollup", name, changes))


Setter = Callable[[asyncpg.Connection, str, Mapping[str, Any], str], Awaitable[Changes]]


def _run(setter: Setter, name: str, values: dict[str, Any]) -> Changes:
    actor = os_actor()

    async def work(conn: asyncpg.Connection) -> Changes:
        return await setter(conn, name, values, actor)

    try:
        return run_store(load_settings(), work)
    except RetentionError as exc:
        raise click.ClickException(str(exc)) from None
