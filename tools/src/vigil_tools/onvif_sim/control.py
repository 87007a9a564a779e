"""The control API, served on every camera's port for every camera of the fleet (JSON):

* ``GET  /sim/<camera>/state``: device, encoder configurations, imaging settings, scene,
  effective picture degradation, faults, clock skew and offered services;
* ``POST /sim/<camera>/faults``: change faults (:meth:`faults.Faults.update` fields);
* ``POST /sim/<camera>/scene``: change ``darkness``/``noise``/``blur`` of the scene;
* ``GET  /sim/cameras``: every camera's name, vendor, host and port.

Bad input answers 400 with ``{"error": ...}``; an unknown camera 404. No authentication:
the simulator is a test tool and listens on localhost unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from aiohttp import web

from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.onvif_sim.picture import effective

__all__ = ["add_control_routes", "camera_json", "update_scene"]


def camera_json(cam: SimCamera) -> dict[str, Any]:
    """The state a test reads back."""
    return {
        "name": cam.name,
        "vendor": cam.spec.vendor,
        "host": cam.host,
        "port": cam.port,
        "skew_s": cam.spec.skew_s,
        "services": {
            "imaging": cam.spec.imaging,
            "media2": cam.spec.offers_media2,
            "encoder_options": cam.spec.encoder_options,
        },
        "scene": asdict(cam.scene),
        "picture": asdict(effective(cam)),
        "faults": cam.faults.as_json(),
        **cam.state.as_json(),
    }


def update_scene(cam: SimCamera, data: Mapping[str, Any]) -> None:
    """Apply ``darkness``/``noise``/``blur`` from ``data`` (ValueError when invalid)."""
    unknown = set(data) - {"darkness", "noise", "blur"}
    if unknown:
        raise ValueError(f"unknown scene settings {sorted(unknown)}")
    values = {k: data[k] for k in data}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"{key} must be a non-negative number")
    if values.get("darkness", 0) > 1:
        raise ValueError("darkness must lie in [0, 1]")
    for key, value in values.items():
        setattr(cam.scene, key, float(value))


def add_control_routes(app: web.Application, cameras: Mapping[str, SimCamera]) -> None:
    """Serve the control API for ``cameras`` on ``app``."""

    def lookup(request: web.Request) -> SimCamera:
        cam = cameras.get(request.match_info["camera"])
        if cam is None:
            raise web.HTTPNotFound(
                text='{"error": "unknown camera"}', content_type="application/json"
            )
        return cam

    async def body(request: web.Request) -> Mapping[str, Any]:
        try:
            data = await request.json()
        except ValueError as exc:
            raise _bad(f"body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise _bad("body must be a JSON object")
        return data

    async def state(request: web.Request) -> web.Response:
        return web.json_response(camera_json(lookup(request)))

    async def faults(request: web.Request) -> web.Response:
        cam = lookup(request)
        try:
            cam.faults.update(await body(request))
        except ValueError as exc:
            raise _bad(str(exc)) from exc
        return web.json_response(cam.faults.as_json())

    async def scene(request: web.Request) -> web.Response:
        cam = lookup(request)
        try:
            update_scene(cam, await body(request))
        except ValueError as exc:
            raise _bad(str(exc)) from exc
        return web.json_response(asdict(cam.scene))

    async def listing(request: web.Request) -> web.Response:
        return web.json_response([
            {"name": c.name, "vendor": c.spec.vendor, "host": c.host, "port": c.port}
            for c in cameras.values()
        ])  # fmt: skip

    app.router.add_get("/sim/cameras", listing)
    app.router.add_get("/sim/{camera}/state", state)
    app.router.add_post("/sim/{camera}/faults", faults)
    app.router.add_post("/sim/{camera}/scene", scene)


def _bad(message: str) -> web.HTTPBadRequest:
    import json

    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")
