"""onvif_sim's snapshots: a real photograph behind HTTP Digest (Basic only when allowed),
fetched by onvif-zeep-async's get_snapshot; darker with scene darkness, brighter when the
imaging settings let in more light, noisier with gain."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import pytest
from onvif import ONVIFCamera  # type: ignore[import-untyped]
from PIL import Image

from vigil_tools.onvif_sim import CameraHandle, CameraSpec, running_onvif_sim


def grey(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=np.float32)


def noise_sigma(pixels: np.ndarray) -> float:
    """Immerkaer's fast noise estimate (grey levels): the mean absolute response to a
    Laplacian-difference mask, which cancels smooth image content."""
    p = pixels
    response = (
        p[:-2, :-2]
        - 2 * p[:-2, 1:-1]
        + p[:-2, 2:]
        - 2 * p[1:-1, :-2]
        + 4 * p[1:-1, 1:-1]
        - 2 * p[1:-1, 2:]
        + p[2:, :-2]
        - 2 * p[2:, 1:-1]
        + p[2:, 2:]
    )
    return float(np.sqrt(np.pi / 2) * np.abs(response).mean() / 6)


@pytest.fixture
async def client() -> AsyncIterator[tuple[CameraHandle, ONVIFCamera]]:
    async with running_onvif_sim(CameraSpec("snap", vendor="hikvision")) as sim:
        cam = sim.cameras[0]
        onvif = ONVIFCamera(cam.host, cam.port, cam.username, cam.password)
        await onvif.update_xaddrs()
        try:
            yield cam, onvif
        finally:
            await onvif.close()


async def snapshot(onvif: ONVIFCamera) -> np.ndarray:
    jpeg = await onvif.get_snapshot("Profile_1")
    assert jpeg is not None
    assert jpeg[:2] == b"\xff\xd8"
    onvif._snapshot_uris.clear()  # the URI is cached; the picture is not
    return grey(jpeg)


async def test_snapshot_needs_digest_auth(client: tuple[CameraHandle, ONVIFCamera]) -> None:
    cam, onvif = client
    pixels = await snapshot(onvif)  # aiohttp's DigestAuthMiddleware, as the library does it
    assert pixels.shape == (720, 1280)  # the first profile's encoder resolution
    url = f"{cam.base_url}/onvif/snapshot"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as anonymous:
            assert anonymous.status == 401
            assert anonymous.headers["WWW-Authenticate"].startswith("Digest ")
        basic = {"Authorization": aiohttp.encode_basic_auth(cam.username, cam.password)}
        async with session.get(url, headers=basic) as refused:
            assert refused.status == 401
        wrong = aiohttp.DigestAuthMiddleware(cam.username, "wrong")
        async with session.get(url, middlewares=(wrong,)) as refused:
            assert refused.status == 401


async def test_basic_auth_when_allowed() -> None:
    async with running_onvif_sim(CameraSpec("b", vendor="axis", snapshot_basic_auth=True)) as sim:
        cam = sim.cameras[0]
        async with aiohttp.ClientSession() as session:
            basic = {"Authorization": aiohttp.encode_basic_auth(cam.username, cam.password)}
            url = f"{cam.base_url}/onvif-cgi/jpg/image.cgi?resolution=1280x720"
            async with session.get(url, headers=basic) as response:
                assert response.status == 200
                assert (await response.read())[:2] == b"\xff\xd8"


async def test_darkness_and_imaging_settings_move_the_picture(
    client: tuple[CameraHandle, ONVIFCamera],
) -> None:
    cam, onvif = client
    bright = (await snapshot(onvif)).mean()
    cam.set_scene(darkness=0.8)
    dark = await snapshot(onvif)
    assert dark.mean() < bright * 0.6
    imaging = await onvif.create_imaging_service()
    settings = await imaging.GetImagingSettings({"VideoSourceToken": "VideoSource_1"})
    settings.Exposure.MaxExposureTime = 40000  # longer shutter: more light
    await imaging.SetImagingSettings(
        {"VideoSourceToken": "VideoSource_1", "ImagingSettings": settings}
    )
    longer = await snapshot(onvif)
    assert longer.mean() > dark.mean() * 1.5
    settings.Brightness = 80
    await imaging.SetImagingSettings(
        {"VideoSourceToken": "VideoSource_1", "ImagingSettings": settings}
    )
    brighter = await snapshot(onvif)
    assert brighter.mean() > longer.mean() * 1.1
    before = cam.state["picture"]["noise"]
    settings.Brightness = 50
    settings.Exposure.MaxExposureTime = 16666
    settings.Exposure.MaxGain = 100  # the camera fills the missing light with gain
    await imaging.SetImagingSettings(
        {"VideoSourceToken": "VideoSource_1", "ImagingSettings": settings}
    )
    gained = await snapshot(onvif)
    assert cam.state["picture"]["noise"] > before + 3
    assert noise_sigma(gained) > noise_sigma(longer) * 1.5  # similar brightness, no gain
