"""Alertmanager's silence endpoints: /api/v2/silences and /api/v2/silence/{silenceID}.

- ``GET /silences``: every silence, filtered by ``filter`` matchers (applied to the
  silence's own matcher values, as Alertmanager does) and the ``active``/``pending``/
  ``expired`` flags, sorted as Alertmanager sorts them (active by end, pending by start,
  then expired, most recent first).
- ``POST /silences``: a ``postableSilence``; with an ``id`` it updates that silence (404 when
  unknown; Alertmanager's rule: in place when allowed, else under a new id). Refused with
  400: no matcher, a bad matcher or regex, only matchers matching the empty string, an end
  not after the start, an end in the past. A start in the past becomes now.
- ``GET /silence/{id}``: the silence, 404 when unknown (or not a UUID).
- ``DELETE /silence/{id}``: expires it (ends now), 404 when unknown; expiring an expired
  silence changes nothing and answers 200.

Storage, validation, audit and Alertmanager's update rules are
:mod:`vigil_alerter.store.silences`; times come from the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from vigil_alerter.api.alerts_view import api_time
from vigil_alerter.api.deps import ApiDeps
from vigil_alerter.api.params import bad_request, flag, label_matchers
from vigil_alerter.store import silences as store

__all__ = ["PostedSilence", "parse_postable", "silence_routes"]

_API_ACTOR = "api"
_STATES = ("active", "pending", "expired")


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
    """A ``postableSilence`` read from JSON: its ``id`` (None: a new silence) and spec."""

    id: str | None
    spec: store.SilenceSpec


def parse_postable(body: object) -> PostedSilence:
    """Read a ``postableSilence`` (ValueError with the reason); the store validates the rest."""
    if not isinstance(body, Mapping):
        raise ValueError("a silence must be a JSON object")
    raw = body.get("matchers")
    if not isinstance(raw, list) or not raw:
        raise ValueError("at least one matcher required")
    if not all(isinstance(m, Mapping) for m in raw):
        raise ValueError("a matcher must be an object {name, value, isRegex, isEqual}")
    for matcher in raw:
        for key in ("name", "value"):
            if isinstance(matcher.get(key), str):
                _text(f"matcher {key}", matcher[key])
    spec = store.SilenceSpec(
        matchers=tuple(raw),
        starts_at=_time(body, "startsAt"),
        ends_at=_time(body, "endsAt"),
        created_by=_text("createdBy", body.get("createdBy")),
        comment=_text("comment", body.get("comment")),
    )
    ident = body.get("id")
    if ident is not None and not isinstance(ident, str):
        raise ValueError("id must be a string")
    return PostedSilence(ident or None, spec)


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


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} is required (a string)")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL")
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not valid text") from exc
    return value


def _not_found(silence_id: str) -> web.Response:
    return web.json_response(f"silence {silence_id} not found", status=404)


def _to_api(silence: store.Silence, now: datetime) -> dict[str, Any]:
    """``gettableSilence`` (with the ``annotations`` the spec requires: none here)."""
    return {
        "id": silence.id,
        "status": {"state": silence.state(now)},
        "updatedAt": api_time(silence.updated_at),
        "matchers": [dict(m) for m in silence.matchers],
        "startsAt": api_time(silence.starts_at),
        "endsAt": api_time(silence.ends_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "annotations": {},
    }


def _sort_key(silence: store.Silence, now: datetime) -> tuple[int, float]:
    state = silence.state(now)
    if state == "active":
        return 0, silence.ends_at.timestamp()
    if state == "pending":
        return 1, silence.starts_at.timestamp()
    return 2, -silence.ends_at.timestamp()


def _selected(
    silences: Sequence[store.Silence], request: web.Request, now: datetime
) -> list[store.Silence]:
    filters = label_matchers(request, "filter")
    wanted = {state for state in _STATES if flag(request, state)}
    kept = [
        s
        for s in silences
        if s.state(now) in wanted
        and all(f.matches({m["name"]: m["value"] for m in s.matchers}) for f in filters)
    ]
    return sorted(kept, key=lambda s: _sort_key(s, now))


def _list(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        now = deps.clock()
        async with deps.pool.acquire() as conn:
            silences = await store.list_silences(conn, now)
        return web.json_response([_to_api(s, now) for s in _selected(silences, request, now)])

    return handler


def _post(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        now = deps.clock()
        try:
            posted = parse_postable(await request.json())
        except ValueError as exc:
            raise bad_request(f"Failed to create silence: {exc}") from exc
        try:
            async with deps.pool.acquire() as conn:
                silence_id = await store.set_silence(
                    conn, posted.spec, now=now, silence_id=posted.id
                )
        except store.SilenceNotFoundError:
            return _not_found(str(posted.id))
        except ValueError as exc:
            raise bad_request(f"Failed to create silence: {exc}") from exc
        return web.json_response({"silenceID": silence_id})

    return handler


def _get(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        silence_id = request.match_info["silence_id"]
        try:
            async with deps.pool.acquire() as conn:
                silence = await store.get_silence(conn, silence_id)
        except store.SilenceNotFoundError:
            return _not_found(silence_id)
        return web.json_response(_to_api(silence, deps.clock()))

    return handler


def _delete(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        silence_id = request.match_info["silence_id"]
        try:
            async with deps.pool.acquire() as conn:
                await store.expire_silence(conn, silence_id, actor=_API_ACTOR, now=deps.clock())
        except store.SilenceNotFoundError:
            return _not_found(silence_id)
        except store.SilenceStateError:
            pass  # already expired: what the caller wants already holds
        return web.Response(status=200, content_type="application/json")

    return handler
