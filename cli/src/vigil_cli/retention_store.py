"""Retention policies and rollup settings as ``vigil retention`` reads and changes them.

Contract (asyncpg, on the CLI's role ``vigil_cli``, run through ``alerter_db.run_store``):

- :func:`read_policies` / :func:`read_rollups`: every ``retention_policies`` /
  ``rollup_state`` row as a dict, by name.
- :func:`set_policy` changes ``retention_days``, ``premake``, ``expire_action`` and
  ``archive_keep_days`` of one table; :func:`set_rollup` changes ``keep_days`` and
  ``lateness`` of one rollup. Each locks its row, validates the merged row *before* the
  database's CHECK constraints would (unknown name; ``retention_days`` under
  ``min_retention_days``, naming the floor; archives kept shorter than the data, or kept
  with ``drop``), updates only the columns that differ and writes one ``audit_log`` row
  (``retention.policy_updated`` on ``retention_policy``/table, ``retention.rollup_updated``
  on ``rollup``/name, actor the OS user, service ``vigil-cli``) in the same transaction.
  They return ``{column: (before, after)}``; empty (no update, no audit row) when nothing
  differs. A CHECK violation that still happens is worded by :func:`check_message`.
- Granularity is never changed here: the existing partitions keep their bounds, and
  partitions of another size would overlap them (``ATTACH`` refuses), so a changed
  granularity needs a new table and a data migration.

Every refusal is a :class:`RetentionError` whose text is meant for the operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

import asyncpg

from vigil_cli.audit import SERVICE_NAME
from vigil_runtime.audit import AuditEntry, write_audits
from vigil_schema.enums import ExpireAction

POLICY_COLUMNS: Final = ("retention_days", "premake", "expire_action", "archive_keep_days")
ROLLUP_COLUMNS: Final = ("keep_days", "lateness")
ENTITY_POLICY: Final = "retention_policy"
ENTITY_ROLLUP: Final = "rollup"
ACTION_POLICY: Final = "retention.policy_updated"
ACTION_ROLLUP: Final = "retention.rollup_updated"

Changes = dict[str, tuple[Any, Any]]

_POLICIES_SQL: Final = """
SELECT table_name, granularity, retention_days, min_retention_days, premake, expire_action,
       archive_keep_days, description, updated_at
  FROM retention_policies ORDER BY table_name
"""
_ROLLUPS_SQL: Final = """
SELECT rollup_name, source_tables, bucket_width, lateness, keep_days, finalized_through,
       refreshed_through, last_run_at, last_rows, description, updated_at
  FROM rollup_state ORDER BY rollup_name
"""


class RetentionError(Exception):
    """A refused change, worded for the operator."""


async def read_policies(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every retention policy, by table name."""
    return [dict(row) for row in await conn.fetch(_POLICIES_SQL)]


async def read_rollups(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every rollup's settings and watermarks, by name."""
    return [dict(row) for row in await conn.fetch(_ROLLUPS_SQL)]


async def set_policy(
    conn: asyncpg.Connection, table: str, values: Mapping[str, Any], actor: str
) -> Changes:
    """Apply ``values`` (a subset of :data:`POLICY_COLUMNS`) to ``table``'s policy."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM retention_policies WHERE table_name = $1 FOR UPDATE", table
        )
        if row is None:
            names = await conn.fetch("SELECT table_name FROM retention_policies ORDER BY 1")
            raise RetentionError(_unknown("table", table, [r[0] for r in names]))
        current = dict(row)
        validate_policy(table, current, {**current, **values})
        changes = _changes(current, values)
        if changes:
            await apply_update(conn, "retention_policies", "table_name", table, changes, current)
            await _audit(conn, ACTION_POLICY, ENTITY_POLICY, table, changes, actor)
    return changes


async def set_rollup(
    conn: asyncpg.Connection, name: str, values: Mapping[str, Any], actor: str
) -> Changes:
    """Apply ``values`` (a subset of :data:`ROLLUP_COLUMNS`) to rollup ``name``."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM rollup_state WHERE rollup_name = $1 FOR UPDATE", name
        )
        if row is None:
            names = await conn.fetch("SELECT rollup_name FROM rollup_state ORDER BY 1")
            raise RetentionError(_unknown("rollup", name, [r[0] for r in names]))
        current = dict(row)
        validate_rollup(name, {**current, **values})
        changes = _changes(current, values)
        if changes:
            await apply_update(conn, "rollup_state", "rollup_name", name, changes, current)
            await _audit(conn, ACTION_ROLLUP, ENTITY_ROLLUP, name, changes, actor)
    return changes


