"""Vigil's own endpoints (/api/vigil/v1), behind the bearer token (:mod:`.auth`).

- ``POST /alerts/{id}/acknowledge|investigate|resolve|false-positive|dismiss`` with an
  optional JSON body ``{"actor": str, "notes": str}``: moves the alert's operator status
  through ``store.lifecycle.transition_alert`` (allowed transitions, audit, metrics) and
  answers the updated alert; 404 for an unknown alert, 409 for a transition the lifecycle
  refuses, 400 for a bad body.
- ``GET /alerts/{id}``: the alert; ``GET /alerts/{id}/history``: the alert, its audit rows
  and its notifications (``alert_id`` or any of ``alert_ids``), oldest first.
- ``GET /openapi.yaml``: this API's OpenAPI document (no token needed to read it).

Errors are JSON objects ``{"error": "..."}``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any, Final

import asyncpg
from aiohttp import web

from vigil_alerter.api.alerts_view import api_time
from vigil_alerter.api.auth import require_token
from vigil_alerter.api.deps import ApiDeps, Handler, RouteSpec
from vigil_alerter.store.lifecycle import transition_alert
from vigil_schema.enums import AlertStatus

__all__ = ["ACTIONS", "PREFIX", "vigil_routes"]

PREFIX: Final = "/api/vigil/v1"
ACTIONS: Final = {
    "acknowledge": AlertStatus.ACKNOWLEDGED,
    "investigate": AlertStatus.INVESTIGATING,
    "resolve": AlertStatus.RESOLVED,
    "false-positive": AlertStatus.FALSE_POSITIVE,
    "dismiss": AlertStatus.DISMISSED,
}
_MAX_ID: Final = 2**63 - 1
_ALERT_SQL: Final = """
SELECT id, fingerprint, rule, severity, status, active, source, camera_id, title, description,
       labels, annotations, generator_url, occurrences, first_seen_at, last_seen_at, ends_at,
       acknowledged_by, acknowledged_at, resolved_by, resolved_at, resolution_notes,
       escalated, escalated_at, escalation_level, updated_at
FROM alerts WHERE id = $1
"""
_AUDIT_SQL: Final = """
SELECT ts, actor, action, action_status, details FROM audit_log
WHERE entity_type = 'alert' AND entity_id = $1 ORDER BY ts, id
"""
_NOTIFICATIONS_SQL: Final = """
SELECT id, receiver, channel, kind, status, attempts, last_error, group_key, alert_ids,
       created_at, sent_at
FROM notifications WHERE alert_id = $1 OR $1 = ANY(alert_ids) ORDER BY created_at, id
"""


def vigil_routes() -> list[RouteSpec]:
    """The /api/vigil/v1 routes."""
    routes = [
        RouteSpec("GET", f"{PREFIX}/openapi.yaml", lambda _deps: _openapi),
        RouteSpec("GET", f"{PREFIX}/alerts/{{alert_id}}", _guarded(_get_alert)),
        RouteSpec("GET", f"{PREFIX}/alerts/{{alert_id}}/history", _guarded(_history)),
    ]
    for action, status in ACTIONS.items():
        factory = _guarded(functools.partial(_transition, status=status))
        routes.append(RouteSpec("POST", f"{PREFIX}/alerts/{{alert_id}}/{action}", factory))
    return routes


def _guarded(factory: Callable[[ApiDeps], Handler]) -> Callable[[ApiDeps], Handler]:
    """``factory``'s handler behind the bearer token of the deps."""
    return lambda deps: require_token(deps.api_token, factory(deps))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__(response.text)
        self.response = response


def _alert_id(request: web.Request) -> int:
    raw = request.match_info["alert_id"]
    if not raw.isascii() or not raw.isdigit() or int(raw) > _MAX_ID:
        raise _Refused(_error(404, f"no alert {raw!r}"))
    return int(raw)


async def _body(request: web.Request) -> tuple[str, str | None]:
    if not request.can_read_body:
        return "api", None
    try:
        body = await request.json()
    except ValueError as exc:
        raise _Refused(_error(400, f"body is not JSON: {exc}")) from exc
    if body is None:
        return "api", None
    if not isinstance(body, dict):
        raise _Refused(_error(400, "body must be an object {actor?, notes?}"))
    actor, notes = body.get("actor", "api"), body.get("notes")
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 200:
        raise _Refused(_error(400, "actor must be a non-empty string (at most 200 characters)"))
    if notes is not None and (not isinstance(notes, str) or len(notes) > 10_000):
        raise _Refused(_error(400, "notes must be a string (at most 10000 characters)"))
    for text in (actor, notes or ""):
        if "\x00" in text or not _encodable(text):
            raise _Refused(_error(400, "actor and notes must be valid text"))
    return actor, notes


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _transition(deps: ApiDeps, status: AlertStatus) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        try:
            alert_id = _alert_id(request)
            actor, notes = await _body(request)
        except _Refused as refused:
            return refused.response
        async with deps.pool.acquire() as conn, conn.transaction():
            try:
                await transition_alert(conn, alert_id, status, actor, notes, deps.clock())
            except LookupError as exc:
                return _error(404, str(exc) or f"no alert {alert_id}")
            except ValueError as exc:
                return _error(409, str(exc))
        row = await deps.pool.fetchrow(_ALERT_SQL, alert_id)
        return web.json_response(_jsonable(dict(row)) if row else {})

    return handler


async def _alert_row(deps: ApiDeps, request: web.Request) -> tuple[int, Any]:
    """The path's alert id and its row; raises :class:`_Refused` (404) when there is none."""
    alert_id = _alert_id(request)
    row = await deps.pool.fetchrow(_ALERT_SQL, alert_id)
    if row is None:
        raise _Refused(_error(404, f"no alert {alert_id}"))
    return alert_id, row


def _get_alert(deps: ApiDeps) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        try:
            _, row = await _alert_row(deps, request)
        except _Refused as refused:
            return refused.response
        return web.json_response(_jsonable(dict(row)))

    return handler


def _history(deps: ApiDeps) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        try:
            alert_id, row = await _alert_row(deps, request)
        except _Refused as refused:
            return refused.response
        notifications = await deps.pool.fetch(_NOTIFICATIONS_SQL, alert_id)
        audit = await _audit_rows(deps.audit_pool, alert_id)
        body = {
            "alert": _jsonable(dict(row)),
            "audit": None if audit is None else [_jsonable(dict(r)) for r in audit],
            "notifications": [_jsonable(dict(r)) for r in notifications],
        }
        return web.json_response(body)

    return handler


async def _audit_rows(pool: asyncpg.Pool | None, alert_id: int) -> list[asyncpg.Record] | None:
    if pool is None:
        return None
    return list(await pool.fetch(_AUDIT_SQL, str(alert_id)))


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = api_time(value)
        elif isinstance(value, str | int | float | bool | dict | list) or value is None:
            out[key] = value
        else:
            out[key] = json.loads(json.dumps(value, default=str))
    return out


async def _openapi(_request: web.Request) -> web.Response:
    text = resources.files("vigil_alerter.api").joinpath("openapi/vigil.yaml").read_text()
    return web.Response(text=text, content_type="application/yaml")
