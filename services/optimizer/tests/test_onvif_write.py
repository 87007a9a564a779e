"""Writing settings over ONVIF: what the client sends, read from the requests the double got.

A write starts from the camera's current configuration (the captured one for Media 1, the
tests' Media 2 / imaging answers otherwise) and changes only the fields set; the assertions
read the SOAP request bodies the double received, so they check the real serialization.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from vigil_optimizer.camera_link import CameraError
from vigil_optimizer.onvif import OnvifCameraLink
from vigil_schema.camera_settings import (
    CameraSettings,
    ExposureSettings,
    ImageSettings,
    LowLightSettings,
    Resolution,
    StreamSettings,
)

from .onvif_answers import MEDIA1_OPTIONS, MEDIA1_SET, full_camera_answers, single_configuration
from .onvif_double import FIXTURES, CameraDouble

TT = "{http://www.onvif.org/ver10/schema}"


def value(body: etree._Element, path: str) -> str | None:
    """Text at a ``/``-separated path of tt: elements below the request body."""
    found = body.find("/".join(f".//{TT}{name}" if i == 0 else f"{TT}{name}"
                               for i, name in enumerate(path.split("/"))))  # fmt: skip
    return None if found is None else str(found.text)


async def started(camera: CameraDouble) -> AsyncIterator[CameraDouble]:
    await camera.start()
    yield camera
    await camera.stop()


@pytest.fixture
async def hikvision_media1() -> AsyncIterator[CameraDouble]:
    folder = FIXTURES / "hikvision"
    answers = {
        "media:GetVideoEncoderConfiguration": single_configuration(folder, "VideoEncoderToken_1"),
        "media:GetVideoEncoderConfigurationOptions": MEDIA1_OPTIONS,
        "media:SetVideoEncoderConfiguration": MEDIA1_SET,
    }
    async for camera in started(CameraDouble(folder, answers=answers)):
        yield camera


@pytest.fixture
async def axis_media1() -> AsyncIterator[CameraDouble]:
    folder = FIXTURES / "axis"
    answers = {
        "media:GetVideoEncoderConfiguration": single_configuration(folder, "default_1_h264"),
        "media:SetVideoEncoderConfiguration": MEDIA1_SET,
    }
    async for camera in started(CameraDouble(folder, answers=answers)):
        yield camera


@pytest.fixture
async def full_camera() -> AsyncIterator[CameraDouble]:
    folder = FIXTURES / "hikvision"
    async for camera in started(CameraDouble(folder, answers=full_camera_answers(folder))):
        yield camera


def link_to(camera: CameraDouble) -> Any:
    return OnvifCameraLink.connect(
        "127.0.0.1", camera.port, camera.user, camera.password, timeout_s=5
    )


async def test_media1_stream_write_changes_only_the_set_fields(
    hikvision_media1: CameraDouble,
) -> None:
    async with link_to(hikvision_media1) as link:
        inspection = await link.inspect()
        main = inspection.capabilities.profiles[0]
        assert main.options is not None
        assert main.options.bitrate_kbps is not None
        assert main.options.bitrate_kbps.max == 16384
        change = StreamSettings(
            bitrate_kbps=2048, gop=20, resolution=Resolution(width=704, height=480)
        )
        await link.write_settings("stream", CameraSettings(stream=change))
    body = hikvision_media1.body_of("SetVideoEncoderConfiguration")
    configuration = body.find("{http://www.onvif.org/ver10/media/wsdl}Configuration")
    assert configuration.get("token") == "VideoEncoderToken_1"
    assert value(body, "BitrateLimit") == "2048"
    assert value(body, "H264/GovLength") == "20"
    assert (value(body, "Width"), value(body, "Height")) == ("704", "480")
    # unchanged, as the camera had them
    assert value(body, "FrameRateLimit") == "10"
    assert value(body, "H264Profile") == "Baseline"
    assert float(value(body, "Quality") or "nan") == 4.0
    assert value(body, "Multicast/Port") == "8600"
    assert body.findtext("{http://www.onvif.org/ver10/media/wsdl}ForcePersistence") == "true"


async def test_axis_quirk_writes_encoding_interval_one(axis_media1: CameraDouble) -> None:
    async with link_to(axis_media1) as link:
        await link.inspect()
        assert link.quirks.vendor == "axis"
        await link.write_settings("stream", CameraSettings(stream=StreamSettings(fps=15)))
    body = axis_media1.body_of("SetVideoEncoderConfiguration")
    assert value(body, "FrameRateLimit") == "15"
    assert value(body, "EncodingInterval") == "1"  # the capture says 0
    assert value(body, "H264/GovLength") == "32"


async def test_media1_refuses_h265(hikvision_media1: CameraDouble) -> None:
    async with link_to(hikvision_media1) as link:
        with pytest.raises(CameraError) as raised:
            await link.write_settings(
                "stream", CameraSettings(stream=StreamSettings(encoding="H265"))
            )
    assert raised.value.kind == "unsupported"
    assert "SetVideoEncoderConfiguration" not in hikvision_media1.operations()


async def test_imaging_write_on_a_camera_without_imaging(hikvision_media1: CameraDouble) -> None:
    async with link_to(hikvision_media1) as link:
        with pytest.raises(CameraError) as raised:
            await link.write_settings("image", CameraSettings(image=ImageSettings(brightness=60)))
    assert (raised.value.operation, raised.value.kind) == ("SetImagingSettings", "unsupported")


async def test_media2_stream_write(full_camera: CameraDouble) -> None:
    async with link_to(full_camera) as link:
        change = StreamSettings(profile_token="Profile_1", bitrate_kbps=4096, gop=25, fps=20)
        await link.write_settings("stream", CameraSettings(stream=change))
    assert "SetVideoEncoderConfiguration" in full_camera.operations("media2")
    body = full_camera.body_of("SetVideoEncoderConfiguration")
    configuration = body.find("{http://www.onvif.org/ver20/media/wsdl}Configuration")
    assert configuration.get("token") == "VideoEncoderToken_1"
    assert configuration.get("GovLength") == "25"
    assert configuration.get("Profile") == "Main"
    assert value(body, "Encoding") == "H265"
    assert (value(body, "BitrateLimit"), float(value(body, "FrameRateLimit") or 0)) == ("4096", 20)
    assert (value(body, "Width"), value(body, "Height")) == ("2560", "1440")


async def test_imaging_write_changes_only_its_group(full_camera: CameraDouble) -> None:
    settings = CameraSettings(
        exposure=ExposureSettings(max_exposure_us=4000),
        low_light=LowLightSettings(wdr="ON", wdr_level=70),
        image=ImageSettings(brightness=65),
    )
    async with link_to(full_camera) as link:
        await link.write_settings("exposure", settings)
        exposure_body = full_camera.body_of("SetImagingSettings")
        await link.write_settings("lowLight", settings)
        low_light_body = full_camera.body_of("SetImagingSettings")
    timg = "{http://www.onvif.org/ver20/imaging/wsdl}"
    assert exposure_body.findtext(f"{timg}VideoSourceToken") == "VideoSource_1"
    assert exposure_body.findtext(f"{timg}ForcePersistence") == "true"
    assert float(value(exposure_body, "Exposure/MaxExposureTime") or 0) == 4000
    assert float(value(exposure_body, "Brightness") or 0) == 50  # not 65: another group
    assert value(exposure_body, "WideDynamicRange/Mode") == "OFF"
    assert value(low_light_body, "WideDynamicRange/Mode") == "ON"
    assert float(value(low_light_body, "WideDynamicRange/Level") or 0) == 70
    assert float(value(low_light_body, "Exposure/MaxExposureTime") or 0) == 33333


async def test_read_settings_has_the_inspection_shape(full_camera: CameraDouble) -> None:
    async with link_to(full_camera) as link:
        inspection = await link.inspect()
        read = await link.read_settings()
        sub = await link.read_settings("Profile_2")
    assert read == inspection.current
    assert sub.stream is not None
    assert (sub.stream.profile_token, sub.stream.encoding, sub.stream.bitrate_kbps) == (
        "Profile_2", "H264", 512,
    )  # fmt: skip
    with pytest.raises(CameraError):
        async with link_to(full_camera) as link:
            await link.read_settings("no-such-profile")


async def test_imaging_options_without_settings() -> None:
    """GetOptions answers, GetImagingSettings faults: reported, reads skip it, writes refuse."""
    folder = FIXTURES / "hikvision"
    answers = full_camera_answers(folder)
    del answers["imaging:GetImagingSettings"]
    async for camera in started(CameraDouble(folder, answers=answers)):
        async with link_to(camera) as link:
            inspection = await link.inspect()
            assert inspection.capabilities.missing == ["GetImagingSettings"]
            assert inspection.capabilities.imaging is not None
            read = await link.read_settings()
            assert (read.exposure, read.image) == (None, None)
            assert read.stream == inspection.current.stream
            with pytest.raises(CameraError) as raised:
                await link.write_settings("image", CameraSettings(image=ImageSettings(contrast=1)))
            assert raised.value.kind == "unsupported"
        assert camera.operations().count("GetImagingSettings") == 1
