"""onvif_sim's fault injection through its HTTP control API (``/sim/<camera>/...``), met
by onvif-zeep-async: a refused Set, a partial apply across two Sets, silently dropped
fields, a hanging camera; plus the state endpoint and clear errors for bad control input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import zeep.exceptions
from onvif import ONVIFCamera  # type: ignore[import-untyped]

from vigil_tools.onvif_sim import CameraHandle, CameraSpec, running_onvif_sim


@pytest.fixture
async def camera() -> AsyncIterator[tuple[CameraHandle, ONVIFCamera]]:
    async with running_onvif_sim(CameraSpec("f1", vendor="hikvision")) as sim:
        cam = sim.cameras[0]
        onvif = ONVIFCamera(cam.host, cam.port, cam.username, cam.password)
        await onvif.update_xaddrs()
        try:
            yield cam, onvif
        finally:
            await onvif.close()


async def control(cam: CameraHandle, path: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        url = f"{cam.base_url}/sim/{cam.name}/{path}"
        request = session.get(url) if body is None else session.post(url, json=body)
        async with request as response:
            return response.status, await response.json()


async def encoder_set(onvif: ONVIFCamera, bitrate: int) -> None:
    media = await onvif.create_media_service()
    config = (await media.GetVideoEncoderConfigurations())[0]
    config.RateControl.BitrateLimit = bitrate
    await media.SetVideoEncoderConfiguration({"Configuration": config, "ForcePersistence": True})


async def imaging_set(onvif: ONVIFCamera, brightness: float) -> None:
    imaging = await onvif.create_imaging_service()
    settings = await imaging.GetImagingSettings({"VideoSourceToken": "VideoSource_1"})
    settings.Brightness = brightness
    settings.Sharpness = 70
    await imaging.SetImagingSettings(
        {"VideoSourceToken": "VideoSource_1", "ImagingSettings": settings}
    )


async def test_refused_set_changes_nothing_then_sets_work_again(
    camera: tuple[CameraHandle, ONVIFCamera],
) -> None:
    cam, onvif = camera
    status, faults = await control(cam, "faults", {"refuse_sets": 1})
    assert status == 200
    assert faults["refuse_sets"] == 1
    with pytest.raises(zeep.exceptions.Fault, match="injected: set refused"):
        await encoder_set(onvif, 3000)
    _, state = await control(cam, "state")
    assert state["encoders"]["VideoEncoderToken_1"]["bitrate_limit"] == 4096
    await encoder_set(onvif, 3000)
    _, state = await control(cam, "state")
    assert state["encoders"]["VideoEncoderToken_1"]["bitrate_limit"] == 3000


async def test_partial_apply_fails_imaging_after_the_encoder(
    camera: tuple[CameraHandle, ONVIFCamera],
) -> None:
    cam, onvif = camera
    await control(cam, "faults", {"fail_imaging_after_encoder": True})
    await imaging_set(onvif, 60)  # no encoder Set yet: applies
    await encoder_set(onvif, 2500)
    with pytest.raises(zeep.exceptions.Fault, match="injected: imaging apply failed"):
        await imaging_set(onvif, 70)
    state = cam.state
    assert state["encoders"]["VideoEncoderToken_1"]["bitrate_limit"] == 2500
    assert state["imaging"]["Brightness"] == 60
    await imaging_set(onvif, 70)  # disarmed after one failure
    assert cam.state["imaging"]["Brightness"] == 70


async def test_dropped_fields_answer_success_but_keep_old_values(
    camera: tuple[CameraHandle, ONVIFCamera],
) -> None:
    cam, onvif = camera
    cam.set_faults(drop_fields=["Brightness"])  # the in-process control API
    await imaging_set(onvif, 90)
    assert cam.state["imaging"]["Brightness"] == 50  # the captured value
    assert cam.state["imaging"]["Sharpness"] == 70
    await control(cam, "faults", {"drop_fields": ["bitrate_limit"]})
    await encoder_set(onvif, 1234)
    assert cam.state["encoders"]["VideoEncoderToken_1"]["bitrate_limit"] == 4096


async def test_delay_makes_the_camera_time_out_and_latency_is_added(
    camera: tuple[CameraHandle, ONVIFCamera],
) -> None:
    cam, onvif = camera
    device = await onvif.create_devicemgmt_service()
    await control(cam, "faults", {"delay_s": 5})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(device.GetDeviceInformation(), timeout=0.3)
    await control(cam, "faults", {"delay_s": 0, "latency_ms": 150})
    loop = asyncio.get_running_loop()
    started = loop.time()
    await device.GetDeviceInformation()
    assert 0.15 <= loop.time() - started < 2.0
    await control(cam, "faults", {"reset": True})
    assert cam.state["faults"]["latency_ms"] == 150  # reset keeps the configured latency


async def test_control_api_rejects_bad_input(camera: tuple[CameraHandle, ONVIFCamera]) -> None:
    cam, _ = camera
    assert (await control(cam, "faults", {"refuse_sets": -1}))[0] == 400
    status, error = await control(cam, "faults", {"explode": True})
    assert status == 400
    assert "explode" in error["error"]
    assert (await control(cam, "faults", [1, 2]))[0] == 400
    assert (await control(cam, "scene", {"darkness": 2}))[0] == 400
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{cam.base_url}/sim/nobody/state") as response:
            assert response.status == 404
        async with session.post(f"{cam.base_url}/sim/{cam.name}/faults", data=b"{") as bad:
            assert bad.status == 400
    status, scene = await control(cam, "scene", {"darkness": 0.5, "noise": 4})
    assert status == 200
    assert scene == {"darkness": 0.5, "noise": 4.0, "blur": 0.0}
    with pytest.raises(ValueError, match="drop_fields"):
        cam.set_faults(drop_fields="Brightness")
