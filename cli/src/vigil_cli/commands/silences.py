"""`vigil silences add|list|expire`: Alertmanager silences, as ``amtool silence`` manages them.

``add`` takes Alertmanager matchers (``camera_id=lot-1``, ``'severity=~"warn.*"'``, or one
``{a="1",b!="2"}`` list), a ``--duration`` (Prometheus syntax, default 1h) or ``--until``,
an optional ``--start``, a ``--comment`` and an ``--author`` (default: the OS user), and
prints the silence's id. ``list`` shows active and pending silences (``--expired`` adds the
expired ones). ``expire ID...`` ends silences now. The rules (validation, audit) are the
alerter's own (``vigil_alerter.store.silences``); the alerter picks changes up on its next
flush, as replicas share the table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import click

from vigil_alerter.config.matchers import Matcher, MatcherError, parse_matchers
from vigil_alerter.config.models import parse_duration
from vigil_alerter.store.silences import (
    Silence,
    SilenceError,
    SilenceSpec,
    create_silence,
    expire_silence,
    list_silences,
)
from vigil_cli.alerter_db import run_store
from vigil_cli.audit import SERVICE_NAME, os_actor
from vigil_cli.db import load_settings
from vigil_cli.output import echo_json, render_table
from vigil_schema.clock import utc_now

LIST_COLUMNS = ("id", "state", "matchers", "starts_at", "ends_at", "created_by", "comment")


@click.group("silences")
def group() -> None:
    """Mute alerts matching label matchers for a while."""


def _matchers(texts: tuple[str, ...]) -> list[Matcher]:
    found: list[Matcher] = []
    for text in texts:
        try:
            found.extend(parse_matchers(text))
        except MatcherError as exc:
            raise click.BadParameter(str(exc), param_hint="MATCHERS") from None
    return found


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _duration(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--duration") from None


@group.command("add")
@click.argument("matchers", nargs=-1, required=True)
@click.option("--duration", default="1h", show_default=True, help="How long (e.g. 30m, 2h, 1d).")
@click.option("--until", help="End time (ISO 8601; UTC if no zone); overrides --duration.")
@click.option("--start", help="Start time (ISO 8601; default now).")
@click.option("--comment", required=True, help="Why (shown to everybody).")
@click.option("--author", help="Who (default: the OS user).")
def add_command(
    matchers: tuple[str, ...],
    duration: str,
    until: str | None,
    start: str | None,
    comment: str,
    author: str | None,
) -> None:
    """Silence alerts matching every MATCHERS (e.g. camera_id=lot-1 alertname=~"Person.*")."""
    parsed, now = _matchers(matchers), utc_now()
    starts_at = _time(start, "--start") or now
    ends_at = _time(until, "--until") or starts_at + _duration(duration)
    created_by = author or os_actor()
    settings = load_settings()

    spec = SilenceSpec(
        matchers=tuple(m.to_api() for m in parsed), starts_at=starts_at, ends_at=ends_at,
        created_by=created_by, comment=comment,
    )  # fmt: skip

    async def work(conn: asyncpg.Connection) -> str:
        return await create_silence(conn, spec, now=now, actor=os_actor(), service=SERVICE_NAME)

    try:
        click.echo(run_store(settings, work))
    except SilenceError as exc:
        raise click.ClickException(str(exc)) from None


@group.command("list")
@click.option("--expired", is_flag=True, help="Include expired silences.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(expired: bool, as_json: bool) -> None:
    """List active and pending silences, the latest ending first."""
    now = utc_now()

    async def work(conn: asyncpg.Connection) -> list[Silence]:
        return await list_silences(conn, now)

    found = [s for s in run_store(load_settings(), work) if expired or s.state(now) != "expired"]
    rows = [_row(s, now) for s in found]
    if as_json:
        echo_json(rows)
        return
    click.echo(render_table(LIST_COLUMNS, [[r[c] for c in LIST_COLUMNS] for r in rows]))


def _row(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.id,
        "state": silence.state(now),
        "matchers": " ".join(str(Matcher.from_api(m)) for m in silence.matchers),
        "starts_at": silence.starts_at,
        "ends_at": silence.ends_at,
        "created_by": silence.created_by,
        "comment": silence.comment,
    }


@group.command("expire")
@click.argument("silence_ids", nargs=-1, required=True)
def expire_command(silence_ids: tuple[str, ...]) -> None:
    """End the silences SILENCE_IDS now (all of them or, on an error, none)."""
    actor, now = os_actor(), utc_now()

    async def work(conn: asyncpg.Connection) -> None:
        async with conn.transaction():  # all or none
            for silence_id in silence_ids:
                await expire_silence(conn, silence_id, actor=actor, now=now, service=SERVICE_NAME)

    try:
        run_store(load_settings(), work)
    except SilenceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"expired {', '.join(silence_ids)}")
