"""`ServiceContext`: what a service body gets from the runner (`vigil_runtime.service`).

Its settings, the stop event, the ops server (/metrics, /healthz, /readyz), a logger, and
the service's status as the heartbeat reports it: `starting` until `dependencies()` has
connected everything (`mark_running()`), then `running`, and `draining` once a stop was
requested. Other modules read the status (`status`) and subscribe to its changes
(`watch_status`); only the context changes it. The modules it hands itself to
(`vigil_runtime.dependencies`, `vigil_runtime.heartbeat`) know it only through the small
protocols they declare (`DependencyOwner`, `HeartbeatSource`), so none of them imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeVar

from structlog.typing import FilteringBoundLogger

from vigil_runtime.dependencies import Dependencies, connect_dependencies
from vigil_runtime.ops import OpsServer
from vigil_runtime.settings import VigilSettings
from vigil_runtime.tasks import cancel_and_wait, wait_event, wait_task_or_event
from vigil_schema.clock import utc_now

__all__ = ["ServiceContext", "ServiceStatus", "ServiceStopping"]

T = TypeVar("T")
ServiceStatus = Literal["starting", "running", "draining"]


class ServiceStopping(Exception):
    """Raised inside the body when a stop arrives before it could start working."""


@dataclass
class ServiceContext:
    """What a service body gets: its settings, the stop event, the ops server, a logger."""

    name: str
    settings: VigilSettings
    stopping: asyncio.Event
    ops: OpsServer
    log: FilteringBoundLogger
    started_at: datetime = field(default_factory=utc_now)
    _running: bool = field(default=False, init=False, repr=False)
    _watchers: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)

    @property
    def status(self) -> ServiceStatus:
        """`starting`, then `running` once `mark_running()` was called; `draining` once
        a stop was requested."""
        if self.stopping.is_set():
            return "draining"
        return "running" if self._running else "starting"

    def watch_status(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (no arguments, from the event loop) whenever `status` changes;
        returns the function that unsubscribes it."""
        self._watchers.append(callback)

        def unwatch() -> None:
            with contextlib.suppress(ValueError):
                self._watchers.remove(callback)

        return unwatch

    def mark_running(self) -> None:
        """The body's dependencies are connected: status `running` (idempotent)."""
        if not self._running:
            self._running = True
            self._status_changed()

    def request_stop(self, reason: str) -> None:
        """Begin draining: /readyz turns 503 and `stopping` is set (idempotent)."""
        if not self.stopping.is_set():
            self.log.info("stopping", reason=reason)
            self.ops.set_draining()
            self.stopping.set()
            self._status_changed()

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True (early) when a stop was requested."""
        return await wait_event(self.stopping, seconds)

    async def until_stopping(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, or cancel it and raise ServiceStopping when a stop comes first."""
        task = asyncio.ensure_future(awaitable)
        if not await wait_task_or_event(task, self.stopping):
            await cancel_and_wait(task)
            raise ServiceStopping
        return task.result()

    def dependencies(self) -> contextlib.AbstractAsyncContextManager[Dependencies]:
        """Connect PostgreSQL and Redis (retrying), register their checks, heartbeat.

        Use as `async with ctx.dependencies() as deps`; see `connect_dependencies`.
        Raises ServiceStopping when a stop arrives before both are connected.
        """
        return connect_dependencies(self)

    def _status_changed(self) -> None:
        for callback in list(self._watchers):
            callback()
