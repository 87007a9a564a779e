"""The reviewable cameras: active, with an ONVIF address (``cameras.ip`` set).

:func:`reviewable_cameras` reads them (id, site, and the main profile's frame rate limit from
the stored capabilities, the reference of the health trigger's frame-rate check).
:class:`CameraDirectory` keeps that list in memory, fresh through
:class:`vigil_runtime.camera_watch.CameraWatch` (LISTEN/NOTIFY plus a periodic reload), for
the per-entry lookups of the triggers; :meth:`CameraDirectory.site_of` is the scheduler's
``site_of``. The optimizer's database role may read ``cameras``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from vigil_runtime.camera_watch import WatchedRegistry

__all__ = ["REVIEWABLE_SQL", "CameraDirectory", "CameraRef", "reviewable_cameras"]

REVIEWABLE_SQL: Final = """
SELECT id, site,
       CASE WHEN jsonb_typeof(capabilities -> 'profiles' -> 0 -> 'fps') = 'number'
            THEN (capabilities -> 'profiles' -> 0 ->> 'fps')::float8 END AS expected_fps
FROM cameras
WHERE desired_state = 'active' AND ip IS NOT NULL AND credentials_encrypted IS NOT NULL
ORDER BY id
"""


@dataclass(frozen=True, slots=True)
class CameraRef:
    """What the triggers need to know about a reviewable camera."""

    id: str
    site: str | None
    expected_fps: float | None
    """The main profile's frame rate limit (``capabilities.profiles[0].fps``), if inspected."""


async def reviewable_cameras(conn: Any) -> list[CameraRef]:
    """The reviewable cameras, by id, through an asyncpg connection or pool."""
    rows = await conn.fetch(REVIEWABLE_SQL)
    return [
        CameraRef(row["id"], row["site"], row["expected_fps"] if row["expected_fps"] else None)
        for row in rows
    ]


class CameraDirectory(WatchedRegistry):
    """The reviewable cameras by id, kept fresh from PostgreSQL (see the module docstring)."""

    def __init__(self, pool: Any, *, refresh_s: float = 60.0) -> None:
        self._cameras: dict[str, CameraRef] = {}
        super().__init__(pool, refresh_s=refresh_s, name="optimizer-cameras")

    async def _reload(self, conn: Any) -> None:
        self._cameras = {camera.id: camera for camera in await reviewable_cameras(conn)}

    def get(self, camera_id: str) -> CameraRef | None:
        """The camera, or ``None`` when it is not reviewable (unknown, inactive, no ONVIF)."""
        return self._cameras.get(camera_id)

    def site_of(self, camera_id: str) -> str | None:
        """The camera's site (``None``: none, or not reviewable)."""
        camera = self._cameras.get(camera_id)
        return camera.site if camera is not None else None

    def __len__(self) -> int:
        return len(self._cameras)
