"""Silences (``silences`` rows) with Alertmanager's semantics: create, update, expire, read.

A silence mutes every alert whose labels match all its matchers while
``starts_at <= now < ends_at``; its state is ``pending`` before, ``active`` during and
``expired`` after (:meth:`SilenceRecord.state`, Alertmanager's ``CalcSilenceState``). The API
id is ``silences.uuid``; the row keeps the matchers in the API's form
``{name, value, isRegex, isEqual}``.

Alertmanager's rules (0.25 ``silence.Silences.Set``/``Expire`` and API v2), times from the
caller's clock:

- validation (:func:`validate_silence`, :class:`SilenceValidationError`): at least one
  matcher; valid label names; regexes compile (anchored); not every matcher matches the
  empty string (it would mute everything); ``starts_at < ends_at``; ``ends_at`` not past;
- create: a start in the past becomes ``now``; returns the new uuid;
- update (an id given): in place when the matchers are unchanged and the times allowed (an
  active silence keeps its start, to the second, and does not end in the past; a pending one
  does not start in the past); otherwise the old silence is expired (unless it already is)
  and a new one created: its uuid is returned. An unknown id returns None;
- expire: an active silence ends ``now``; a pending one starts and ends ``now``; an expired
  one raises :class:`SilenceStateError`; an unknown id returns False.

Every change writes an ``audit_log`` row (``silence.created``/``updated``/``expired``, entity
``silence``, id the uuid) in the same transaction (a savepoint of the caller's, if any).
``updatedAt`` is the row's ``updated_at``, which the table's trigger sets to the database's
time. Reads accept a connection or a pool.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeAlias

import asyncpg

from vigil_alerter.config.matchers import Matcher, MatcherError
from vigil_alerter.routing.silences import SilenceRule, SilenceState, silence_state
from vigil_runtime.audit import write_audit

__all__ = [
    "MatcherLike",
    "SilenceError",
    "SilenceRecord",
    "SilenceStateError",
    "SilenceValidationError",
    "create_silence",
    "expire_silence",
    "get_silence",
    "list_silences",
    "normalize_matchers",
    "set_silence",
    "update_silence",
    "validate_silence",
]

MatcherLike = Matcher | Mapping[str, Any]
"""A parsed matcher, or the API's ``{name, value, isRegex, isEqual}``."""
_SERVICE: Final = "vigil-alerter"
_COLUMNS: Final = "uuid, matchers, starts_at, ends_at, created_by, comment, updated_at"
Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


class SilenceError(Exception):
    """Base of the silence errors."""


class SilenceValidationError(SilenceError, ValueError):
    """The silence is malformed (Alertmanager answers 400)."""


class SilenceStateError(SilenceError, ValueError):
    """The silence's state forbids the operation (expiring an expired silence)."""


@dataclass(frozen=True, slots=True)
class SilenceRecord:
    """A stored silence."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime

    def state(self, now: datetime) -> SilenceState:
        """``pending`` before ``starts_at``, ``expired`` from ``ends_at``, else ``active``."""
        return silence_state(self.starts_at, self.ends_at, now)

    def rule(self) -> SilenceRule:
        """The pure rule the flusher applies."""
        return SilenceRule(self.id, self.matchers, self.starts_at, self.ends_at)


@dataclass(frozen=True, slots=True)
class _Spec:
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str


def normalize_matchers(matchers: Sequence[MatcherLike]) -> tuple[Matcher, ...]:
    """Parse API matchers (``Matcher`` objects pass through); at least one, not all ``""``."""
    if not matchers:
        raise SilenceValidationError("at least one matcher required")
    found: list[Matcher] = []
    for index, raw in enumerate(matchers):
        try:
            found.append(raw if isinstance(raw, Matcher) else Matcher.from_api(raw))
        except MatcherError as exc:
            raise SilenceValidationError(f"matchers[{index}]: {exc}") from None
    if all(m.matches({}) for m in found):
        raise SilenceValidationError("at least one matcher must not match the empty string")
    return tuple(found)


def validate_silence(
    matchers: Sequence[MatcherLike], starts_at: datetime, ends_at: datetime, now: datetime
) -> tuple[Matcher, ...]:
    """Alertmanager's checks; returns the parsed matchers."""
    parsed = normalize_matchers(matchers)
    if starts_at >= ends_at:
        raise SilenceValidationError("start time must be before end time")
    if ends_at < now:
        raise SilenceValidationError("end time can't be in the past")
    return parsed