def _unknown(kind: str, name: str, known: list[str]) -> str:
    return f"unknown {kind} {name!r}; known: {', '.join(known) or 'none'}"


def validate_policy(table: str, current: Mapping[str, Any], merged: Mapping[str, Any]) -> None:
    """Refuse what the CHECK constraints would, worded for the operator."""
    days, floor = merged["retention_days"], merged["min_retention_days"]
    if days < floor:
        raise RetentionError(_floor_message(table, days, floor))
    keep, action = merged["archive_keep_days"], merged["expire_action"]
    if keep is not None and action == ExpireAction.DROP:
        was = " (it keeps them now)" if current["archive_keep_days"] is not None else ""
        raise RetentionError(
            f"{table}: expire action 'drop' makes no archives, so archive_keep_days must be "
            f"none{was}: add --archive-keep-days none"
        )
    if keep is not None and keep < days:
        raise RetentionError(
            f"{table}: archive_keep_days {keep} is under retention_days {days}: an archive "
            "is made when a partition expires, so it must be kept at least as long"
        )


def validate_rollup(name: str, merged: Mapping[str, Any]) -> None:
    """Refuse what rollup_state's CHECK constraints would."""
    if merged["keep_days"] is not None and merged["keep_days"] < 1:
        raise RetentionError(f"{name}: keep_days must be at least 1 (or none: keep forever)")
    if merged["lateness"] < timedelta(0):
        raise RetentionError(f"{name}: lateness must not be negative")


def _floor_message(table: str, days: int, floor: int) -> str:
    return (
        f"{table}: {days} days is under its minimum retention of {floor} days "
        f"(min_retention_days); use --days {floor} or more"
    )


def _changes(current: Mapping[str, Any], values: Mapping[str, Any]) -> Changes:
    return {col: (current[col], new) for col, new in values.items() if current[col] != new}


async def apply_update(
    conn: asyncpg.Connection,
    table: str,
    key_column: str,
    key: str,
    changes: Changes,
    current: Mapping[str, Any],
) -> None:
    """``UPDATE table SET <changed columns>``; a CHECK violation as a :class:`RetentionError`.

    Column names come from :data:`POLICY_COLUMNS` / :data:`ROLLUP_COLUMNS` only.
    """
    allowed = POLICY_COLUMNS if table == "retention_policies" else ROLLUP_COLUMNS
    columns = [col for col in changes if col in allowed]
    if len(columns) != len(changes):
        raise ValueError(f"not a settable column of {table}: {sorted(set(changes) - set(allowed))}")
    assignments = ", ".join(f"{col} = ${i}" for i, col in enumerate(columns, start=2))
    query = f"UPDATE {table} SET {assignments} WHERE {key_column} = $1"
    try:
        async with conn.transaction():  # a savepoint inside the caller's transaction
            await conn.execute(query, key, *(changes[col][1] for col in columns))
    except asyncpg.CheckViolationError as exc:
        merged = {**current, **{col: new for col, (_, new) in changes.items()}}
        raise RetentionError(check_message(key, exc.constraint_name or "", merged)) from None


def check_message(name: str, constraint: str, merged: Mapping[str, Any]) -> str:
    """The operator's wording of a CHECK constraint of retention_policies / rollup_state."""
    if constraint == "retention_policies_min_retention_days_check":
        return _floor_message(name, merged["retention_days"], merged["min_retention_days"])
    wording = {
        "retention_policies_archive_keep_days_check": "archive_keep_days must be none with "
        "expire action 'drop', and otherwise at least retention_days",
        "retention_policies_retention_days_check": "retention_days must be at least 1",
        "retention_policies_premake_check": "premake must not be negative",
        "retention_policies_expire_action_check": "expire action must be one of "
        + ", ".join(action.value for action in ExpireAction),
        "rollup_state_keep_days_check": "keep_days must be at least 1 (or none)",
        "rollup_state_lateness_check": "lateness must not be negative",
    }
    return f"{name}: {wording.get(constraint, f'refused by the database ({constraint})')}"


async def _audit(
    conn: asyncpg.Connection, action: str, entity: str, name: str, changes: Changes, actor: str
) -> None:
    details = {col: {"from": _plain(old), "to": _plain(new)} for col, (old, new) in changes.items()}
    entry = AuditEntry(actor=actor, action=action, entity_type=entity, entity_id=name,
                       details={"changes": details}, service=SERVICE_NAME)  # fmt: skip
    await write_audits(conn, [entry])


def _plain(value: Any) -> Any:
    """A JSON-friendly value: intervals as seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else value
