"""The two vendor profiles: which captures they replay and what the captures lack.

A :class:`VendorProfile` names its capture folder (``profiles/<vendor>/``, copies of
``/work/shared/fixtures/onvif/`` kept under their MIT notice) and adds what no capture holds:
encoder options (Media1 and Media2), imaging options, Axis's initial imaging settings (its
captured GetVideoSources has no Imaging element; Hikvision's initial imaging settings come
from its capture), and which services it offers. The option values follow the two models'
data sheets and what their firmware reports over ONVIF; every value in the captures lies
inside them (tested).

Service decisions, per profile:

* **axis** (AXIS Q6045-E, firmware 5.55, ONVIF 1.2 per its GetCapabilities): no GetServices
  and no GetServiceCapabilities (answered ``ter:ActionNotSupported``; the client falls back to
  GetCapabilities), so no Media2 either. Its captured GetCapabilities lists no Imaging
  service; the simulator adds one (the Q6045-E has adjustable imaging) unless imaging is
  switched off.
* **hikvision** (DS-2DF7276-AEL): GetServices is captured. The capture's 2014 firmware
  predates Media2; the profile offers Media2 (with H.265) by default as later Hikvision
  firmware does, listed in GetServices at ``/onvif/Media2``. Switch it off per camera to get
  exactly the captured service list.

Ranges are ``(min, max)`` inclusive; exposure times in microseconds, bitrates in kbit/s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["PROFILES", "EncoderOptions", "VendorProfile", "default_captures_root"]

Range = tuple[float, float]
ImagingOption = Range | tuple[str, ...]


@dataclass(frozen=True)
class EncoderOptions:
    """What one video encoder configuration accepts."""

    resolutions: tuple[tuple[int, int], ...]
    quality: Range
    frame_rate: tuple[int, int]
    encoding_interval: tuple[int, int]
    bitrate: tuple[int, int]
    gov_length: tuple[int, int]
    h264_profiles: tuple[str, ...]
    h265_profiles: tuple[str, ...] = ()
    jpeg: bool = True

    def encodings(self, media2: bool) -> tuple[str, ...]:
        """Encodings offered: Media1 knows JPEG and H264; Media2 adds H265 where supported."""
        found = ("H264",) + (("JPEG",) if self.jpeg else ())
        return found + (("H265",) if media2 and self.h265_profiles else ())


@dataclass(frozen=True)
class VendorProfile:
    """A simulated camera model (see the module docstring)."""

    name: str
    encoder_options: dict[str, EncoderOptions]  # per encoder token; "*" for the rest
    imaging_options: dict[str, ImagingOption]  # keyed by ImagingSettings20 path
    initial_imaging: dict[str, float | str] = field(default_factory=dict)
    get_services: bool = True
    media2: bool = False
    snapshot_path: str = "/onvif/snapshot"
    media2_path: str = "/onvif/Media2"

    def options_for(self, token: str) -> EncoderOptions:
        """The options of encoder configuration ``token``."""
        return self.encoder_options.get(token) or self.encoder_options["*"]


def default_captures_root() -> Path:
    """The folder holding ``axis/`` and ``hikvision/`` (shipped inside this package)."""
    return Path(__file__).with_name("profiles")


_AXIS_RESOLUTIONS: Final = (
    (1920, 1080), (1280, 720), (1024, 576), (800, 450), (640, 360), (480, 270),
    (320, 180), (176, 144),
)  # fmt: skip
_HIK_MAIN: Final = ((1280, 960), (1280, 720), (704, 576), (704, 480), (640, 480))
_HIK_SUB: Final = ((704, 576), (704, 480), (640, 480), (352, 288), (352, 240), (320, 240))

_COMMON_IMAGING: Final[dict[str, ImagingOption]] = {
    "BacklightCompensation/Mode": ("OFF", "ON"),
    "BacklightCompensation/Level": (0.0, 100.0),
    "Brightness": (0.0, 100.0),
    "ColorSaturation": (0.0, 100.0),
    "Contrast": (0.0, 100.0),
    "Exposure/Mode": ("AUTO", "MANUAL"),
    "Exposure/Priority": ("LowNoise", "FrameRate"),
    "IrCutFilter": ("ON", "OFF", "AUTO"),
    "Sharpness": (0.0, 100.0),
    "WideDynamicRange/Mode": ("OFF", "ON"),
    "WideDynamicRange/Level": (0.0, 100.0),
    "WhiteBalance/Mode": ("AUTO", "MANUAL"),
    "WhiteBalance/CrGain": (0.0, 100.0),
    "WhiteBalance/CbGain": (0.0, 100.0),
}


def _exposure(time: Range, gain: Range, iris: Range | None) -> dict[str, ImagingOption]:
    ranges: dict[str, ImagingOption] = {
        "Exposure/MinExposureTime": time,
        "Exposure/MaxExposureTime": time,
        "Exposure/MinGain": gain,
        "Exposure/MaxGain": gain,
        "Exposure/ExposureTime": time,
        "Exposure/Gain": gain,
    }
    if iris is not None:
        ranges |= {"Exposure/MinIris": iris, "Exposure/MaxIris": iris, "Exposure/Iris": iris}
    return ranges


AXIS: Final = VendorProfile(
    name="axis",
    encoder_options={
        "*": EncoderOptions(
            resolutions=_AXIS_RESOLUTIONS,
            quality=(0, 100),
            frame_rate=(1, 30),
            encoding_interval=(0, 1),
            bitrate=(0, 50000),
            gov_length=(1, 1023),
            h264_profiles=("Baseline", "Main"),
        )
    },
    imaging_options=_COMMON_IMAGING | _exposure((30.0, 1_000_000.0), (0.0, 48.0), None),
    initial_imaging={
        "BacklightCompensation/Mode": "OFF",
        "Brightness": 50.0,
        "ColorSaturation": 50.0,
        "Contrast": 50.0,
        "Exposure/Mode": "AUTO",
        "Exposure/Priority": "FrameRate",
        "Exposure/MinExposureTime": 30.0,
        "Exposure/MaxExposureTime": 33333.0,
        "Exposure/MinGain": 0.0,
        "Exposure/MaxGain": 24.0,
        "Exposure/ExposureTime": 10000.0,
        "Exposure/Gain": 0.0,
        "IrCutFilter": "AUTO",
        "Sharpness": 50.0,
        "WideDynamicRange/Mode": "ON",
        "WideDynamicRange/Level": 50.0,
        "WhiteBalance/Mode": "AUTO",
    },
    get_services=False,
    media2=False,
    snapshot_path="/onvif-cgi/jpg/image.cgi",
)

HIKVISION: Final = VendorProfile(
    name="hikvision",
    encoder_options={
        "VideoEncoderToken_1": EncoderOptions(
            resolutions=_HIK_MAIN,
            quality=(1, 6),
            frame_rate=(1, 30),
            encoding_interval=(1, 1),
            bitrate=(32, 16384),
            gov_length=(1, 400),
            h264_profiles=("Baseline", "Main", "High"),
            h265_profiles=("Main",),
            jpeg=False,
        ),
        "*": EncoderOptions(
            resolutions=_HIK_SUB,
            quality=(1, 6),
            frame_rate=(1, 30),
            encoding_interval=(1, 1),
            bitrate=(32, 2048),
            gov_length=(1, 400),
            h264_profiles=("Baseline", "Main", "High"),
            h265_profiles=("Main",),
        ),
    },
    imaging_options=_COMMON_IMAGING | _exposure((33.0, 66666.0), (0.0, 100.0), (-22.0, 0.0)),
    get_services=True,
    media2=True,
)

PROFILES: Final[dict[str, VendorProfile]] = {"axis": AXIS, "hikvision": HIKVISION}
