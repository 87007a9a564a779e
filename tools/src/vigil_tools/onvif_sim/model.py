"""A simulated camera's settings, built from its captures and changed by Set operations.

:func:`initial_state` reads the captures once into plain values: device information, every
video encoder configuration (encoding, resolution, quality, frame rate limit, encoding
interval, bitrate limit, GOP, H.264 profile) and the imaging settings (from Hikvision's
GetVideoSources ``tt:Imaging``, else the vendor's initial values). Answers are rendered from
this state, never from the captured values, so a Set is visible in every later Get (Media1
and Media2 share the encoder configurations, as on real cameras). ``version`` grows on
every change; :mod:`camera` uses it to invalidate rendered answers.

Imaging settings are a flat mapping keyed by ImagingSettings20 path (``"Brightness"``,
``"Exposure/MaxExposureTime"``); :data:`IMAGING_PATHS` gives the schema order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

from vigil_tools.onvif_sim.captures import Captures, first
from vigil_tools.onvif_sim.vendors import VendorProfile
from vigil_tools.onvif_sim.xmlkit import Element, find, findtext

__all__ = ["IMAGING_PATHS", "CameraState", "DeviceInfo", "EncoderConfig", "initial_state"]

IMAGING_PATHS: Final = (
    "BacklightCompensation/Mode", "BacklightCompensation/Level", "Brightness",
    "ColorSaturation", "Contrast", "Exposure/Mode", "Exposure/Priority",
    "Exposure/MinExposureTime", "Exposure/MaxExposureTime", "Exposure/MinGain",
    "Exposure/MaxGain", "Exposure/MinIris", "Exposure/MaxIris", "Exposure/ExposureTime",
    "Exposure/Gain", "Exposure/Iris", "Focus/AutoFocusMode", "Focus/DefaultSpeed",
    "Focus/NearLimit", "Focus/FarLimit", "IrCutFilter", "Sharpness",
    "WideDynamicRange/Mode", "WideDynamicRange/Level", "WhiteBalance/Mode",
    "WhiteBalance/CrGain", "WhiteBalance/CbGain",
)  # fmt: skip

_TEXT_FIELDS: Final = frozenset(
    p for p in IMAGING_PATHS if p.endswith(("Mode", "Priority")) or p == "IrCutFilter"
)


def imaging_value(path: str, text: str) -> float | str:
    """``text`` as the value of imaging field ``path`` (ValueError when not a number)."""
    return text if path in _TEXT_FIELDS else float(text)


@dataclass(frozen=True)
class DeviceInfo:
    """GetDeviceInformation."""

    manufacturer: str
    model: str
    firmware_version: str
    serial_number: str
    hardware_id: str


@dataclass
class EncoderConfig:
    """One video encoder configuration (Media1 ``tt:VideoEncoderConfiguration``)."""

    token: str
    name: str
    use_count: int
    encoding: str
    width: int
    height: int
    quality: float
    frame_rate_limit: int
    encoding_interval: int
    bitrate_limit: int
    gov_length: int | None
    h264_profile: str | None
    quality_decimals: int  # how the firmware prints Quality: Hikvision "4.000000", Axis "80"

    def quality_text(self) -> str:
        """Quality printed the way this camera's firmware prints it."""
        return f"{self.quality:.{self.quality_decimals}f}"


@dataclass
class CameraState:
    """Everything a Set can change, plus what Gets report about the device."""

    device: DeviceInfo
    encoders: dict[str, EncoderConfig]
    imaging: dict[str, float | str]
    video_source: str
    version: int = 0

    def touch(self) -> None:
        """Record a change (rendered answers are stale)."""
        self.version += 1

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready view (``GET /sim/<camera>/state``)."""
        return {
            "device": asdict(self.device),
            "video_source": self.video_source,
            "encoders": {t: asdict(c) for t, c in self.encoders.items()},
            "imaging": dict(self.imaging),
            "version": self.version,
        }


def _int(element: Element, path: str, default: int = 0) -> int:
    text = findtext(element, path)
    return default if not text else int(float(text))


def encoder_from_xml(element: Element) -> EncoderConfig:
    """A captured ``tt:VideoEncoderConfiguration`` (or Media1 Set request) as values."""
    quality = findtext(element, "tt:Quality") or "0"
    return EncoderConfig(
        token=str(element.get("token", "")),
        name=findtext(element, "tt:Name") or "",
        use_count=_int(element, "tt:UseCount"),
        encoding=findtext(element, "tt:Encoding") or "",
        width=_int(element, "tt:Resolution/tt:Width"),
        height=_int(element, "tt:Resolution/tt:Height"),
        quality=float(quality),
        frame_rate_limit=_int(element, "tt:RateControl/tt:FrameRateLimit"),
        encoding_interval=_int(element, "tt:RateControl/tt:EncodingInterval", 1),
        bitrate_limit=_int(element, "tt:RateControl/tt:BitrateLimit"),
        gov_length=_int(element, "tt:H264/tt:GovLength")
        if find(element, "tt:H264") is not None
        else None,
        h264_profile=findtext(element, "tt:H264/tt:H264Profile"),
        quality_decimals=len(quality.partition(".")[2]),
    )


def imaging_from_xml(element: Element) -> dict[str, float | str]:
    """Every known imaging field present below ``element`` (ver10 or ver20 settings)."""
    values: dict[str, float | str] = {}
    for path in IMAGING_PATHS:
        text = findtext(element, "/".join(f"tt:{part}" for part in path.split("/")))
        if text:
            values[path] = imaging_value(path, text)
    return values


def initial_state(captures: Captures, vendor: VendorProfile) -> CameraState:
    """The state a camera of this vendor starts in (fresh per camera)."""
    info = captures.body("GetDeviceInformation")
    device = DeviceInfo(
        *(
            findtext(info, f"tds:{name}") or ""
            for name in ("Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId")
        )
    )
    configs = captures.body("GetVideoEncoderConfigurations")
    encoders = {c.token: c for c in map(encoder_from_xml, configs)}
    source = first(captures.body("GetVideoSources"), "trt:VideoSources")
    captured_imaging = find(source, "tt:Imaging")
    imaging = dict(vendor.initial_imaging)
    if captured_imaging is not None:
        imaging |= imaging_from_xml(captured_imaging)
    return CameraState(device, encoders, imaging, str(source.get("token", "")))
