"""What the HTTP API needs from the rest of the alerter, bundled as :class:`ApiDeps`.

The API reads the database through ``pool`` (the ``vigil_alerter`` role), the routing tree,
receivers and inhibition rules through ``holder.current`` (the configuration in force, so a
reload is seen by the next request), hands posted alerts to ``intake`` (the same path stream
candidates take) and reads the time from ``clock``. The protocols below name only what the
API uses, so the API does not depend on how those parts are built.

``audit_pool`` reads ``audit_log`` for an alert's history: the ``vigil_alerter`` role may only
insert there, so the service passes a pool whose role may read it (None: the history lists no
audit rows and says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg
from pydantic import SecretStr

from vigil_alerter.clock import Clock
from vigil_alerter.config.models import AlerterConfig

__all__ = [
    "AlertSink",
    "ApiDeps",
    "ConfigView",
    "HolderView",
    "InhibitorView",
    "IntervalsView",
    "RouteView",
    "TreeView",
]


class RouteView(Protocol):
    """A matched route: its receiver and time intervals."""

    @property
    def receiver(self) -> str: ...

    @property
    def mute_time_intervals(self) -> tuple[str, ...]: ...

    @property
    def active_time_intervals(self) -> tuple[str, ...]: ...


class IntervalsView(Protocol):
    """The named time intervals: whether one holds at a time."""

    def contains(self, name: str, at: datetime) -> bool: ...


class TreeView(Protocol):
    """The routing tree: which routes an alert's labels reach."""

    def match(self, labels: Mapping[str, str]) -> Sequence[RouteView]: ...


class InhibitorView(Protocol):
    """The inhibition rules: whether firing alerts mute a target."""

    def inhibits(
        self, target_labels: Mapping[str, str], firing: Iterable[Mapping[str, str]]
    ) -> bool: ...


class ConfigView(Protocol):
    """The configuration in force (``LoadedConfig``)."""

    @property
    def config(self) -> AlerterConfig: ...

    @property
    def tree(self) -> TreeView: ...

    @property
    def inhibitor(self) -> InhibitorView: ...

    @property
    def intervals(self) -> IntervalsView: ...


class HolderView(Protocol):
    """The configuration holder: ``current`` changes on reload."""

    @property
    def current(self) -> ConfigView: ...


class AlertSink(Protocol):
    """Intake: takes alerts posted to /api/v2/alerts (``IncomingAlert`` values)."""

    async def ingest(self, alerts: Sequence[Any]) -> None: ...


@dataclass(frozen=True)
class ApiDeps:
    """Everything the API handlers use; built once by the service (``main``)."""

    pool: asyncpg.Pool
    holder: HolderView
    clock: Clock
    intake: AlertSink
    api_token: SecretStr | None
    started_at: datetime
    config_text: Callable[[], str]
    """The configuration file's text (Alertmanager's status ``config.original``)."""
    audit_pool: asyncpg.Pool | None = None
    version: str = "0.1.0"
