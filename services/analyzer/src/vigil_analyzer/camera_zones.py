"""The analyzer's copy of the cameras it may see: desired state, site and zones.

:class:`ZoneRegistry` loads ``id, desired_state, site, zone_config`` from ``cameras`` and keeps
them fresh through :class:`vigil_runtime.camera_watch.CameraWatch` (NOTIFY on every change,
plus a periodic reload). Each camera's :class:`CameraZones` carries a ``version`` that grows
whenever its zones change, so the per-camera analysis state swaps its zones on the next frame
(zones that keep their name keep their counts). A ``zone_config`` that does not validate
(edited by hand in SQL) is logged once per camera and version and treated as no zones: the
camera is still analysed, never crashed on. Cameras in ``maintenance`` are analysed but raise
no alert candidates (the alerter would drop them anyway; this saves the traffic).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from vigil_runtime.camera_watch import WatchedRegistry
from vigil_runtime.logging import get_logger
from vigil_schema.camera import ZoneConfig
from vigil_schema.enums import DesiredState

__all__ = ["CameraZones", "ZoneRegistry"]

_SQL = "SELECT id, desired_state, site, zone_config FROM cameras"
_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CameraZones:
    """One registered camera as the analyzer sees it."""

    camera_id: str
    desired_state: DesiredState
    site: str | None
    zones: ZoneConfig
    version: int

    @property
    def alerts_muted(self) -> bool:
        """Cameras in maintenance (or disabled) raise no alert candidates."""
        return self.desired_state in (DesiredState.MAINTENANCE, DesiredState.DISABLED)


def parse_zones(camera_id: str, raw: Any) -> ZoneConfig:
    """``cameras.zone_config`` as a :class:`ZoneConfig`; an invalid one is logged, no zones."""
    if raw is None:
        return ZoneConfig()
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else raw
        return ZoneConfig.model_validate(value)
    except (ValueError, ValidationError) as exc:
        _log.warning("zone_config_invalid", camera_id=camera_id, error=str(exc)[:500])
        return ZoneConfig()


class ZoneRegistry(WatchedRegistry):
    """In-memory ``camera id → CameraZones``, kept fresh by LISTEN/NOTIFY."""

    def __init__(self, pool: Any, *, refresh_s: float = 60.0) -> None:
        self._cameras: dict[str, CameraZones] = {}
        super().__init__(pool, refresh_s=refresh_s, name="zone-registry")

    def get(self, camera_id: str) -> CameraZones | None:
        """The camera, or ``None`` if it is not registered (its frames are still analysed)."""
        return self._cameras.get(camera_id)

    async def _reload(self, conn: Any) -> None:
        rows = await conn.fetch(_SQL)
        cameras: dict[str, CameraZones] = {}
        for row in rows:
            camera_id = row["id"]
            zones = parse_zones(camera_id, row["zone_config"])
            state = DesiredState(row["desired_state"])
            old = self._cameras.get(camera_id)
            version = 0 if old is None else old.version + (old.zones != zones)
            cameras[camera_id] = CameraZones(camera_id, state, row["site"], zones, version)
        self._cameras = cameras
