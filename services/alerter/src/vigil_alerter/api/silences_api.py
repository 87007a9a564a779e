"""Alertmanager's silence endpoints: /api/v2/silences and /api/v2/silence/{silenceID}.

- ``GET /silences``: every silence, filtered by ``filter`` matchers (applied to the
  silence's own matcher values, as Alertmanager does) and the ``active``/``pending``/
  ``expired`` flags, sorted as Alertmanager sorts them (active by end, pending by start,
  then expired, most recent first).
- ``POST /silences``: a ``postableSilence``; with an ``id`` it updates that silence (404 when
  unknown). Refused with 400: no matcher, a bad matcher or regex, only matchers matching the
  empty string, an end not after the start, an end in the past. A start in the past is now.
- ``GET /silence/{id}``: the silence, 404 when unknown (or not a UUID).
- ``DELETE /silence/{id}``: expires it (ends now), 404 when unknown.

Storage, audit and Alertmanager's update rules are ``vigil_alerter.store.silences``; times
come from the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from vigil_alerter.api.alerts_view import api_time
from vigil_alerter.api.deps import ApiDeps
from vigil_alerter.api.params import bad_request, flag, label_matchers
from vigil_alerter.config.matchers import Matcher
from vigil_alerter.store import silences as store

__all__ = ["PostedSilence", "parse_postable", "silence_routes"]

_API_ACTOR = "api"
_STATE_ORDER = {"active": 0, "pending": 1, "expired": 2}


def silence_routes(deps: ApiDeps) -> list[web.RouteDef]:
    """The silence routes of /api/v2."""
    return [
        web.get("/api/v2/silences", _list(deps)),
        web.post("/api/v2/silences", _post(deps)),
        web.get("/api/v2/silence/{silence_id}", _get(deps)),
        web.delete("/api/v2/silence/{silence_id}", _delete(deps)),
    ]


@dataclass(frozen=True)
class PostedSilence:
    """A validated ``postableSilence``."""

    id: str | None
    matchers: list[Matcher]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str


def parse_postable(body: object, now: datetime) -> PostedSilence:
    """Validate a ``postableSilence`` (ValueError with the reason)."""
    if not isinstance(body, Mapping):
        raise ValueError("a silence must be a JSON object")
    raw = body.get("matchers")
    if not isinstance(raw, list) or not raw:
        raise ValueError("at least one matcher required")
    matchers = [Matcher.from_api(m) if isinstance(m, Mapping) else _not_matcher(m) for m in raw]
    if all(m.matches({}) for m in matchers):
        raise ValueError("at least one matcher must not match the empty string")
    starts_at, ends_at = _time(body, "startsAt"), _time(body, "endsAt")
    if ends_at <= starts_at:
        raise ValueError("start time must be before end time")
    if ends_at < now:
        raise ValueError("end time can't be in the past")
    created_by, comment = _text(body, "createdBy"), _text(body, "comment")
    ident = body.get("id")
    if ident is not None and not isinstance(ident, str):
        raise ValueError("id must be a string")
    return PostedSilence(ident or None, matchers, max(starts_at, now), ends_at, created_by, comment)


def _not_matcher(value: object) -> Matcher:
    raise ValueError(f"a matcher must be an object {{name, value, isRegex}}, not {value!r}")


def _time(body: Mapping[str, Any], name: str) -> datetime:
    value = body.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is required (an RFC 3339 date-time)")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{name}: not an RFC 3339 date-time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ValueError(f"{name}: a time zone is required: {value!r}")
    return parsed


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is required (a string)")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL")
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not valid text") from exc
    return value


def _uuid(request: web.Request) -> str | None:
    try:
        return str(uuid.UUID(request.match_info["silence_id"]))
    except ValueError:
        return None


def _not_found(silence_id: str) -> web.Response:
    return web.json_response(f"silence {silence_id} not found", status=404)


def _to_api(silence: store.SilenceRecord, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.id,
        "status": {"state": silence.state(now)},
        "updatedAt": api_time(silence.updated_at),
        "matchers": [m.to_api() for m in silence.matchers],
        "startsAt": api_time(silence.starts_at),
        "endsAt": api_time(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "annotations": {},
    }


def _sort_key(silence: store.SilenceRecord, now: datetime) -> tuple[int, float]:
    state = silence.state(now)
    if state == "active":
        return 0, silence.ends_at.timestamp()
    if state == "pending":
        return 1, silence.starts_at.timestamp()
    return 2, -silence.ends_at.timestamp()


def _selected(
    silences: Sequence[store.SilenceRecord], request: web.Request, now: datetime
) -> list[store.SilenceRecord]:
    filters = label_matchers(request, "filter")
    wanted = {state for state in _STATE_ORDER if flag(request, state)}
    kept = [
        s
        for s in silences
        if s.state(now) in wanted
        and all(f.matches({m.name: m.value for m in s.matchers}) for f in filters)
    ]
    return sorted(kept, key=lambda s: _sort_key(s, now))


def _list(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        now = deps.clock()
        silences = await store.list_silences(deps.pool)
        return web.json_response([_to_api(s, now) for s in _selected(silences, request, now)])

    return handler


def _post(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        now = deps.clock()
        try:
            posted = parse_postable(await request.json(), now)
        except ValueError as exc:
            raise bad_request(f"Failed to create silence: {exc}") from exc
        fields = {
            "matchers": posted.matchers,
            "starts_at": posted.starts_at,
            "ends_at": posted.ends_at,
            "created_by": posted.created_by,
            "comment": posted.comment,
            "actor": posted.created_by or _API_ACTOR,
            "now": now,
        }
        async with deps.pool.acquire() as conn, conn.transaction():
            if posted.id is None:
                silence_id = await store.create_silence(conn, **fields)
            else:
                try:
                    wanted = str(uuid.UUID(posted.id))
                except ValueError:
                    return _not_found(posted.id)
                found = await store.update_silence(conn, wanted, **fields)
                if found is None:
                    return _not_found(posted.id)
                silence_id = found
        return web.json_response({"silenceID": silence_id})

    return handler


def _get(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        silence_id = _uuid(request)
        silence = None if silence_id is None else await store.get_silence(deps.pool, silence_id)
        if silence is None:
            return _not_found(request.match_info["silence_id"])
        return web.json_response(_to_api(silence, deps.clock()))

    return handler


def _delete(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        silence_id = _uuid(request)
        if silence_id is None:
            return _not_found(request.match_info["silence_id"])
        async with deps.pool.acquire() as conn, conn.transaction():
            found = await store.expire_silence(conn, silence_id, actor=_API_ACTOR, now=deps.clock())
        if not found:
            return _not_found(silence_id)
        return web.Response(status=200)

    return handler