def _parse_id(silence_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(silence_id)
    except (ValueError, AttributeError, TypeError):
        return None


def _from_row(row: Mapping[str, Any]) -> SilenceRecord:
    return SilenceRecord(
        id=str(row["uuid"]),
        matchers=tuple(Matcher.from_api(m) for m in row["matchers"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        created_by=row["created_by"],
        comment=row["comment"],
        updated_at=row["updated_at"],
    )


async def get_silence(db: Db, silence_id: str) -> SilenceRecord | None:
    """The silence with this uuid, or None (also for text that is not a uuid)."""
    key = _parse_id(silence_id)
    if key is None:
        return None
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM silences WHERE uuid = $1", key)
    return None if row is None else _from_row(row)


async def list_silences(
    db: Db, *, now: datetime | None = None, state: SilenceState | None = None
) -> list[SilenceRecord]:
    """Every silence, the latest ending first; only those in ``state`` at ``now`` if given."""
    rows = await db.fetch(f"SELECT {_COLUMNS} FROM silences ORDER BY ends_at DESC, id DESC")
    found = [_from_row(row) for row in rows]
    if state is None:
        return found
    if now is None:
        raise ValueError("filtering by state needs now")
    return [s for s in found if s.state(now) == state]


async def create_silence(
    conn: asyncpg.Connection,
    *,
    matchers: Sequence[MatcherLike],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str = "",
    now: datetime,
    actor: str | None = None,
    service: str = _SERVICE,
) -> str:
    """Validate and store a new silence; returns its uuid. ``actor`` defaults to the author."""
    parsed = validate_silence(matchers, starts_at, ends_at, now)
    spec = _Spec(parsed, starts_at, ends_at, created_by, comment)
    async with conn.transaction():
        return await _insert(conn, spec, now, actor or created_by, service, replaces=None)


async def _insert(
    conn: asyncpg.Connection,
    spec: _Spec,
    now: datetime,
    actor: str,
    service: str,
    *,
    replaces: str | None,
) -> str:
    starts_at = max(spec.starts_at, now)
    matchers = [m.to_api() for m in spec.matchers]
    new_id = await conn.fetchval(
        "INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING uuid",
        matchers, starts_at, spec.ends_at, spec.created_by, spec.comment, now,
    )  # fmt: skip
    details: dict[str, Any] = {
        "matchers": matchers,
        "starts_at": starts_at.isoformat(),
        "ends_at": spec.ends_at.isoformat(),
        "created_by": spec.created_by,
        "comment": spec.comment,
    }
    if replaces is not None:
        details["replaces"] = replaces
    await _audit(conn, "silence.created", str(new_id), actor, details, now, service)
    return str(new_id)


async def update_silence(
    conn: asyncpg.Connection,
    silence_id: str,
    *,
    matchers: Sequence[MatcherLike],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str = "",
    now: datetime,
    actor: str | None = None,
    service: str = _SERVICE,
) -> str | None:
    """Change silence ``silence_id`` as Alertmanager does; returns the id now holding it.

    The same id when updated in place, a new one when replaced, None when unknown.
    """
    parsed = validate_silence(matchers, starts_at, ends_at, now)
    spec = _Spec(parsed, starts_at, ends_at, created_by, comment)
    key = _parse_id(silence_id)
    if key is None:
        return None
    async with conn.transaction():
        sql = f"SELECT {_COLUMNS} FROM silences WHERE uuid = $1 FOR UPDATE"
        row = await conn.fetchrow(sql, key)
        if row is None:
            return None
        previous = _from_row(row)
        who = actor or created_by
        if _can_update(previous, spec, now):
            await _update_in_place(conn, previous, spec, now, who, service)
            return previous.id
        if previous.state(now) != "expired":
            await _expire(conn, previous, who, now, service, replaced=True)
        return await _insert(conn, spec, now, who, service, replaces=previous.id)


def _can_update(previous: SilenceRecord, spec: _Spec, now: datetime) -> bool:
    """Alertmanager's ``canUpdate``: same matchers and times the state allows."""
    if previous.matchers != spec.matchers:
        return False
    match previous.state(now):
        case "active":
            same_start = int(spec.starts_at.timestamp()) == int(previous.starts_at.timestamp())
            return same_start and spec.ends_at >= now
        case "pending":
            return spec.starts_at >= now
        case _:
            return False


async def _update_in_place(
    conn: asyncpg.Connection,
    previous: SilenceRecord,
    spec: _Spec,
    now: datetime,
    actor: str,
    service: str,
) -> None:
    active = previous.state(now) == "active"
    starts_at = previous.starts_at if active else spec.starts_at
    await conn.execute(
        "UPDATE silences SET starts_at = $2, ends_at = $3, created_by = $4, comment = $5"
        " WHERE uuid = $1",
        uuid.UUID(previous.id), starts_at, spec.ends_at, spec.created_by, spec.comment,
    )  # fmt: skip
    details = {
        "starts_at": starts_at.isoformat(),
        "ends_at": spec.ends_at.isoformat(),
        "created_by": spec.created_by,
        "comment": spec.comment,
        "previous_ends_at": previous.ends_at.isoformat(),
    }
    await _audit(conn, "silence.updated", previous.id, actor, details, now, service)


async def set_silence(
    conn: asyncpg.Connection,
    silence_id: str | None,
    *,
    matchers: Sequence[MatcherLike],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str = "",
    now: datetime,
    actor: str | None = None,
    service: str = _SERVICE,
) -> str | None:
    """``POST /api/v2/silences``: create when ``silence_id`` is None or empty, else update."""
    fields: dict[str, Any] = {
        "matchers": matchers, "starts_at": starts_at, "ends_at": ends_at,
        "created_by": created_by, "comment": comment, "now": now, "actor": actor,
        "service": service,
    }  # fmt: skip
    if silence_id:
        return await update_silence(conn, silence_id, **fields)
    return await create_silence(conn, **fields)


async def expire_silence(
    conn: asyncpg.Connection,
    silence_id: str,
    *,
    actor: str,
    now: datetime,
    service: str = _SERVICE,
) -> bool:
    """Expire the silence now (``DELETE /api/v2/silence/{id}``); False when unknown."""
    key = _parse_id(silence_id)
    if key is None:
        return False
    async with conn.transaction():
        sql = f"SELECT {_COLUMNS} FROM silences WHERE uuid = $1 FOR UPDATE"
        row = await conn.fetchrow(sql, key)
        if row is None:
            return False
        silence = _from_row(row)
        if silence.state(now) == "expired":
            raise SilenceStateError(f"silence {silence.id} already expired")
        await _expire(conn, silence, actor, now, service, replaced=False)
    return True


async def _expire(
    conn: asyncpg.Connection,
    silence: SilenceRecord,
    actor: str,
    now: datetime,
    service: str,
    *,
    replaced: bool,
) -> None:
    """End an active silence now; a pending one starts and ends now (Alertmanager's)."""
    await conn.execute(
        "UPDATE silences SET starts_at = LEAST(starts_at, $2), ends_at = $2 WHERE uuid = $1",
        uuid.UUID(silence.id), now,
    )  # fmt: skip
    details = {"state": silence.state(now), "replaced": replaced}
    await _audit(conn, "silence.expired", silence.id, actor, details, now, service)


async def _audit(
    conn: asyncpg.Connection,
    action: str,
    silence_id: str,
    actor: str,
    details: Mapping[str, Any],
    now: datetime,
    service: str,
) -> None:
    await write_audit(
        conn,
        actor=actor,
        action=action,
        entity_type="silence",
        entity_id=silence_id,
        details=details,
        ts=now,
        service=service,
    )
