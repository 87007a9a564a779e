"""onvif_sim driven by the real client, onvif-zeep-async: device information and profiles
match the captured values, Sets change later Gets, out-of-range Sets fault, wrong passwords
and too-large clock skews are refused, missing services are reported as missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import zeep.exceptions
from lxml import etree  # type: ignore[import-untyped]
from onvif import ONVIFCamera  # type: ignore[import-untyped]
from onvif.exceptions import ONVIFError  # type: ignore[import-untyped]

from vigil_tools.onvif_sim import CameraHandle, CameraSpec, running_onvif_sim
from vigil_tools.onvif_sim.vendors import default_captures_root

NS = {"tt": "http://www.onvif.org/ver10/schema", "tds": "http://www.onvif.org/ver10/device/wsdl"}


def captured(vendor: str, operation: str, xpath: str) -> list[str]:
    """Values straight from the capture file (independent of the simulator's model)."""
    tree = etree.parse(str(default_captures_root() / vendor / f"{operation}.Response.xml"))
    return [str(v).strip() for v in tree.xpath(xpath, namespaces=NS)]


def subcodes(fault: zeep.exceptions.Fault) -> list[str]:
    """The local names of a SOAP 1.2 fault's subcodes, as zeep parsed them."""
    return [etree.QName(code).localname for code in fault.subcodes or []]


async def connect(cam: CameraHandle, password: str | None = None, **kw: Any) -> ONVIFCamera:
    client = ONVIFCamera(cam.host, cam.port, cam.username, password or cam.password, **kw)
    await client.update_xaddrs()
    return client


@pytest.fixture
async def sims() -> AsyncIterator[dict[str, CameraHandle]]:
    specs = (CameraSpec("hik", vendor="hikvision"), CameraSpec("axis", vendor="axis"))
    async with running_onvif_sim(*specs) as sim:
        yield {"hikvision": sim.camera("hik"), "axis": sim.camera("axis")}


@pytest.mark.parametrize("vendor", ["hikvision", "axis"])
async def test_device_information_and_profiles_match_the_captures(
    sims: dict[str, CameraHandle], vendor: str
) -> None:
    client = await connect(sims[vendor])
    try:
        device = await (await client.create_devicemgmt_service()).GetDeviceInformation()
        info = "//tds:GetDeviceInformationResponse/tds:"
        assert (
            device.Manufacturer
            == captured(vendor, "GetDeviceInformation", info + "Manufacturer/text()")[0]
        )
        assert device.Model == captured(vendor, "GetDeviceInformation", info + "Model/text()")[0]
        assert (
            device.FirmwareVersion
            == captured(vendor, "GetDeviceInformation", info + "FirmwareVersion/text()")[0]
        )
        media = await client.create_media_service()
        profiles = await media.GetProfiles()
        encoder = "//tt:VideoEncoderConfiguration/"
        assert [p.token for p in profiles] == captured(
            vendor, "GetProfiles", "//*[local-name()='Profiles']/@token"
        )
        got = [
            (
                p.VideoEncoderConfiguration.Encoding,
                p.VideoEncoderConfiguration.Resolution.Width,
                p.VideoEncoderConfiguration.Quality,
                p.VideoEncoderConfiguration.RateControl.FrameRateLimit,
                p.VideoEncoderConfiguration.RateControl.BitrateLimit,
            )
            for p in profiles
        ]
        rate = encoder + "tt:RateControl/tt:"
        expected = list(
            zip(
                captured(vendor, "GetProfiles", encoder + "tt:Encoding/text()"),
                map(
                    int, captured(vendor, "GetProfiles", encoder + "tt:Resolution/tt:Width/text()")
                ),
                map(float, captured(vendor, "GetProfiles", encoder + "tt:Quality/text()")),
                map(int, captured(vendor, "GetProfiles", rate + "FrameRateLimit/text()")),
                map(int, captured(vendor, "GetProfiles", rate + "BitrateLimit/text()")),
                strict=True,
            )
        )
        assert got == expected
        gops = [
            p.VideoEncoderConfiguration.H264.GovLength
            for p in profiles
            if p.VideoEncoderConfiguration.H264
        ]
        assert gops == [
            int(g) for g in captured(vendor, "GetProfiles", encoder + "tt:H264/tt:GovLength/text()")
        ]
    finally:
        await client.close()


async def test_set_encoder_configuration_changes_the_next_get_and_refuses_out_of_range(
    sims: dict[str, CameraHandle],
) -> None:
    client = await connect(sims["hikvision"])
    try:
        media = await client.create_media_service()
        profile = (await media.GetProfiles())[0]
        options = await media.GetVideoEncoderConfigurationOptions({"ProfileToken": profile.token})
        config = profile.VideoEncoderConfiguration
        config.RateControl.BitrateLimit = 2048
        config.RateControl.FrameRateLimit = options.H264.FrameRateRange.Max
        config.H264.GovLength = 60
        await media.SetVideoEncoderConfiguration(
            {"Configuration": config, "ForcePersistence": True}
        )
        again = (await media.GetProfile({"ProfileToken": profile.token})).VideoEncoderConfiguration
        assert (again.RateControl.BitrateLimit, again.H264.GovLength) == (2048, 60)
        assert again.RateControl.FrameRateLimit == options.H264.FrameRateRange.Max

        config.RateControl.FrameRateLimit = options.H264.FrameRateRange.Max + 1
        with pytest.raises(zeep.exceptions.Fault) as refused:
            await media.SetVideoEncoderConfiguration(
                {"Configuration": config, "ForcePersistence": True}
            )
        assert subcodes(refused.value) == ["InvalidArgVal", "ConfigModify"]
        assert "FrameRateLimit" in refused.value.message
        config.RateControl.FrameRateLimit = 10
        config.Resolution.Width, config.Resolution.Height = 1000, 1000
        with pytest.raises(zeep.exceptions.Fault, match="Resolution"):
            await media.SetVideoEncoderConfiguration(
                {"Configuration": config, "ForcePersistence": True}
            )
        after = (await media.GetVideoEncoderConfigurations())[0]
        assert (after.Resolution.Width, after.RateControl.FrameRateLimit) == (1280, 30)
    finally:
        await client.close()


async def test_imaging_set_changes_the_next_get_within_the_options(
    sims: dict[str, CameraHandle],
) -> None:
    client = await connect(sims["axis"])
    try:
        media = await client.create_media_service()
        source = (await media.GetVideoSources())[0].token
        imaging = await client.create_imaging_service()
        options = await imaging.GetOptions({"VideoSourceToken": source})
        assert set(options.Exposure.Mode) == {"AUTO", "MANUAL"}
        assert "AUTO" in options.IrCutFilterModes
        settings = await imaging.GetImagingSettings({"VideoSourceToken": source})
        settings.Brightness = options.Brightness.Max
        settings.Exposure.MaxExposureTime = 66666
        await imaging.SetImagingSettings({"VideoSourceToken": source, "ImagingSettings": settings})
        now = await imaging.GetImagingSettings({"VideoSourceToken": source})
        assert (now.Brightness, now.Exposure.MaxExposureTime) == (options.Brightness.Max, 66666)

        settings.Brightness = options.Brightness.Max + 1
        with pytest.raises(zeep.exceptions.Fault, match="Brightness"):
            await imaging.SetImagingSettings(
                {"VideoSourceToken": source, "ImagingSettings": settings}
            )
        settings.Brightness, settings.IrCutFilter = 40, "SOMETIMES"
        with pytest.raises(zeep.exceptions.Fault, match="IrCutFilter"):
            await imaging.SetImagingSettings(
                {"VideoSourceToken": source, "ImagingSettings": settings}
            )
        unchanged = await imaging.GetImagingSettings({"VideoSourceToken": source})
        assert unchanged.Brightness == options.Brightness.Max
    finally:
        await client.close()


async def test_wrong_password_is_refused(sims: dict[str, CameraHandle]) -> None:
    cam = sims["hikvision"]
    client = ONVIFCamera(cam.host, cam.port, cam.username, "not-the-password")
    try:
        with pytest.raises(zeep.exceptions.Fault, match="not authorized") as refused:
            await client.update_xaddrs()  # GetServices refused, then GetCapabilities too
        assert subcodes(refused.value) == ["NotAuthorized"]
        device = await client.create_devicemgmt_service()
        with pytest.raises(zeep.exceptions.Fault, match="wrong password"):
            await device.GetDeviceInformation()
        clock = await device.authless_GetSystemDateAndTime()  # the one open operation
        assert clock.UTCDateTime.Date.Year >= 2024
    finally:
        await client.close()


async def test_clock_skew_is_refused_unless_the_client_adjusts() -> None:
    async with running_onvif_sim(CameraSpec("late", skew_s=-3600, max_clock_drift_s=60)) as sim:
        cam = sim.cameras[0]
        naive = ONVIFCamera(cam.host, cam.port, cam.username, cam.password)
        device = await naive.create_devicemgmt_service()
        with pytest.raises(zeep.exceptions.Fault, match="off the camera clock"):
            await device.GetDeviceInformation()
        await naive.close()
        adjusted = await connect(cam, adjust_time=True)
        try:
            info = await (await adjusted.create_devicemgmt_service()).GetDeviceInformation()
            assert info.Manufacturer == "HIKVISION"
            assert abs(adjusted.dt_diff.total_seconds() + 3600) < 5
        finally:
            await adjusted.close()


async def test_a_camera_without_imaging_or_encoder_options_reports_them_missing() -> None:
    spec = CameraSpec(
        "bare", vendor="hikvision", imaging=False, encoder_options=False, media2=False
    )
    async with running_onvif_sim(spec) as sim:
        client = await connect(sim.cameras[0])
        try:
            namespaces = set(client.xaddrs)
            assert "http://www.onvif.org/ver20/imaging/wsdl" not in namespaces
            assert "http://www.onvif.org/ver20/media/wsdl" not in namespaces
            with pytest.raises(ONVIFError, match="doesn`t support service: imaging"):
                await client.create_imaging_service()
            capabilities = await client.get_capabilities()
            assert capabilities is not None
            assert capabilities["Imaging"] is None
            media = await client.create_media_service()
            with pytest.raises(zeep.exceptions.Fault, match="not supported"):
                await media.GetVideoEncoderConfigurationOptions({"ProfileToken": "Profile_1"})
        finally:
            await client.close()


async def test_axis_has_no_get_services_and_the_client_falls_back(
    sims: dict[str, CameraHandle],
) -> None:
    client = await connect(sims["axis"])
    try:
        device = await client.create_devicemgmt_service()
        with pytest.raises(zeep.exceptions.Fault, match="not supported"):
            await device.GetServices({"IncludeCapability": False})
        media_xaddr = client.xaddrs["http://www.onvif.org/ver10/media/wsdl"]
        assert media_xaddr == f"http://{sims['axis'].host}:{sims['axis'].port}/onvif/services"
        assert "http://www.onvif.org/ver20/imaging/wsdl" in client.xaddrs  # added to the capture
    finally:
        await client.close()
