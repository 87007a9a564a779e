"""In-process simulated cameras for tests.

    async with running_onvif_sim(CameraSpec("cam", vendor="axis", skew_s=30)) as sim:
        cam = sim.cameras[0]
        onvif = ONVIFCamera(cam.host, cam.port, cam.username, cam.password, adjust_time=True)
        cam.set_faults(refuse_sets=1)       # the control API, in process
        cam.set_scene(darkness=0.8)
        cam.state["imaging"]["Brightness"]  # what GET /sim/<camera>/state returns

Every camera gets a free port unless its spec names one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.control import camera_json, update_scene
from vigil_tools.onvif_sim.fleet import Fleet
from vigil_tools.onvif_sim.spec import CameraSpec

__all__ = ["CameraHandle", "OnvifSim", "running_onvif_sim"]


@dataclass
class CameraHandle:
    """One running simulated camera, as a test sees it."""

    camera: SimCamera

    @property
    def name(self) -> str:
        """Its name (control API path)."""
        return self.camera.name

    @property
    def host(self) -> str:
        """Its address."""
        return self.camera.host

    @property
    def port(self) -> int:
        """Its port (SOAP, snapshot and control API)."""
        return self.camera.port

    @property
    def username(self) -> str:
        """The user it accepts."""
        return self.camera.spec.username

    @property
    def password(self) -> str:
        """The password it accepts."""
        return self.camera.spec.password

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def state(self) -> dict[str, Any]:
        """What ``GET /sim/<camera>/state`` returns."""
        return camera_json(self.camera)

    def set_faults(self, **faults: Any) -> None:
        """What ``POST /sim/<camera>/faults`` does (ValueError when invalid)."""
        self.camera.faults.update(faults)

    def set_scene(self, **scene: float) -> None:
        """What ``POST /sim/<camera>/scene`` does (ValueError when invalid)."""
        update_scene(self.camera, scene)


@dataclass
class OnvifSim:
    """The running fleet."""

    fleet: Fleet
    cameras: list[CameraHandle]

    def camera(self, name: str) -> CameraHandle:
        """The camera named ``name``."""
        return next(c for c in self.cameras if c.name == name)


@asynccontextmanager
async def running_onvif_sim(*specs: CameraSpec) -> AsyncIterator[OnvifSim]:
    """Start ``specs`` (default: one Hikvision camera) on free local ports."""
    fleet = Fleet(specs or (CameraSpec("onvif-0"),))
    await fleet.start()
    try:
        yield OnvifSim(fleet, [CameraHandle(c) for c in fleet.cameras.values()])
    finally:
        await fleet.stop()
