"""onvif_sim's Media2 (ver20 media) service, called with raw SOAP 1.2 signed by zeep's
WS-Security UsernameToken (onvif-zeep-async 4.3.0 ships no Media2 WSDL): profiles with
VideoEncoder2 configurations, options per encoding, a Set (H.265) visible in Media1 and
Media2 Gets, out-of-range refusals, and Media2 absent where the profile does not offer it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from lxml import etree  # type: ignore[import-untyped]
from zeep.wsse.username import UsernameToken

from vigil_tools.onvif_sim import CameraHandle, CameraSpec, running_onvif_sim

ENV = "http://www.w3.org/2003/05/soap-envelope"
NS = {
    "env": ENV,
    "tt": "http://www.onvif.org/ver10/schema",
    "tr2": "http://www.onvif.org/ver20/media/wsdl",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
}


async def call(cam: CameraHandle, body: str, path: str = "/onvif/Media2") -> tuple[int, Any]:
    """POST ``body`` (the operation element) signed with a UsernameToken digest."""
    envelope = etree.fromstring(
        f'<env:Envelope xmlns:env="{ENV}" xmlns:tr2="{NS["tr2"]}" xmlns:tt="{NS["tt"]}" '
        f'xmlns:tds="{NS["tds"]}"><env:Header/><env:Body>{body}</env:Body></env:Envelope>'
    )
    token = UsernameToken(cam.username, cam.password, use_digest=True)  # type: ignore[no-untyped-call]
    envelope, _ = token.apply(envelope, {})  # type: ignore[no-untyped-call]
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    data = etree.tostring(envelope)
    async with (
        aiohttp.ClientSession() as session,
        session.post(cam.base_url + path, data=data, headers=headers) as response,
    ):
        return response.status, etree.fromstring(await response.read())


@pytest.fixture
async def hik() -> AsyncIterator[CameraHandle]:
    async with running_onvif_sim(CameraSpec("hik", vendor="hikvision")) as sim:
        yield sim.cameras[0]


async def test_media2_is_listed_and_serves_profiles(hik: CameraHandle) -> None:
    status, services = await call(
        hik,
        "<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>",
        "/onvif/device_service",
    )
    assert status == 200
    xaddrs = {
        s.findtext("tds:Namespace", namespaces=NS): s.findtext("tds:XAddr", namespaces=NS)
        for s in services.iterfind(".//tds:Service", NS)
    }
    assert xaddrs[NS["tr2"]] == f"{hik.base_url}/onvif/Media2"
    status, answer = await call(hik, "<tr2:GetProfiles><tr2:Type>All</tr2:Type></tr2:GetProfiles>")
    assert status == 200
    profiles = answer.findall(".//tr2:Profiles", NS)
    assert [p.get("token") for p in profiles] == ["Profile_1", "Profile_2", "Profile_3"]
    encoder = profiles[0].find("tr2:Configurations/tr2:VideoEncoder", NS)
    assert encoder.get("GovLength") == "5"
    assert encoder.get("Profile") == "Baseline"
    assert encoder.findtext("tt:Resolution/tt:Width", namespaces=NS) == "1280"
    assert encoder.findtext("tt:RateControl/tt:BitrateLimit", namespaces=NS) == "4096"


async def test_media2_options_and_set_h265_are_seen_by_media1(hik: CameraHandle) -> None:
    status, answer = await call(
        hik,
        "<tr2:GetVideoEncoderConfigurationOptions><tr2:ConfigurationToken>"
        "VideoEncoderToken_1</tr2:ConfigurationToken></tr2:GetVideoEncoderConfigurationOptions>",
    )
    assert status == 200
    options = {
        o.findtext("tt:Encoding", namespaces=NS): o for o in answer.iterfind(".//tr2:Options", NS)
    }
    assert set(options) == {"H264", "H265"}
    assert options["H265"].get("ProfilesSupported") == "Main"
    _, gop_max = map(int, options["H265"].get("GovLengthRange").split())
    set_body = (
        '<tr2:SetVideoEncoderConfiguration><tr2:Configuration token="VideoEncoderToken_1" '
        'GovLength="{gop}" Profile="Main"><tt:Name>VideoEncoder_1</tt:Name>'
        "<tt:UseCount>1</tt:UseCount><tt:Encoding>H265</tt:Encoding><tt:Resolution>"
        "<tt:Width>1280</tt:Width><tt:Height>960</tt:Height></tt:Resolution><tt:RateControl>"
        "<tt:FrameRateLimit>25</tt:FrameRateLimit><tt:BitrateLimit>3000</tt:BitrateLimit>"
        "</tt:RateControl><tt:Quality>5</tt:Quality></tr2:Configuration>"
        "</tr2:SetVideoEncoderConfiguration>"
    )
    status, fault = await call(hik, set_body.format(gop=gop_max + 1))
    assert status == 400
    assert fault.findtext(".//env:Subcode/env:Value", namespaces=NS) == "ter:InvalidArgVal"
    status, _ = await call(hik, set_body.format(gop=50))
    assert status == 200
    get = (
        "<tr2:GetVideoEncoderConfigurations><tr2:ProfileToken>Profile_1</tr2:ProfileToken>"
        "</tr2:GetVideoEncoderConfigurations>"
    )
    status, answer = await call(hik, get)
    config = answer.find(".//tr2:Configurations", NS)
    assert config.findtext("tt:Encoding", namespaces=NS) == "H265"
    assert config.get("GovLength") == "50"
    assert hik.state["encoders"]["VideoEncoderToken_1"]["height"] == 960
    media1_get = (
        '<trt:GetVideoEncoderConfiguration xmlns:trt="http://www.onvif.org/ver10/media/wsdl">'
        "<trt:ConfigurationToken>VideoEncoderToken_1</trt:ConfigurationToken>"
        "</trt:GetVideoEncoderConfiguration>"
    )
    status, media1 = await call(hik, media1_get, "/onvif/Media")
    assert media1.findtext(".//tt:RateControl/tt:BitrateLimit", namespaces=NS) == "3000"


async def test_media2_snapshot_uri_points_at_the_simulator(hik: CameraHandle) -> None:
    status, answer = await call(
        hik,
        "<tr2:GetSnapshotUri><tr2:ProfileToken>Profile_1</tr2:ProfileToken></tr2:GetSnapshotUri>",
    )
    assert status == 200
    assert answer.findtext(".//tr2:Uri", namespaces=NS) == f"{hik.base_url}/onvif/snapshot"


@pytest.mark.parametrize(
    "spec", [CameraSpec("off", media2=False), CameraSpec("axis", vendor="axis")]
)
async def test_media2_absent_answers_action_not_supported(spec: CameraSpec) -> None:
    async with running_onvif_sim(spec) as sim:
        status, fault = await call(sim.cameras[0], "<tr2:GetProfiles/>")
    assert status == 500
    codes = [v.text for v in fault.iterfind(".//env:Value", NS)]
    assert codes[-1] == "ter:ActionNotSupported"
    assert codes[0].endswith(":Receiver")
