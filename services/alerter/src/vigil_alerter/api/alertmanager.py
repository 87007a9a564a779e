"""Alertmanager's API v2 (``/api/v2``, docs in /work/shared/specs/alertmanager-api-v2.yaml).

Alerts, alert groups, status and receivers are here; silences in
:mod:`vigil_alerter.api.silences_api`. As Alertmanager's, these endpoints take no credentials
(keep them behind the network policy). Bad input answers 400 with a plain-text reason (the
spec's ``BadRequest`` is a string); a handler never answers 500 for a client's mistake.

POST /api/v2/alerts reads each alert with ``IncomingAlert.from_postable`` (Alertmanager's
rules: no ``startsAt`` is now, no ``endsAt`` is now + ``resolve_timeout``; no labels, a bad
label name or an end before the start is refused) and hands them to intake; as in
Alertmanager the valid alerts of a batch are taken even when others are refused (the 400
lists the refusals). Each taken alert counts in ``vigil_alerter_candidates_total{source="api"}``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from vigil_alerter.api.alerts_view import (
    AlertFilter,
    AlertView,
    api_time,
    build_views,
    keep,
    load_alerts,
)
from vigil_alerter.api.deps import ApiDeps
from vigil_alerter.api.params import bad_request, flag, label_matchers, receiver_regex
from vigil_alerter.engine.incoming import API_SOURCE, IncomingAlert
from vigil_alerter.metrics import CANDIDATES
from vigil_alerter.store.silence_rows import active_silences

__all__ = ["alertmanager_routes"]


def alertmanager_routes(deps: ApiDeps) -> list[web.RouteDef]:
    """The /api/v2 routes other than silences."""
    return [
        web.get("/api/v2/status", _status(deps)),
        web.get("/api/v2/receivers", _receivers(deps)),
        web.get("/api/v2/alerts", _get_alerts(deps)),
        web.post("/api/v2/alerts", _post_alerts(deps)),
        web.get("/api/v2/alerts/groups", _get_groups(deps)),
    ]


def _status(deps: ApiDeps) -> Any:
    async def handler(_request: web.Request) -> web.Response:
        version = {
            "version": deps.version,
            "revision": "",
            "branch": "",
            "buildUser": "vigil",
            "buildDate": "",
            "goVersion": "none (vigil-alerter, Python)",
        }
        return web.json_response(
            {
                "cluster": {"status": "disabled", "peers": []},
                "versionInfo": version,
                "config": {"original": deps.config_text()},
                "uptime": api_time(deps.started_at),
            }
        )

    return handler


def _receivers(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        matchers = label_matchers(request, "receiver_matchers")
        names = [r.name for r in deps.holder.current.config.receivers]
        kept = [n for n in names if all(m.matches({"name": n}) for m in matchers)]
        return web.json_response([{"name": n} for n in kept])

    return handler


def _alert_filter(request: web.Request) -> AlertFilter:
    label_matchers(request, "receiver_matchers")  # validated; receivers carry no labels
    return AlertFilter(
        matchers=label_matchers(request, "filter"),
        receiver=receiver_regex(request),
        active=flag(request, "active"),
        silenced=flag(request, "silenced"),
        inhibited=flag(request, "inhibited"),
        unprocessed=flag(request, "unprocessed"),
    )


async def _views(deps: ApiDeps) -> list[AlertView]:
    now = deps.clock()
    async with deps.pool.acquire() as conn:
        firing = await load_alerts(conn)
        silences = await active_silences(conn, now)
    return build_views(firing, deps.holder.current, silences, now)


def _get_alerts(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        flt = _alert_filter(request)
        now = deps.clock()
        timeout = deps.holder.current.config.global_.resolve_timeout
        views = [v for v in await _views(deps) if keep(v, flt)]
        return web.json_response([v.to_api(now, timeout) for v in views])

    return handler


_GROUPS_SQL = """
SELECT g.group_key, g.receiver, g.group_labels, array_agg(m.alert_id ORDER BY m.alert_id) AS ids
FROM alert_groups g JOIN alert_group_members m USING (group_key)
GROUP BY g.group_key, g.receiver, g.group_labels
ORDER BY g.group_key
"""


def _get_groups(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        flt = _alert_filter(request)
        muted = flag(request, "muted")
        now = deps.clock()
        timeout = deps.holder.current.config.global_.resolve_timeout
        groups = await deps.pool.fetch(_GROUPS_SQL)
        by_id = {v.row.id: v for v in await _views(deps)}
        body = []
        for group in groups:
            members = [by_id[i] for i in group["ids"] if i in by_id]
            if not muted and members and all(v.state == "suppressed" for v in members):
                continue
            alerts = [v for v in members if keep(v, flt)]
            if not alerts:
                continue
            body.append(
                {
                    "labels": dict(group["group_labels"]),
                    "routeLabels": {},
                    "receiver": {"name": group["receiver"]},
                    "alerts": [v.to_api(now, timeout) for v in alerts],
                }
            )
        return web.json_response(body)

    return handler


def _post_alerts(deps: ApiDeps) -> Any:
    async def handler(request: web.Request) -> web.Response:
        try:
            items = await request.json()
        except ValueError as exc:
            raise bad_request(f"body is not JSON: {exc}") from exc
        if not isinstance(items, list):
            raise bad_request("body must be a JSON array of alerts")
        now = deps.clock()
        timeout = deps.holder.current.config.global_.resolve_timeout
        accepted: list[IncomingAlert] = []
        errors: list[str] = []
        for index, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise ValueError("an alert must be an object")
                json.dumps(item, ensure_ascii=False).encode()  # lone surrogates: refused
                accepted.append(IncomingAlert.from_postable(item, now, timeout))
            except ValueError as exc:
                errors.append(f"alerts[{index}]: {exc}")
        if accepted:
            CANDIDATES.labels(API_SOURCE).inc(len(accepted))
            await deps.intake.ingest(accepted)
        if errors:
            raise bad_request("; ".join(errors))
        return web.Response(status=200, content_type="application/json")

    return handler
