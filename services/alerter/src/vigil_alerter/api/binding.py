"""`ApiBinding`: the API's routes before the service has its connections.

The runtime starts the ops server (and with it the API's routes) before the service body
connects PostgreSQL and Redis, so the routes are built over this binding instead of a ready
:class:`~vigil_alerter.api.deps.ApiDeps`: every attribute a handler reads is forwarded to the
bound deps, and while none are bound (starting, or draining after the body ended) a handler
answers 503 with a JSON reason instead of failing. The API token is known from the settings
before anything connects, so it is given at construction (the token guard reads it when the
routes are built).
"""

from __future__ import annotations

from typing import Any, cast

from aiohttp import web
from pydantic import SecretStr

from vigil_alerter.api import api_routes
from vigil_alerter.api.deps import ApiDeps

__all__ = ["ApiBinding"]


class ApiBinding:
    """Forwards attribute reads to the bound :class:`ApiDeps`; 503 while unbound."""

    def __init__(self, api_token: SecretStr | None) -> None:
        self.api_token = api_token
        self._deps: ApiDeps | None = None

    def routes(self) -> list[web.RouteDef]:
        """Every API route, reading its deps through this binding."""
        return api_routes(cast(ApiDeps, self))

    def bind(self, deps: ApiDeps) -> None:
        self._deps = deps

    def unbind(self) -> None:
        self._deps = None

    def __getattr__(self, name: str) -> Any:
        deps = self.__dict__.get("_deps")
        if deps is None:
            raise web.HTTPServiceUnavailable(
                text='{"error": "the alerter is starting or stopping"}',
                content_type="application/json",
            )
        return getattr(deps, name)
