"""The alerter's HTTP API, served on its ops port (``service_main(..., routes=)``).

``api_routes(deps)`` is every route: Alertmanager's API v2 under /api/v2 (alerts, alert
groups, silences, status, receivers: :mod:`.alertmanager`, :mod:`.silences_api`) so that
amtool, Grafana and Alertmanager clients work unchanged, and Vigil's own endpoints under
/api/vigil/v1 behind a bearer token (:mod:`.vigil_api`, documented by ``openapi/vigil.yaml``).

``deps`` is an :class:`ApiDeps`, or a function returning the current one, or None while the
service is still connecting: the routes are then registered before the ops server starts and
each request uses the deps of the moment, answering 503 ``{"error": ...}`` until there are
some. ``config_text(path)`` reads the configuration text the status endpoint reports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from vigil_alerter.api.alertmanager import alertmanager_routes
from vigil_alerter.api.deps import ApiDeps, Handler, RouteSpec
from vigil_alerter.api.silences_api import silence_routes
from vigil_alerter.api.vigil_api import vigil_routes
from vigil_alerter.config.models import DEFAULT_CONFIG_YAML

__all__ = ["ApiDeps", "DepsSource", "api_routes", "config_text", "route_specs"]

DepsSource = Callable[[], ApiDeps | None]
"""Returns the API's deps, or None while the service is still connecting."""


def route_specs() -> list[RouteSpec]:
    """Every route of the API, unbound."""
    return [*alertmanager_routes(), *silence_routes(), *vigil_routes()]


def api_routes(deps: ApiDeps | DepsSource) -> list[web.RouteDef]:
    """Every route, bound to ``deps`` (or to whatever ``deps()`` returns at each request)."""
    if isinstance(deps, ApiDeps):
        return [web.route(s.method, s.path, s.factory(deps)) for s in route_specs()]
    return [web.route(s.method, s.path, _deferred(deps, s.factory)) for s in route_specs()]


def _deferred(source: DepsSource, factory: Callable[[ApiDeps], Handler]) -> Handler:
    bound: list[tuple[ApiDeps, Handler]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        deps = source()
        if deps is None:
            return web.json_response({"error": "the alerter is starting"}, status=503)
        if not bound or bound[0][0] is not deps:
            bound[:] = [(deps, factory(deps))]
        return await bound[0][1](request)

    return handler


def config_text(path: Path | None) -> Callable[[], str]:
    """Reads the configuration file's text on each call (the default one when unset/missing)."""

    def read() -> str:
        if path is None:
            return DEFAULT_CONFIG_YAML
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return DEFAULT_CONFIG_YAML

    return read
