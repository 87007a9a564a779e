"""Keep an in-memory copy of the ``cameras`` table fresh: LISTEN/NOTIFY plus a safety net.

:class:`CameraWatch` holds one pooled connection that ``LISTEN``s on ``vigil_cameras``
(migration 0002's trigger on ``cameras`` notifies every committed change) and calls the
owner's ``reload(conn)``:

* after a notification, with a short debounce so that a burst of changes costs one reload;
* every ``refresh_s`` seconds, as a safety net;
* each time the listening connection is (re)established, since notifications sent while it
  was away are lost.

If the connection drops it reconnects with jittered backoff; the owner keeps serving its last
known state meanwhile. ``reload`` loads whatever columns its owner needs (each service role
may read different ones).

:class:`WatchedRegistry` is the base of such owners (the ingest's camera registry, the
analyzer's zone registry, the optimizer's camera directory, the alerter's maintenance
registry): a subclass defines
``_reload(conn)`` and gets ``start``/``close``/``refresh``/``listening`` from its watch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from vigil_runtime.backoff import Backoff
from vigil_runtime.db import is_transient_error
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.tasks import wait_event

__all__ = ["CHANNEL", "CameraWatch", "Reload", "WatchedRegistry"]

CHANNEL = "vigil_cameras"
"""The NOTIFY channel of migration 0002's ``cameras`` trigger (payload: the camera id)."""

Reload = Callable[[Any], Awaitable[None]]
"""Reload the owner's copy through the given asyncpg connection."""

_log = get_logger(__name__)


class CameraWatch:
    """Calls ``reload(conn)`` at start, on change notifications and every ``refresh_s``."""

    def __init__(
        self,
        pool: Any,
        reload: Reload,
        *,
        refresh_s: float = 60.0,
        debounce_s: float = 0.05,
        name: str = "camera-watch",
    ) -> None:
        self._pool = pool
        self._reload = reload
        self._refresh_s = refresh_s
        self._debounce_s = debounce_s
        self._name = name
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listening = False
        self._warn = RateLimitedLogger(_log, interval_s=30.0)

    @property
    def listening(self) -> bool:
        """Whether change notifications are currently being received."""
        return self._listening

    async def start(self) -> None:
        """Load once (raises if PostgreSQL is unreachable), then keep watching."""
        await self.refresh()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

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

    async def _run(self) -> None:
        backoff = Backoff(initial=0.2, maximum=10.0)
        while True:
            try:
                await self._listen(backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_transient_error(exc):
                    _log.exception("camera_watch_failed", watch=self._name)
                self._warn.warning("camera change listener lost, reconnecting", key="listen",
                                   watch=self._name, error=repr(exc))  # fmt: skip
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
        raise ConnectionError("camera change listener connection closed")

    async def _wait_for_change(self) -> None:
        """Return after a notification (debounced) or after ``refresh_s``."""
        if await wait_event(self._changed, self._refresh_s):
            await asyncio.sleep(self._debounce_s)
        self._changed.clear()


class WatchedRegistry:
    """An in-memory copy of some camera columns kept fresh by a :class:`CameraWatch`.

    Subclasses set their state up before calling ``super().__init__`` and implement
    :meth:`_reload`; the lifecycle methods are the watch's."""

    def __init__(
        self, pool: Any, *, refresh_s: float = 60.0, debounce_s: float = 0.05, name: str
    ) -> None:
        self._watch = CameraWatch(
            pool, self._reload, refresh_s=refresh_s, debounce_s=debounce_s, name=name
        )

    @property
    def listening(self) -> bool:
        """Whether change notifications are currently being received."""
        return self._watch.listening

    async def start(self) -> None:
        """Load once (raises if PostgreSQL is unreachable), then keep watching."""
        await self._watch.start()

    async def close(self) -> None:
        """Stop watching."""
        await self._watch.close()

    async def refresh(self) -> None:
        """Reload now through a pooled connection."""
        await self._watch.refresh()

    async def _reload(self, conn: Any) -> None:
        raise NotImplementedError
