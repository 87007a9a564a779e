"""The camera registry cache: which cameras exist, their state, and the tables' age limits.

Every message is checked against the registry (unknown camera → rejected, never inserted
against a camera that does not exist), so :meth:`CameraRegistry.get` is a dict lookup. The
cache is reloaded whole (cameras are a few hundred rows at most):

* when ``NOTIFY vigil_cameras`` arrives (migration 0002's trigger on ``cameras``), after a
  short debounce so that a burst of changes costs one reload;
* every ``refresh_s`` seconds, as a safety net;
* each time the listening connection is (re)established, since notifications sent while it
  was away are lost.

The listener holds one pooled connection; if it drops, it reconnects with backoff and the
cache keeps serving the last known state meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from vigil_ingest.metrics import CAMERAS_KNOWN
from vigil_runtime.backoff import Backoff
from vigil_runtime.db import is_transient_error
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.tasks import wait_event
from vigil_schema.enums import DesiredState

__all__ = ["CHANNEL", "CameraInfo", "CameraRegistry"]

CHANNEL = "vigil_cameras"
"""The NOTIFY channel of migration 0002's `cameras` trigger."""

_CAMERAS_SQL = "SELECT id, desired_state, health_interval_s FROM cameras"
_RETENTION_SQL = "SELECT table_name, retention_days FROM retention_policies"

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """What the ingest needs to know about a registered camera."""

    id: str
    desired_state: DesiredState
    health_interval_s: int

    @property
    def disabled(self) -> bool:
        """Messages from a disabled camera are rejected."""
        return self.desired_state is DesiredState.DISABLED


class CameraRegistry:
    """In-memory copy of `cameras` (and `retention_policies`), kept fresh by LISTEN/NOTIFY.

    ``on_removed`` is called with the ids of cameras that disappeared in a reload (the
    metrics drop their per-camera series there).
    """

    def __init__(
        self,
        pool: Any,
        *,
        refresh_s: float = 60.0,
        debounce_s: float = 0.05,
        on_removed: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        self._pool = pool
        self._refresh_s = refresh_s
        self._debounce_s = debounce_s
        self._on_removed = on_removed
        self._cameras: dict[str, CameraInfo] = {}
        self._retention: dict[str, timedelta] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listening = False
        self._warn = RateLimitedLogger(_log, interval_s=30.0)

    # -- hot path ----------------------------------------------------------------------

    def get(self, camera_id: str) -> CameraInfo | None:
        """The camera, or ``None`` if it is not registered."""
        return self._cameras.get(camera_id)

    @property
    def cameras(self) -> Mapping[str, CameraInfo]:
        """All registered cameras by id (a read-only view of the current snapshot)."""
        return self._cameras

    def max_age(self, table: str, default: timedelta) -> timedelta:
        """How old a row of ``table`` may be: its retention, else ``default``."""
        return self._retention.get(table, default)

    @property
    def listening(self) -> bool:
        """Whether change notifications are currently being received."""
        return self._listening

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Load the registry once (raises if PostgreSQL is unreachable), then keep it fresh."""
        async with self._pool.acquire() as conn:
            await self._reload(conn)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="camera-registry")

    async def close(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None

    async def refresh(self) -> None:
        """Reload now through a pooled connection."""
        async with self._pool.acquire() as conn:
            await self._reload(conn)

    # -- internals ---------------------------------------------------------------------

    async def _reload(self, conn: Any) -> None:
        camera_rows = await conn.fetch(_CAMERAS_SQL)
        retention_rows = await conn.fetch(_RETENTION_SQL)
        cameras = {
            row["id"]: CameraInfo(
                row["id"], DesiredState(row["desired_state"]), row["health_interval_s"]
            )
            for row in camera_rows
        }
        removed = frozenset(self._cameras.keys() - cameras.keys())
        self._cameras = cameras
        CAMERAS_KNOWN.set(len(cameras))
        self._retention = {
            row["table_name"]: timedelta(days=row["retention_days"]) for row in retention_rows
        }
        if removed and self._on_removed is not None:
            self._on_removed(removed)

    async def _run(self) -> None:
        backoff = Backoff(initial=0.2, maximum=10.0)
        while True:
            try:
                await self._listen(backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient_error(exc):
                    _log.exception("camera_registry_failed")
                self._warn.warning("camera registry listener lost, reconnecting",
                                   key="listen", error=repr(exc))  # fmt: skip
            finally:
                self._listening = False
            await asyncio.sleep(backoff.next_delay())

    async def _listen(self, backoff: Backoff) -> None:
        """Hold a connection with LISTEN; reload on notifications and periodically."""
        lost = asyncio.Event()

        def on_notify(*_: object) -> None:
            self._changed.set()

        def on_terminate(*_: object) -> None:
            lost.set()
            self._changed.set()

        async with self._pool.acquire() as conn:
            await conn.add_listener(CHANNEL, on_notify)
            conn.add_termination_listener(on_terminate)
            try:
                await self._reload(conn)  # catch up on what was missed while away
                self._listening = True
                backoff.reset()
                while not lost.is_set():
                    await self._wait_for_change()
                    if lost.is_set():
                        break
                    await self._reload(conn)
            finally:
                conn.remove_termination_listener(on_terminate)
                if not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.remove_listener(CHANNEL, on_notify)
        raise ConnectionError("registry listener connection closed")

    async def _wait_for_change(self) -> None:
        """Return after a notification (debounced) or after ``refresh_s``."""
        if await wait_event(self._changed, self._refresh_s):
            await asyncio.sleep(self._debounce_s)
        self._changed.clear()
