"""The aiohttp application of one simulated camera.

``POST /onvif/{path}``: SOAP 1.2 (:mod:`dispatch`), ``application/soap+xml`` answers.
``GET <snapshot path>`` (``/onvif/snapshot`` for Hikvision, ``/onvif-cgi/jpg/image.cgi`` for
Axis, the captured URIs): the current JPEG (:mod:`picture`), behind HTTP Digest (and Basic
when the camera allows it); 401 with a challenge otherwise. The control API
(:mod:`control`) is mounted too, for every camera of the fleet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web

from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.control import add_control_routes
from vigil_tools.onvif_sim.dispatch import answer
from vigil_tools.onvif_sim.httpauth import HttpAuth
from vigil_tools.onvif_sim.picture import snapshot_jpeg

__all__ = ["build_app"]

_SOAP = "application/soap+xml"


def build_app(cam: SimCamera, fleet: Mapping[str, SimCamera]) -> web.Application:
    """The application serving ``cam`` (and the control API for ``fleet``)."""
    app = web.Application(client_max_size=512 * 1024)
    realm = f"{cam.state.device.manufacturer} {cam.state.device.model}"
    auth = HttpAuth(cam.spec.username, cam.spec.password, realm, cam.spec.snapshot_basic_auth)

    async def soap(request: web.Request) -> web.Response:
        status, body = await answer(cam, await request.read())
        return web.Response(status=status, body=body, content_type=_SOAP, charset="utf-8")

    async def snapshot(request: web.Request) -> web.Response:
        if not auth.check(request.method, request.path, request.headers.get("Authorization")):
            headers = {"WWW-Authenticate": auth.challenge()}
            return web.Response(status=401, text="401 Unauthorized", headers=headers)
        jpeg = await asyncio.get_running_loop().run_in_executor(None, snapshot_jpeg, cam)
        return web.Response(body=jpeg, content_type="image/jpeg")

    app.router.add_post("/onvif/{path:.*}", soap)
    app.router.add_get(cam.vendor.snapshot_path, snapshot)
    add_control_routes(app, fleet)
    return app
