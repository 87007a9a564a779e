"""`vigil rejects list|replay`: inspect refused input, and re-ingest it once the cause is fixed.

`list` shows ``ingest_rejects`` rows (newest filter first: reason, time, camera). `replay`
re-publishes the stored payloads to MQTT on their original topics, so they go through the
ingest's real path again (validation, dedup, storage, fan-out): a message whose cause was
fixed (the camera registered, the clock corrected) is stored, one still wrong comes back as
a new reject row. Replayed rows are then deleted, and the replay (filter, count, row ids,
rows skipped and why) is recorded in ``audit_log`` in the same transaction. Rows that cannot
be replayed (payload truncated at 64 KiB, not an MQTT message) are skipped and kept.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from vigil_cli.audit import os_actor, write_audit
from vigil_cli.db import connect, load_settings
from vigil_cli.mqtt_publish import publish_all
from vigil_cli.output import echo_json, render_table
from vigil_cli.rejects_store import RejectFilter, RejectRow, delete_rows, select_rows
from vigil_schema.enums import RejectReason

ENTITY_REJECTS = "ingest_rejects"
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_AUDIT_IDS = 1000
"""Most row ids listed in one audit record (the count is always exact)."""


def parse_since(value: str | None, now: datetime | None = None) -> datetime | None:
    """``--since``: a duration back from now (``30m``, ``6h``, ``7d``) or an ISO time."""
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if match:
        amount, unit = match.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "expected a duration (30m, 6h, 7d) or an ISO time", param_hint="--since"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _filter_options(command: Any) -> Any:
    options = [
        click.option("--reason", "reasons", multiple=True,
                     type=click.Choice([r.value for r in RejectReason]),
                     help="Only this reason (repeatable)."),
        click.option("--since", help="Only rows received since (30m, 6h, 7d or an ISO time)."),
        click.option("--camera", "camera_id", help="Only this camera."),
        click.option("--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True,
                     help="At most this many rows, oldest first."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def _filter(reasons: tuple[str, ...], since: str | None, camera_id: str | None,
            limit: int) -> RejectFilter:  # fmt: skip
    return RejectFilter(reasons, parse_since(since), camera_id, limit)


@click.group(name="rejects")
def group() -> None:
    """Inspect and replay refused input (ingest_rejects)."""


@group.command(name="list")
@_filter_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(reasons: tuple[str, ...], since: str | None, camera_id: str | None,
                 limit: int, as_json: bool) -> None:  # fmt: skip
    """List reject rows, oldest first."""
    where = _filter(reasons, since, camera_id, limit)
    with connect(load_settings()) as conn:
        rows = select_rows(conn, where)
    if as_json:
        echo_json([_row_json(row) for row in rows])
        return
    if not rows:
        click.echo("no rejects")
        return
    headers = ("ID", "RECEIVED", "REASON", "CAMERA", "TOPIC", "BYTES", "REPLAY", "DETAIL")
    click.echo(render_table(headers, [
        (row.id, row.received_at, row.reason, row.camera_id, row.topic, row.payload_size,
         row.why_not_replayable or "yes", row.detail[:80])
        for row in rows
    ]))  # fmt: skip


def _row_json(row: RejectRow) -> dict[str, Any]:
    return {
        "id": row.id, "received_at": row.received_at, "topic": row.topic,
        "camera_id": row.camera_id, "reason": row.reason, "detail": row.detail,
        "source": row.source, "payload_size": row.payload_size,
        "replayable": row.why_not_replayable is None, "why_not": row.why_not_replayable,
    }  # fmt: skip


@group.command(name="replay")
@_filter_options
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; change nothing.")
def replay_command(reasons: tuple[str, ...], since: str | None, camera_id: str | None,
                   limit: int, dry_run: bool) -> None:  # fmt: skip
    """Re-publish reject rows' payloads on their topics, then remove the replayed rows."""
    settings = load_settings()
    where = _filter(reasons, since, camera_id, limit)
    with connect(settings) as conn:
        rows = select_rows(conn, where, lock=not dry_run)
        replay = [row for row in rows if row.why_not_replayable is None]
        skipped = {row.id: why for row in rows if (why := row.why_not_replayable) is not None}
        if dry_run or not replay:
            verb = "would replay" if dry_run else "replayed"
            click.echo(f"{verb} {len(replay)} of {len(rows)} matching rejects"
                       f"{_skipped_text(skipped)}")  # fmt: skip
            return
        published = publish_all(settings.mqtt, [(row.topic, row.payload) for row in replay])
        deleted = delete_rows(conn, replay)
        write_audit(
            conn, actor=os_actor(), action="rejects.replay", entity_type=ENTITY_REJECTS,
            entity_id=None,
            details={"filter": where.describe(), "replayed": published, "deleted": deleted,
                     "ids": [row.id for row in replay[:_AUDIT_IDS]],
                     "skipped": {str(k): v for k, v in list(skipped.items())[:_AUDIT_IDS]}},
        )  # fmt: skip
    click.echo(f"replayed {published} of {len(rows)} matching rejects (rows removed; a message "
               f"still refused comes back as a new reject){_skipped_text(skipped)}")  # fmt: skip


def _skipped_text(skipped: dict[int, str]) -> str:
    if not skipped:
        return ""
    reasons = sorted(set(skipped.values()))
    return f"; skipped {len(skipped)} ({'; '.join(reasons)})"
