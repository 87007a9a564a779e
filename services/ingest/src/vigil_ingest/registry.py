"""The camera registry cache: which cameras exist, their state, and the tables' age limits.

Every message is checked against the registry (unknown camera → rejected, never inserted
against a camera that does not exist), so :meth:`CameraRegistry.get` is a dict lookup. The
cache is reloaded whole (cameras are a few hundred rows at most):

* when ``NOTIFY vigil_cameras`` arrives (migration 0002's trigger on ``cameras``), after a
  short debounce so that a burst of changes costs one reload;
* every ``refresh_s`` seconds, as a safety net;
* each time the listening connection is (re)established, since notifications sent while it
  was away are lost.

The listening itself is the runtime's :class:`vigil_runtime.camera_watch.CameraWatch` (one
pooled connection; if it drops, it reconnects with backoff and the cache keeps serving the
last known state meanwhile).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from vigil_ingest.metrics import CAMERAS_KNOWN
from vigil_runtime.camera_watch import CHANNEL, WatchedRegistry
from vigil_schema.enums import DesiredState

__all__ = ["CHANNEL", "CameraInfo", "CameraRegistry"]


_CAMERAS_SQL = "SELECT id, desired_state, health_interval_s FROM cameras"
_RETENTION_SQL = "SELECT table_name, retention_days FROM retention_policies"


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


class CameraRegistry(WatchedRegistry):
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
        self._on_removed = on_removed
        self._cameras: dict[str, CameraInfo] = {}
        self._retention: dict[str, timedelta] = {}
        super().__init__(pool, refresh_s=refresh_s, debounce_s=debounce_s, name="camera-registry")

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

    # -- lifecycle ---------------------------------------------------------------------

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
