"""Answers the captures lack, written for the tests per the ONVIF schemas, and XML variants.

The captures (``vigil_tools/onvif_sim/profiles``) hold device and Media 1 answers only. The
Media 2, imaging and options answers here are the tests' own: a Hikvision-like camera with
H.265 on Media 2, values chosen to be distinguishable. :func:`single_configuration` builds a
Media 1 ``GetVideoEncoderConfiguration`` answer out of a captured
``GetVideoEncoderConfigurations``. The variant functions rewrite an answer the way other
firmware writes the same content: padded text, other namespace prefixes, elements left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from lxml import etree  # type: ignore[import-untyped]

from .onvif_double import envelope

TT = "http://www.onvif.org/ver10/schema"
TRT = "http://www.onvif.org/ver10/media/wsdl"
MEDIA2_SERVICE = (
    "<tds:Service><tds:Namespace>http://www.onvif.org/ver20/media/wsdl</tds:Namespace>"
    "<tds:XAddr>http://10.10.1.60/onvif/Media2</tds:XAddr>"
    "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
)


def with_media2_service(folder: Path) -> str:
    """The captured ``GetServices`` with a Media 2 service added (XAddr on the LAN)."""
    captured = (folder / "GetServices.Response.xml").read_text(encoding="utf-8")
    return captured.replace(
        "</tds:GetServicesResponse>", MEDIA2_SERVICE + "</tds:GetServicesResponse>"
    )


def _encoder2(token: str, encoding: str, size: tuple[int, int], fps: int, kbps: int,
              gop: int, profile: str, quality: int) -> str:  # fmt: skip
    return (
        f'<tr2:VideoEncoder token="{token}" GovLength="{gop}" Profile="{profile}">'
        f"<tt:Name>{token}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>{encoding}</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{size[0]}</tt:Width><tt:Height>{size[1]}</tt:Height></tt:Resolution>"
        f'<tt:RateControl ConstantBitRate="false"><tt:FrameRateLimit>{fps}</tt:FrameRateLimit>'
        f"<tt:BitrateLimit>{kbps}</tt:BitrateLimit></tt:RateControl>"
        f"<tt:Quality>{quality}</tt:Quality></tr2:VideoEncoder>"
    )


MAIN_ENCODER2 = _encoder2("VideoEncoderToken_1", "H265", (2560, 1440), 25, 6144, 50, "Main", 4)
SUB_ENCODER2 = _encoder2("VideoEncoderToken_2", "H264", (704, 480), 15, 512, 30, "High", 3)
_SOURCE2 = (
    '<tr2:VideoSource token="VideoSourceToken"><tt:Name>VideoSourceConfig</tt:Name>'
    "<tt:UseCount>2</tt:UseCount><tt:SourceToken>VideoSource_1</tt:SourceToken>"
    '<tt:Bounds x="0" y="0" width="2560" height="1440"/></tr2:VideoSource>'
)
MEDIA2_PROFILES = envelope(
    "<tr2:GetProfilesResponse>"
    f'<tr2:Profiles token="Profile_1" fixed="true"><tr2:Name>mainStream</tr2:Name>'
    f"<tr2:Configurations>{_SOURCE2}{MAIN_ENCODER2}</tr2:Configurations></tr2:Profiles>"
    f'<tr2:Profiles token="Profile_2" fixed="true"><tr2:Name>subStream</tr2:Name>'
    f"<tr2:Configurations>{_SOURCE2}{SUB_ENCODER2}</tr2:Configurations></tr2:Profiles>"
    "</tr2:GetProfilesResponse>"
)
MEDIA2_CONFIGURATIONS = envelope(
    "<tr2:GetVideoEncoderConfigurationsResponse>"
    + MAIN_ENCODER2.replace("tr2:VideoEncoder", "tr2:Configurations")
    + "</tr2:GetVideoEncoderConfigurationsResponse>"
)


def _sizes(*sizes: tuple[int, int]) -> str:
    return "".join(
        f"<tt:ResolutionsAvailable><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height>"
        "</tt:ResolutionsAvailable>"
        for w, h in sizes
    )


def _range(name: str, low: float, high: float) -> str:
    return f"<tt:{name}><tt:Min>{low}</tt:Min><tt:Max>{high}</tt:Max></tt:{name}>"


MEDIA2_OPTIONS = envelope(
    "<tr2:GetVideoEncoderConfigurationOptionsResponse>"
    '<tr2:Options GovLengthRange="1 400" FrameRatesSupported="25 20 15 12.5 10 5 1" '
    'ProfilesSupported="Main">'
    f"<tt:Encoding>H265</tt:Encoding>{_range('QualityRange', 1, 6)}"
    f"{_sizes((2560, 1440), (1920, 1080), (1280, 720))}{_range('BitrateRange', 256, 16384)}"
    "</tr2:Options>"
    '<tr2:Options GovLengthRange="1 400" FrameRatesSupported="25 15 5" '
    'ProfilesSupported="Baseline Main High">'
    f"<tt:Encoding>H264</tt:Encoding>{_range('QualityRange', 1, 6)}"
    f"{_sizes((1920, 1080), (704, 480))}{_range('BitrateRange', 32, 8192)}"
    "</tr2:Options>"
    "</tr2:GetVideoEncoderConfigurationOptionsResponse>"
)
MEDIA2_SNAPSHOT = envelope(
    "<tr2:GetSnapshotUriResponse>"
    "<tr2:Uri>http://10.10.1.60/onvif/snapshot?channel=1&amp;user=admin&amp;password=s3cret-Pw</tr2:Uri>"
    "</tr2:GetSnapshotUriResponse>"
)
MEDIA2_SET = envelope("<tr2:SetVideoEncoderConfigurationResponse/>")

_H264_OPTIONS = (
    f"{_sizes((1280, 720), (704, 480), (352, 240))}{_range('GovLengthRange', 1, 400)}"
    f"{_range('FrameRateRange', 1, 30)}{_range('EncodingIntervalRange', 1, 1)}"
    "<tt:H264ProfilesSupported>Baseline</tt:H264ProfilesSupported>"
    "<tt:H264ProfilesSupported>Main</tt:H264ProfilesSupported>"
    "<tt:H264ProfilesSupported>High</tt:H264ProfilesSupported>"
)
MEDIA1_OPTIONS = envelope(
    "<trt:GetVideoEncoderConfigurationOptionsResponse><trt:Options>"
    f"{_range('QualityRange', 1, 6)}"
    f"<tt:JPEG>{_sizes((1280, 720))}{_range('FrameRateRange', 1, 25)}"
    f"{_range('EncodingIntervalRange', 1, 1)}</tt:JPEG>"
    f"<tt:H264>{_H264_OPTIONS}</tt:H264>"
    f"<tt:Extension><tt:H264>{_H264_OPTIONS}{_range('BitrateRange', 32, 16384)}</tt:H264>"
    "</tt:Extension></trt:Options></trt:GetVideoEncoderConfigurationOptionsResponse>"
)
MEDIA1_SET = envelope("<trt:SetVideoEncoderConfigurationResponse/>")

IMAGING_OPTIONS = envelope(
    "<timg:GetOptionsResponse><timg:ImagingOptions>"
    "<tt:BacklightCompensation><tt:Mode>OFF</tt:Mode><tt:Mode>ON</tt:Mode>"
    f"{_range('Level', 0, 100)}</tt:BacklightCompensation>"
    f"{_range('Brightness', 0, 100)}{_range('ColorSaturation', 0, 100)}{_range('Contrast', 0, 100)}"
    "<tt:Exposure><tt:Mode>AUTO</tt:Mode><tt:Mode>MANUAL</tt:Mode>"
    f"{_range('MinExposureTime', 10, 40000)}{_range('MaxExposureTime', 10, 40000)}"
    f"{_range('MinGain', 0, 100)}{_range('MaxGain', 0, 100)}"
    f"{_range('ExposureTime', 10, 40000)}{_range('Gain', 0, 100)}</tt:Exposure>"
    "<tt:IrCutFilterModes>ON</tt:IrCutFilterModes><tt:IrCutFilterModes>OFF</tt:IrCutFilterModes>"
    "<tt:IrCutFilterModes>AUTO</tt:IrCutFilterModes>"
    f"{_range('Sharpness', 0, 100)}"
    "<tt:WideDynamicRange><tt:Mode>OFF</tt:Mode><tt:Mode>ON</tt:Mode>"
    f"{_range('Level', 0, 100)}</tt:WideDynamicRange>"
    "</timg:ImagingOptions></timg:GetOptionsResponse>"
)
IMAGING_SETTINGS = envelope(
    "<timg:GetImagingSettingsResponse><timg:ImagingSettings>"
    "<tt:BacklightCompensation><tt:Mode>OFF</tt:Mode></tt:BacklightCompensation>"
    "<tt:Brightness>50</tt:Brightness><tt:ColorSaturation>45</tt:ColorSaturation>"
    "<tt:Contrast>55</tt:Contrast>"
    "<tt:Exposure><tt:Mode>AUTO</tt:Mode><tt:MinExposureTime>10</tt:MinExposureTime>"
    "<tt:MaxExposureTime>33333</tt:MaxExposureTime><tt:MinGain>0</tt:MinGain>"
    "<tt:MaxGain>80</tt:MaxGain></tt:Exposure>"
    "<tt:IrCutFilter>AUTO</tt:IrCutFilter><tt:Sharpness>60</tt:Sharpness>"
    "<tt:WideDynamicRange><tt:Mode>OFF</tt:Mode><tt:Level>50</tt:Level></tt:WideDynamicRange>"
    "</timg:ImagingSettings></timg:GetImagingSettingsResponse>"
)
IMAGING_SET = envelope("<timg:SetImagingSettingsResponse/>")


def full_camera_answers(folder: Path) -> dict[str, str]:
    """A Hikvision capture plus Media 2 (H.265), encoder options and imaging."""
    return {
        "device:GetServices": with_media2_service(folder),
        "media2:GetProfiles": MEDIA2_PROFILES,
        "media2:GetVideoEncoderConfigurationOptions": MEDIA2_OPTIONS,
        "media2:GetVideoEncoderConfigurations": MEDIA2_CONFIGURATIONS,
        "media2:SetVideoEncoderConfiguration": MEDIA2_SET,
        "media2:GetSnapshotUri": MEDIA2_SNAPSHOT,
        "imaging:GetOptions": IMAGING_OPTIONS,
        "imaging:GetImagingSettings": IMAGING_SETTINGS,
        "imaging:SetImagingSettings": IMAGING_SET,
    }


def single_configuration(folder: Path, token: str) -> str:
    """Media 1 ``GetVideoEncoderConfiguration`` for ``token``, from the captured plural answer."""
    root = etree.fromstring((folder / "GetVideoEncoderConfigurations.Response.xml").read_bytes())
    for config in root.iter(f"{{{TRT}}}Configurations"):
        if config.get("token") == token:
            config.tag = f"{{{TRT}}}Configuration"
            body = config.getparent()
            body.tag = f"{{{TRT}}}GetVideoEncoderConfigurationResponse"
            for other in [c for c in body if c is not config]:
                body.remove(other)
            return str(etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode())
    raise KeyError(token)


# -- variants of the same content ---------------------------------------------------------


def padded(xml: str) -> str:
    """Every text value padded with newlines, tabs and spaces, as some firmware indents."""
    return re.sub(r">([^<>\s][^<>]*?)<", lambda m: f">\n\t  {m.group(1)} \n  <", xml)


def loose_numbers(xml: str) -> str:
    """Integers written as decimals or with a sign (``30.0``, `` 50.00 ``, ``+1280``)."""
    xml = re.sub(r"<(\w+):FrameRateLimit>(\d+)<", r"<\1:FrameRateLimit>\2.0<", xml)
    xml = re.sub(r"<(\w+):GovLength>(\d+)<", r"<\1:GovLength> \2.00 <", xml)
    xml = re.sub(r"<(\w+):BitrateLimit>(\d+)<", r"<\1:BitrateLimit>\2.000<", xml)
    return re.sub(r"<(\w+):Width>(\d+)<", r"<\1:Width>+\2<", xml)


_PREFIXES = {"tt": "onvif", "trt": "media", "tds": "device", "env": "s", "SOAP-ENV": "soap"}


def renamed_prefixes(xml: str) -> str:
    """The same document with other namespace prefixes (``tt:`` → ``onvif:`` and so on)."""
    for old, new in _PREFIXES.items():
        xml = re.sub(rf"(?<=[<\s/]){re.escape(old)}:", f"{new}:", xml)
        xml = xml.replace(f"xmlns:{old}=", f"xmlns:{new}=")
    return xml


def without(*local_names: str) -> Callable[[str], str]:
    """A transform that drops every element with one of these local names (any prefix)."""

    def drop(xml: str) -> str:
        for name in local_names:
            xml = re.sub(rf"<(\w+):{name}\b[^>]*?/>", "", xml)
            xml = re.sub(rf"<(\w+):{name}\b[^>]*>.*?</\1:{name}>", "", xml, flags=re.S)
        return xml

    return drop
