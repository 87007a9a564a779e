"""ONVIF inspection against a SOAP double answering with real Axis and Hikvision captures.

The real onvif-zeep-async and zeep parse the captured answers over HTTP; the double checks
the WS-Security digest and that ``Created`` follows the camera's clock (2018 in both
captures), so every passing inspection also proves the clock-skew adjustment. The expected
values are those written in the capture files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from vigil_optimizer.camera_link import Inspection
from vigil_optimizer.onvif import OnvifCameraLink, inspection_json
from vigil_optimizer.onvif.media2_wsdl import MEDIA2_NAMESPACE

from .onvif_answers import (
    full_camera_answers,
    loose_numbers,
    padded,
    renamed_prefixes,
    with_media2_service,
    without,
)
from .onvif_double import FIXTURES, CameraDouble, captured_clock


@dataclass(frozen=True)
class Expected:
    """What a capture says: device information and per profile the encoder configuration."""

    manufacturer: str
    model: str
    firmware: str
    profiles: list[tuple[str, str, str, tuple[int, int], float, int | None, int | None, float]]
    missing: list[str]
    snapshot_path: str


# token, name, encoding, resolution, frame rate limit, bit rate limit, GOP, quality.
# Axis states BitrateLimit 0 (no limit): read as None.
AXIS = Expected(
    "AXIS", "AXIS Q6045-E", "5.55.1.2",
    [
        ("profile_1_h264", "profile_1 h264", "H264", (1280, 720), 30, None, 32, 80),
        ("profile_1_jpeg", "profile_1 jpeg", "JPEG", (1280, 720), 30, None, None, 80),
    ],
    ["media2", "GetVideoEncoderConfigurationOptions", "imaging"],
    "/onvif-cgi/jpg/image.cgi?resolution=1280x720&compression=20",
)  # fmt: skip
HIKVISION = Expected(
    "HIKVISION", "DS-2DF7276-AEL", "V5.1.6 build 140401",
    [
        ("Profile_1", "mainStream", "H264", (1280, 720), 10, 4096, 5, 4),
        ("Profile_2", "subStream", "H264", (704, 480), 30, 1024, 50, 3),
        ("Profile_3", "thirdStream", "H264", (704, 480), 30, 1024, 50, 3),
    ],
    ["media2", "GetVideoEncoderConfigurationOptions", "GetOptions", "GetImagingSettings",
     "imaging"],
    "/onvif/snapshot",
)  # fmt: skip
EXPECTED = {"axis": AXIS, "hikvision": HIKVISION}


@pytest.fixture
async def camera_factory() -> AsyncIterator[Callable[..., Any]]:
    started: list[CameraDouble] = []

    async def start(vendor: str | None, **options: Any) -> CameraDouble:
        camera = CameraDouble(FIXTURES / vendor if vendor else None, **options)
        await camera.start()
        started.append(camera)
        return camera

    yield start
    for camera in started:
        await camera.stop()


async def inspect(camera: CameraDouble, **options: Any) -> Inspection:
    async with OnvifCameraLink.connect(
        "127.0.0.1", camera.port, camera.user, camera.password, timeout_s=5, **options
    ) as link:
        return await link.inspect()


def profile_rows(inspection: Inspection) -> list[tuple[Any, ...]]:
    return [
        (p.token, p.name, p.encoding, (p.resolution.width, p.resolution.height) if p.resolution
         else None, p.fps, p.bitrate_kbps, p.gop, p.quality)
        for p in inspection.capabilities.profiles
    ]  # fmt: skip


def assert_matches_capture(inspection: Inspection, expected: Expected, port: int) -> None:
    caps = inspection.capabilities
    assert (caps.device.manufacturer, caps.device.model, caps.device.firmware_version) == (
        expected.manufacturer, expected.model, expected.firmware,
    )  # fmt: skip
    assert profile_rows(inspection) == expected.profiles
    assert caps.missing == expected.missing
    assert caps.media_version == 1
    assert caps.snapshot_uri == f"http://127.0.0.1:{port}{expected.snapshot_path}"
    assert inspection.current.stream == caps.profiles[0].stream_settings()


@pytest.mark.parametrize("vendor", ["axis", "hikvision"])
async def test_inspect_reads_the_capture(camera_factory: Callable[..., Any], vendor: str) -> None:
    camera = await camera_factory(vendor)
    inspection = await inspect(camera)
    assert_matches_capture(inspection, EXPECTED[vendor], camera.port)
    printed = inspection_json(inspection)
    assert printed["device"]["manufacturer"] == EXPECTED[vendor].manufacturer
    first = printed["profiles"][0]
    expected = EXPECTED[vendor].profiles[0]
    assert (first["token"], first["name"], first["encoding"], first["fps"], first["gop"]) == (
        expected[0], expected[1], expected[2], expected[4], expected[6],
    )  # fmt: skip
    assert first["resolution"] == {"width": expected[3][0], "height": expected[3][1]}
    assert printed["missing"] == EXPECTED[vendor].missing


@pytest.mark.parametrize("vendor", ["axis", "hikvision"])
@pytest.mark.parametrize(
    "variant", [padded, renamed_prefixes, loose_numbers], ids=["padded", "prefixes", "numbers"]
)
async def test_inspect_reads_firmware_variants(
    camera_factory: Callable[..., Any], vendor: str, variant: Callable[[str], str]
) -> None:
    camera = await camera_factory(vendor, transform=variant)
    assert_matches_capture(await inspect(camera), EXPECTED[vendor], camera.port)


async def test_inspect_tolerates_missing_optional_elements(
    camera_factory: Callable[..., Any],
) -> None:
    camera = await camera_factory("hikvision", transform=without("H264", "Quality", "Name"))
    inspection = await inspect(camera)
    rows = profile_rows(inspection)
    assert [row[0] for row in rows] == ["Profile_1", "Profile_2", "Profile_3"]
    assert all(row[1] is None and row[6] is None and row[7] is None for row in rows)
    assert rows[0][3:6] == ((1280, 720), 10, 4096)


async def test_clock_offset_follows_the_camera(camera_factory: Callable[..., Any]) -> None:
    camera = await camera_factory("hikvision")
    async with OnvifCameraLink.connect("127.0.0.1", camera.port, "admin", "s3cret-Pw") as link:
        offset = link.session.clock_offset
    assert offset is not None
    expected = captured_clock(FIXTURES / "hikvision") - dt.datetime.now(dt.UTC)
    assert abs((offset - expected).total_seconds()) < 5


async def test_camera_requiring_auth_for_its_clock(camera_factory: Callable[..., Any]) -> None:
    camera = await camera_factory("axis", auth_clock=True, clock=dt.datetime.now(dt.UTC))
    inspection = await inspect(camera)
    assert inspection.capabilities.device.model == "AXIS Q6045-E"
    assert camera.operations()[:2] == ["GetSystemDateAndTime", "GetSystemDateAndTime"]


async def test_wrong_password_is_an_auth_error(camera_factory: Callable[..., Any]) -> None:
    from vigil_optimizer.camera_link import CameraError

    camera = await camera_factory("hikvision")
    with pytest.raises(CameraError) as raised:
        async with OnvifCameraLink.connect("127.0.0.1", camera.port, "admin", "Not-This-1") as link:
            await link.inspect()
    assert raised.value.kind == "auth"
    assert "Not-This-1" not in str(raised.value)


async def test_camera_lacking_media2_imaging_and_options(
    camera_factory: Callable[..., Any],
) -> None:
    """Media 2 announced but faulting, imaging and options answering faults: no crash."""
    folder = FIXTURES / "hikvision"
    camera = await camera_factory(
        "hikvision", answers={"device:GetServices": with_media2_service(folder)}
    )
    inspection = await inspect(camera)
    caps = inspection.capabilities
    assert MEDIA2_NAMESPACE in caps.services
    assert caps.media_version == 1
    assert profile_rows(inspection) == HIKVISION.profiles
    assert caps.missing == HIKVISION.missing
    assert caps.imaging is None
    assert all(p.options is None for p in caps.profiles)
    assert "GetProfiles" in camera.operations("media2")


async def test_full_camera_on_media2(camera_factory: Callable[..., Any]) -> None:
    folder = FIXTURES / "hikvision"
    camera = await camera_factory("hikvision", answers=full_camera_answers(folder))
    inspection = await inspect(camera)
    caps = inspection.capabilities
    assert caps.media_version == 2
    assert caps.missing == []
    assert profile_rows(inspection) == [
        ("Profile_1", "mainStream", "H265", (2560, 1440), 25, 6144, 50, 4),
        ("Profile_2", "subStream", "H264", (704, 480), 15, 512, 30, 3),
    ]
    main = caps.profiles[0]
    assert main.h264_profile == "Main"
    assert main.options is not None
    assert main.options.encodings == ["H265", "H264"]
    assert [str(r) for r in main.options.resolutions] == ["2560x1440", "1920x1080", "1280x720"]
    assert main.options.fps is not None
    assert (main.options.fps.min, main.options.fps.max) == (1, 25)
    assert main.options.gop is not None
    assert main.options.gop.max == 400
    assert main.options.bitrate_kbps is not None
    assert main.options.bitrate_kbps.max == 16384
    assert main.options.h264_profiles == ["Baseline", "Main", "High"]
    sub_options = caps.profiles[1].options
    assert sub_options is not None
    assert sub_options.bitrate_kbps is not None
    assert sub_options.bitrate_kbps.max == 8192
    assert caps.video_source_token == "VideoSource_1"
    assert caps.imaging is not None
    assert caps.imaging.exposure_modes == ["AUTO", "MANUAL"]
    assert caps.imaging.exposure_time_us is not None
    assert caps.imaging.exposure_time_us.max == 40000
    assert caps.imaging.ir_cut_filter_modes == ["ON", "OFF", "AUTO"]
    current = inspection.current
    assert current.exposure is not None
    assert current.exposure.max_exposure_us == 33333
    assert current.exposure.mode == "AUTO"
    assert current.exposure.max_gain == 80
    assert current.low_light is not None
    assert current.low_light.ir_cut_filter == "AUTO"
    assert current.image is not None
    assert current.image.contrast == 55
    # the snapshot URI: rewritten to the address used, credentials in the query removed
    assert caps.snapshot_uri == f"http://127.0.0.1:{camera.port}/onvif/snapshot?channel=1"
    assert set(camera.operations("media2")) >= {
        "GetProfiles",
        "GetVideoEncoderConfigurationOptions",
    }
    assert "GetProfiles" not in camera.operations("media")


async def test_full_camera_with_padded_answers(camera_factory: Callable[..., Any]) -> None:
    folder = FIXTURES / "hikvision"
    camera = await camera_factory(
        "hikvision", answers=full_camera_answers(folder), transform=padded
    )
    inspection = await inspect(camera)
    assert inspection.capabilities.missing == []
    assert profile_rows(inspection)[0] == (
        "Profile_1", "mainStream", "H265", (2560, 1440), 25, 6144, 50, 4,
    )  # fmt: skip
    assert inspection.capabilities.imaging is not None
    assert inspection.capabilities.imaging.wdr_modes == ["OFF", "ON"]


async def test_credentials_never_logged(
    camera_factory: Callable[..., Any], service_logs: pytest.CaptureFixture[str]
) -> None:
    from vigil_optimizer.camera_link import CameraError

    folder = FIXTURES / "hikvision"
    camera = await camera_factory("hikvision", answers=full_camera_answers(folder))
    printed = inspection_json(await inspect(camera))
    with pytest.raises(CameraError):
        async with OnvifCameraLink.connect("127.0.0.1", camera.port, "admin", "Other-Pw-77"):
            pass
    output = service_logs.readouterr()
    assert "onvif_inspected" in output.err  # the structured log was captured
    for secret in (camera.password, "Other-Pw-77"):
        assert secret not in output.out + output.err
        assert secret not in str(printed)
