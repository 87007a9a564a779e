"""Which cameras are in maintenance: a live copy of ``cameras.desired_state``.

A camera is in maintenance when its ``cameras.desired_state`` is ``maintenance``
(:class:`vigil_schema.enums.DesiredState`; the operator sets it with the CLI). That column is
the one that means maintenance: ``cameras.maintenance_window`` is unrelated (when the
optimizer may apply changes), and the observed connectivity (online/offline) lives in Redis
and ``health_logs``, not in ``cameras``. Rules never fire on a camera in maintenance; a
camera the table does not know is not in maintenance (its detections come from a camera the
analyzer knows, so it exists, or arrived before the registry's next reload).

:class:`MaintenanceRegistry` keeps the ids fresh through the runtime's
:class:`~vigil_runtime.camera_watch.CameraWatch` (LISTEN ``vigil_cameras``, a periodic
safety-net reload), reading only ``id`` and ``desired_state`` (the alerter's role may read
the cameras table without its credentials).
"""

from __future__ import annotations

from typing import Any, Protocol

from vigil_runtime.camera_watch import WatchedRegistry
from vigil_schema.enums import DesiredState

__all__ = ["MaintenanceRegistry", "MaintenanceView"]

_SQL = "SELECT id FROM cameras WHERE desired_state = $1"


class MaintenanceView(Protocol):
    """Answers whether a camera is in maintenance (what the rule evaluator reads)."""

    def in_maintenance(self, camera_id: str) -> bool: ...


class MaintenanceRegistry(WatchedRegistry):
    """The ids of the cameras in maintenance, kept fresh by LISTEN/NOTIFY and polling."""

    def __init__(self, pool: Any, *, refresh_s: float = 60.0, debounce_s: float = 0.05) -> None:
        self._ids: frozenset[str] = frozenset()
        super().__init__(
            pool, refresh_s=refresh_s, debounce_s=debounce_s, name="alerter-maintenance"
        )

    def in_maintenance(self, camera_id: str) -> bool:
        """Whether the camera's ``desired_state`` is ``maintenance`` (as last loaded)."""
        return camera_id in self._ids

    @property
    def camera_ids(self) -> frozenset[str]:
        """The cameras in maintenance, as last loaded."""
        return self._ids

    async def _reload(self, conn: Any) -> None:
        rows = await conn.fetch(_SQL, DesiredState.MAINTENANCE.value)
        self._ids = frozenset(row["id"] for row in rows)
