"""The alerter's HTTP API, served on its ops port (``OpsServer.add_routes``).

``api_routes(deps)`` is every route: Alertmanager's API v2 under /api/v2 (alerts, alert
groups, silences, status, receivers: :mod:`.alertmanager`, :mod:`.silences_api`) so that
amtool, Grafana and Alertmanager clients work unchanged, and Vigil's own endpoints under
/api/vigil/v1 behind a bearer token (:mod:`.vigil_api`, documented by ``openapi/vigil.yaml``).
``config_text(path)`` reads the configuration text the status endpoint reports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from vigil_alerter.api.alertmanager import alertmanager_routes
from vigil_alerter.api.deps import ApiDeps
from vigil_alerter.api.silences_api import silence_routes
from vigil_alerter.api.vigil_api import vigil_routes
from vigil_alerter.config.models import DEFAULT_CONFIG_YAML

__all__ = ["ApiDeps", "api_routes", "config_text"]


def api_routes(deps: ApiDeps) -> list[web.RouteDef]:
    """Every route of the API."""
    return [*alertmanager_routes(deps), *silence_routes(deps), *vigil_routes(deps)]


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
