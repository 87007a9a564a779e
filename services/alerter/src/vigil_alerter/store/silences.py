"""Silences (``silences`` rows) with Alertmanager's semantics: create, update, expire, read.

A silence mutes every alert whose labels match all its matchers while
``starts_at <= now < ends_at``; its state is ``pending`` before, ``active`` during and
``expired`` after (:meth:`Silence.state`). The API id is ``silences.uuid``.

Alertmanager's rules (``silence.Silences.Set``/``Expire``, API v2), with the caller's clock:

- validation (:func:`validate_silence`): at least one matcher, each one Alertmanager's
  (:meth:`Matcher.from_api`: a valid label name, an anchored regex that compiles); not every
  matcher matches the empty string (such a silence would mute everything); ``createdBy`` not
  blank; ``starts_at < ends_at``; ``ends_at`` not in the past;
- create: a start in the past becomes ``now``; returns the new uuid;
- update (an id given): in place when the matchers are unchanged and the times allowed
  (an active silence keeps its start, compared to the second, and does not end in the past;
  a pending one does not start in the past); otherwise the old silence is expired (unless it
  already is) and a new one created with a new uuid, which is returned;
- expire: an active silence ends ``now``; a pending one starts and ends ``now``; an expired
  one raises :class:`SilenceStateError`.

Every change writes an ``audit_log`` row (``silence.created``/``updated``/``expired``, entity
``silence``, id the uuid, actor ``actor`` or else the silence's author) in the same
transaction (a savepoint of the caller's, if any). Unknown ids raise
:class:`SilenceNotFoundError`; invalid input :class:`SilenceValidationError`. ``updatedAt``
is the row's ``updated_at``, which the table's trigger sets to the database's time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

import asyncpg

from vigil_alerter.config.matchers import Matcher, MatcherError
from vigil_alerter.routing.silences import SilenceState, silence_state
from vigil_runtime.audit import write_audit

__all__ = [
    "Silence",
    "SilenceError",
    "SilenceNotFoundError",
    "SilenceSpec",
    "SilenceState",
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

_SERVICE: Final = "vigil-alerter"
_COLUMNS: Final = "uuid, matchers, starts_at, ends_at, created_by, comment, updated_at"


class SilenceError(Exception):
    """Base of the errors below."""


class SilenceValidationError(SilenceError, ValueError):
    """The silence is malformed (Alertmanager answers 400)."""


class SilenceNotFoundError(SilenceError, LookupError):
    """No silence has this id."""


class SilenceStateError(SilenceError):
    """The silence's state forbids the operation (expiring an expired silence)."""


