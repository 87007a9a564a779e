"""Many simulated cameras in one process, one aiohttp site (port) per camera.

:func:`fleet_specs` lays out ``count`` cameras: camera ``i`` is named ``onvif-<i>`` and
listens on ``base_port + i`` (``base_port=0``: free ports chosen by the OS); the vendor is
fixed or alternates (``mixed``: even Hikvision, odd Axis). :class:`Fleet` starts and stops
them. Captures are parsed once per vendor and answers are cached per camera, so hundreds
of cameras fit in one process (each costs one listening socket and its state).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from vigil_tools.onvif_sim.app import build_app
from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.spec import CameraSpec

__all__ = ["Fleet", "fleet_specs"]


def fleet_specs(count: int, base_port: int, vendor: str, template: CameraSpec) -> list[CameraSpec]:
    """``count`` specs like ``template`` (see the module docstring)."""
    if count < 1:
        raise ValueError("at least one camera")
    if vendor not in ("axis", "hikvision", "mixed"):
        raise ValueError(f"vendor must be axis, hikvision or mixed, not {vendor!r}")
    specs = []
    for i in range(count):
        chosen = vendor if vendor != "mixed" else ("hikvision" if i % 2 == 0 else "axis")
        port = base_port + i if base_port else 0
        specs.append(dataclasses.replace(template, name=f"onvif-{i}", vendor=chosen, port=port))
    return specs


def _bound_port(site: web.TCPSite) -> int:
    """The port the OS gave a site started on port 0."""
    server: Any = site._server
    return int(server.sockets[0].getsockname()[1])


class Fleet:
    """Running cameras: ``cameras`` by name, in start order."""

    def __init__(self, specs: Iterable[CameraSpec], bind: str = "127.0.0.1") -> None:
        self.cameras: dict[str, SimCamera] = {}
        for spec in specs:
            if spec.name in self.cameras:
                raise ValueError(f"two cameras named {spec.name!r}")
            self.cameras[spec.name] = SimCamera(spec)
        self.bind = bind
        self._runners: list[web.AppRunner] = []

    async def start(self) -> None:
        """Listen on every camera's port (the OS picks one where the spec says 0)."""
        try:
            for cam in self.cameras.values():
                runner = web.AppRunner(
                    build_app(cam, self.cameras), access_log=None, shutdown_timeout=1.0
                )
                await runner.setup()
                self._runners.append(runner)
                site = web.TCPSite(runner, self.bind, cam.spec.port, backlog=128)
                await site.start()
                if cam.spec.port == 0:
                    cam.port = _bound_port(site)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close every site."""
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
