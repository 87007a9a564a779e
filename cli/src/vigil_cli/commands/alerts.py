"""`vigil alerts list|ack|investigate|resolve|history`: the operator's side of the alerter.

``list`` shows alerts (``--status open`` for those still needing an operator); ``ack``,
``investigate`` and ``resolve`` (``--as false_positive|dismissed`` to close otherwise) move an
alert through its lifecycle with the alerter's own rules (``vigil_alerter.store.lifecycle``:
allowed transitions, acknowledged/resolved fields, an ``audit_log`` row with the operator);
``history`` prints an alert with its audit entries and notifications.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import click

from vigil_alerter.store.lifecycle import (
    AlertNotFoundError,
    InvalidTransitionError,
    transition_alert,
)
from vigil_cli.alert_views import (
    HISTORY_COLUMNS,
    LIST_COLUMNS,
    STATUS_CHOICES,
    alert_history,
    list_alerts,
)
from vigil_cli.alerter_db import run_store
from vigil_cli.audit import SERVICE_NAME, os_actor
from vigil_cli.db import connect, load_settings
from vigil_cli.output import echo_json, render_fields, render_table
from vigil_schema.clock import utc_now
from vigil_schema.enums import AlertStatus

CLOSING = (AlertStatus.RESOLVED, AlertStatus.FALSE_POSITIVE, AlertStatus.DISMISSED)
SEVERITIES = ("info", "warning", "critical")


@click.group("alerts")
def group() -> None:
    """List, acknowledge and resolve alerts."""


@group.command("list")
@click.option("--status", type=click.Choice(STATUS_CHOICES), help="'open': not yet closed.")
@click.option("--camera", "camera_id", help="Only this camera's.")
@click.option("--severity", type=click.Choice(SEVERITIES))
@click.option("--firing", is_flag=True, help="Only alerts their source still says fire.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(
    status: str | None,
    camera_id: str | None,
    severity: str | None,
    firing: bool,
    limit: int,
    as_json: bool,
) -> None:
    """List alerts, newest first."""
    with connect(load_settings()) as conn:
        rows = list_alerts(conn, status=status, camera_id=camera_id, severity=severity,
                           firing=firing, limit=limit)  # fmt: skip
    if as_json:
        echo_json(rows)
        return
    click.echo(render_table(LIST_COLUMNS, [[row[c] for c in LIST_COLUMNS] for row in rows]))


def _transition(alert_id: int, to: AlertStatus, notes: str | None) -> dict[str, Any]:
    settings, actor = load_settings(), os_actor()

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        return await transition_alert(
            conn, alert_id, to, actor, notes, utc_now(), service=SERVICE_NAME
        )

    try:
        return run_store(settings, work)
    except (AlertNotFoundError, InvalidTransitionError) as exc:
        raise click.ClickException(str(exc)) from None


NOTE = click.option("--note", "notes", help="Why (kept with the alert and in the audit log).")


@group.command("ack")
@click.argument("alert_id", type=int)
@NOTE
def ack_command(alert_id: int, notes: str | None) -> None:
    """Acknowledge ALERT_ID (stops its repeats and escalation)."""
    _transition(alert_id, AlertStatus.ACKNOWLEDGED, notes)
    click.echo(f"acknowledged {alert_id}")


@group.command("investigate")
@click.argument("alert_id", type=int)
@NOTE
def investigate_command(alert_id: int, notes: str | None) -> None:
    """Mark ALERT_ID as being investigated."""
    _transition(alert_id, AlertStatus.INVESTIGATING, notes)
    click.echo(f"investigating {alert_id}")


@group.command("resolve")
@click.argument("alert_id", type=int)
@click.option("--as", "outcome", type=click.Choice([s.value for s in CLOSING]),
              default=AlertStatus.RESOLVED.value, show_default=True,
              help="How the alert is closed.")  # fmt: skip
@NOTE
def resolve_command(alert_id: int, outcome: str, notes: str | None) -> None:
    """Close ALERT_ID: resolved, a false positive, or dismissed (final)."""
    _transition(alert_id, AlertStatus(outcome), notes)
    click.echo(f"{outcome} {alert_id}")


@group.command("history")
@click.argument("alert_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def history_command(alert_id: int, as_json: bool) -> None:
    """Show ALERT_ID with who did what and the notifications sent."""
    with connect(load_settings()) as conn:
        try:
            alert, timeline = alert_history(conn, alert_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        echo_json({"alert": alert, "history": timeline})
        return
    keys = ("id", "title", "severity", "status", "active", "camera_id", "labels",
            "first_seen_at", "last_seen_at", "occurrences", "acknowledged_by",
            "acknowledged_at", "resolved_by", "resolved_at", "resolution_notes",
            "escalation_level")  # fmt: skip
    fields = {key: alert[key] for key in keys}
    fields["labels"] = ", ".join(f"{k}={v}" for k, v in sorted(alert["labels"].items()))
    click.echo(render_fields(fields))
    click.echo()
    click.echo(render_table(HISTORY_COLUMNS, [[e[c] for c in HISTORY_COLUMNS] for e in timeline]))