@dataclass(frozen=True, slots=True)
class SilenceSpec:
    """What an operator asks for: Alertmanager's postable silence without its id.

    ``matchers`` are Alertmanager's API dicts ``{name, value, isRegex, isEqual}``.
    """

    matchers: tuple[Mapping[str, Any], ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Silence:
    """A stored silence."""

    id: str
    matchers: tuple[dict[str, Any], ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    updated_at: datetime

    def state(self, now: datetime) -> SilenceState:
        """``pending`` before ``starts_at``, ``expired`` from ``ends_at``, else ``active``."""
        return silence_state(self.starts_at, self.ends_at, now)


def normalize_matchers(matchers: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Check each API matcher (Alertmanager's rules, :class:`Matcher`) and return it as
    ``{name, value, isRegex, isEqual}``; at least one, and not all matching ``""``."""
    if not matchers:
        raise SilenceValidationError("at least one matcher is required")
    parsed: list[Matcher] = []
    for index, raw in enumerate(matchers):
        flags = (raw.get("isRegex", False), raw.get("isEqual", True))
        if not all(isinstance(flag, bool) for flag in flags):
            raise SilenceValidationError(f"matchers[{index}]: isRegex/isEqual must be booleans")
        try:
            parsed.append(Matcher.from_api(raw))
        except MatcherError as exc:
            raise SilenceValidationError(f"matchers[{index}]: {exc}") from None
    if all(m.matches({}) for m in parsed):
        raise SilenceValidationError(
            "at least one matcher must not match the empty string (it would mute everything)"
        )
    return tuple(m.to_api() for m in parsed)


def validate_silence(spec: SilenceSpec, now: datetime) -> SilenceSpec:
    """Alertmanager's checks; returns the spec with normalised matchers."""
    matchers = normalize_matchers(spec.matchers)
    if not spec.created_by.strip():
        raise SilenceValidationError("createdBy is required")
    if spec.starts_at >= spec.ends_at:
        raise SilenceValidationError("start time must be before end time")
    if spec.ends_at < now:
        raise SilenceValidationError("end time can't be in the past")
    return replace(spec, matchers=matchers)


def _parse_id(silence_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(silence_id)
    except (ValueError, AttributeError, TypeError):
        raise SilenceNotFoundError(f"no silence {silence_id!r}") from None


def _from_row(row: Mapping[str, Any]) -> Silence:
    return Silence(
        id=str(row["uuid"]),
        matchers=tuple(dict(m) for m in row["matchers"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        created_by=row["created_by"],
        comment=row["comment"],
        updated_at=row["updated_at"],
    )


async def get_silence(conn: asyncpg.Connection, silence_id: str) -> Silence:
    """The silence with this uuid; :class:`SilenceNotFoundError` when none."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM silences WHERE uuid = $1", _parse_id(silence_id)
    )
    if row is None:
        raise SilenceNotFoundError(f"no silence {silence_id!r}")
    return _from_row(row)


async def list_silences(
    conn: asyncpg.Connection, now: datetime, *, state: SilenceState | None = None
) -> list[Silence]:
    """Every silence (or those in ``state`` at ``now``), the latest ending first."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM silences ORDER BY ends_at DESC, id DESC")
    found = [_from_row(row) for row in rows]
    return [s for s in found if state is None or s.state(now) == state]


async def create_silence(
    conn: asyncpg.Connection,
    spec: SilenceSpec,
    *,
    now: datetime,
    actor: str | None = None,
    service: str = _SERVICE,
) -> str:
    """Validate and store a new silence; returns its uuid. ``actor`` (the audit row's)
    defaults to ``spec.created_by``."""
    spec = validate_silence(spec, now)
    async with conn.transaction():
        return await _insert(conn, spec, now, actor or spec.created_by, service, replaces=None)


async def _insert(
    conn: asyncpg.Connection,
    spec: SilenceSpec,
    now: datetime,
    actor: str,
    service: str,
    *,
    replaces: str | None,
) -> str:
    starts_at = max(spec.starts_at, now)
    new_id = await conn.fetchval(
        "INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment, created_at,"
        " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING uuid",
        [dict(m) for m in spec.matchers], starts_at, spec.ends_at, spec.created_by,
        spec.comment, now,
    )  # fmt: skip
    details: dict[str, Any] = {
        "matchers": [dict(m) for m in spec.matchers],
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
    spec: SilenceSpec,
    *,
    now: datetime,
    actor: str | None = None,
    service: str = _SERVICE,
) -> str:
    """Change silence ``silence_id`` as Alertmanager does; returns the id that now holds it.

    The same id when it could be updated in place, otherwise a new one (the old one expired).
    """
    spec = validate_silence(spec, now)
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM silences WHERE uuid = $1 FOR UPDATE", _parse_id(silence_id)
        )
        if row is None:
            raise SilenceNotFoundError(f"no silence {silence_id!r}")
        previous, who = _from_row(row), actor or spec.created_by
        if _can_update(previous, spec, now):
            await _update_in_place(conn, previous, spec, now, who, service)
            return previous.id
        if previous.state(now) != "expired":
            await _expire(conn, previous, who, now, service, replaced=True)
        return await _insert(conn, spec, now, who, service, replaces=previous.id)


def _can_update(previous: Silence, spec: SilenceSpec, now: datetime) -> bool:
    """Alertmanager's ``canUpdate``: same matchers and times the state allows."""
    if list(previous.matchers) != [dict(m) for m in spec.matchers]:
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
    previous: Silence,
    spec: SilenceSpec,
    now: datetime,
    actor: str,
    service: str,
) -> None:
    # Alertmanager compares an active silence's start to the second: keep the stored one
    starts_at = previous.starts_at if previous.state(now) == "active" else spec.starts_at
    await conn.execute(
        "UPDATE silences SET starts_at = $2, ends_at = $3, created_by = $4, comment = $5"
        " WHERE uuid = $1",
        uuid.UUID(previous.id), starts_at, spec.ends_at, spec.created_by, spec.comment,
    )  # fmt: skip
    details = {
        "starts_at": starts_at.isoformat(),
        "ends_at": spec.ends_at.isoformat(),
        "comment": spec.comment,
        "previous_ends_at": previous.ends_at.isoformat(),
    }
    await _audit(conn, "silence.updated", previous.id, actor, details, now, service)


async def set_silence(
    conn: asyncpg.Connection,
    spec: SilenceSpec,
    *,
    now: datetime,
    silence_id: str | None = None,
    actor: str | None = None,
    service: str = _SERVICE,
) -> str:
    """``POST /api/v2/silences``: create when ``silence_id`` is None, else update."""
    if silence_id:
        return await update_silence(conn, silence_id, spec, now=now, actor=actor, service=service)
    return await create_silence(conn, spec, now=now, actor=actor, service=service)


async def expire_silence(
    conn: asyncpg.Connection,
    silence_id: str,
    *,
    actor: str,
    now: datetime,
    service: str = _SERVICE,
) -> None:
    """Expire the silence now (``DELETE /api/v2/silence/{id}``)."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM silences WHERE uuid = $1 FOR UPDATE", _parse_id(silence_id)
        )
        if row is None:
            raise SilenceNotFoundError(f"no silence {silence_id!r}")
        silence = _from_row(row)
        if silence.state(now) == "expired":
            raise SilenceStateError(f"silence {silence_id} already expired")
        await _expire(conn, silence, actor, now, service, replaced=False)


async def _expire(
    conn: asyncpg.Connection,
    silence: Silence,
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
