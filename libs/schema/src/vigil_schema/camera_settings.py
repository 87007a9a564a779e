"""Camera settings and capabilities as the optimizer reads, recommends and applies them.

Two shared definitions, stored as JSONB and read by the optimizer, the CLI and the docs:

- :class:`CameraCapabilities` (``cameras.capabilities``): what ONVIF inspection found: device
  information, the media service version used (Media2 where offered), every media profile
  with its current encoder configuration and the options the camera allows, the imaging
  options, the snapshot URI, and ``missing``: the services or operations the camera lacks
  (``imaging``, ``media2``, ``GetVideoEncoderConfigurationOptions``...), reported, never fatal.
- :class:`CameraSettings` (``optimizations.recommended_settings`` and ``current_settings``,
  ``applied_configs.settings`` and ``previous_settings``): seed 000's four groups ``stream``,
  ``exposure``, ``lowLight`` and ``image``. Every field is optional: a recommendation names
  only what it changes; ``None`` means "leave as it is".

Units are fixed here and nowhere else: bit rates in kbit/s, frame rates in frames/s, GOP
length in frames, exposure times in microseconds (ONVIF's unit), imaging levels in the
camera's own scale (its :class:`ImagingOptions` ranges). Encodings use ONVIF's names
(``H264``, ``H265``, ``JPEG``, ``MPEG4``). JSON keys are camelCase (seed 000); Python names
are snake_case; both are accepted on input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "SETTINGS_SECTIONS",
    "CameraCapabilities",
    "CameraSettings",
    "DeviceInfo",
    "EncoderOptions",
    "ExposureSettings",
    "ImageSettings",
    "ImagingOptions",
    "LowLightSettings",
    "ProfileInfo",
    "Range",
    "Resolution",
    "SettingsSection",
    "StreamSettings",
]


class _Model(BaseModel):
    """camelCase in JSON, snake_case in Python; both accepted on input."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        alias_generator=AliasGenerator(serialization_alias=to_camel, validation_alias=to_camel),
    )

    def to_json(self) -> dict[str, object]:
        """The camelCase JSON form without unset (None) fields, for JSONB columns."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


Level = Annotated[float, Field(allow_inf_nan=False)]
OnOff = Literal["ON", "OFF"]


class Resolution(_Model):
    """A frame size in pixels."""

    width: Annotated[int, Field(ge=1, le=16384)]
    height: Annotated[int, Field(ge=1, le=16384)]

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


class Range(_Model):
    """An inclusive numeric range the camera accepts."""

    min: Level
    max: Level

    def clamp(self, value: float) -> float:
        """``value`` moved into the range."""
        return min(max(value, self.min), self.max)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.min <= value <= self.max


# -- settings ---------------------------------------------------------------------------


class StreamSettings(_Model):
    """The video encoder configuration of one media profile."""

    profile_token: str | None = None
    """The media profile these settings belong to (the camera's main profile if None)."""
    encoding: str | None = None
    resolution: Resolution | None = None
    fps: Annotated[float, Field(gt=0, le=1000)] | None = None
    bitrate_kbps: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    gop: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """GOP length (I-frame interval) in frames."""
    quality: Level | None = None
    h264_profile: str | None = None


class ExposureSettings(_Model):
    """Exposure (ONVIF imaging ``Exposure``): mode, shutter limits and gain."""

    mode: Literal["AUTO", "MANUAL"] | None = None
    min_exposure_us: Annotated[float, Field(gt=0)] | None = None
    max_exposure_us: Annotated[float, Field(gt=0)] | None = None
    """The longest shutter in AUTO mode (1/250 s = 4000 µs)."""
    exposure_us: Annotated[float, Field(gt=0)] | None = None
    """The fixed shutter in MANUAL mode."""
    max_gain: Level | None = None
    gain: Level | None = None


class LowLightSettings(_Model):
    """Day/night and dynamic range: IR-cut filter, WDR, backlight compensation."""

    ir_cut_filter: Literal["ON", "OFF", "AUTO"] | None = None
    wdr: OnOff | None = None
    wdr_level: Level | None = None
    backlight_compensation: OnOff | None = None
    backlight_level: Level | None = None


class ImageSettings(_Model):
    """Picture levels in the camera's own scale (see :class:`ImagingOptions`)."""

    brightness: Level | None = None
    contrast: Level | None = None
    color_saturation: Level | None = None
    sharpness: Level | None = None


SettingsSection = Literal["stream", "exposure", "lowLight", "image"]
SETTINGS_SECTIONS: tuple[SettingsSection, ...] = ("stream", "exposure", "lowLight", "image")


class CameraSettings(_Model):
    """Seed 000's settings groups; a missing group or field is left unchanged."""

    stream: StreamSettings | None = None
    exposure: ExposureSettings | None = None
    low_light: LowLightSettings | None = None
    image: ImageSettings | None = None

    def is_empty(self) -> bool:
        """Whether no field at all is set."""
        return all(not group for group in self.to_json().values())


# -- capabilities -----------------------------------------------------------------------


class DeviceInfo(_Model):
    """``GetDeviceInformation``."""

    manufacturer: str | None = None
    model: str | None = None
    firmware_version: str | None = None
    serial_number: str | None = None
    hardware_id: str | None = None


class EncoderOptions(_Model):
    """What a profile's video encoder accepts (``GetVideoEncoderConfigurationOptions``)."""

    encodings: list[str] = Field(default_factory=list)
    resolutions: list[Resolution] = Field(default_factory=list)
    fps: Range | None = None
    bitrate_kbps: Range | None = None
    gop: Range | None = None
    quality: Range | None = None
    h264_profiles: list[str] = Field(default_factory=list)


class ProfileInfo(_Model):
    """One media profile: its current encoder configuration and the encoder's options."""

    token: str
    name: str | None = None
    video_source_token: str | None = None
    encoder_token: str | None = None
    encoding: str | None = None
    resolution: Resolution | None = None
    fps: float | None = None
    """The frame rate limit."""
    bitrate_kbps: int | None = None
    """The bit rate limit."""
    gop: int | None = None
    quality: float | None = None
    h264_profile: str | None = None
    options: EncoderOptions | None = None

    def stream_settings(self) -> StreamSettings:
        """The profile's current encoder configuration as settings."""
        return StreamSettings(
            profile_token=self.token, encoding=self.encoding, resolution=self.resolution,
            fps=self.fps, bitrate_kbps=self.bitrate_kbps, gop=self.gop, quality=self.quality,
            h264_profile=self.h264_profile,
        )  # fmt: skip


class ImagingOptions(_Model):
    """``GetOptions`` of the imaging service for the main video source."""

    brightness: Range | None = None
    contrast: Range | None = None
    color_saturation: Range | None = None
    sharpness: Range | None = None
    exposure_modes: list[str] = Field(default_factory=list)
    exposure_time_us: Range | None = None
    gain: Range | None = None
    ir_cut_filter_modes: list[str] = Field(default_factory=list)
    wdr_modes: list[str] = Field(default_factory=list)
    wdr_level: Range | None = None
    backlight_modes: list[str] = Field(default_factory=list)
    backlight_level: Range | None = None


class CameraCapabilities(_Model):
    """What inspection found (``cameras.capabilities``); see the module docstring."""

    device: DeviceInfo = Field(default_factory=DeviceInfo)
    media_version: Literal[1, 2] = 1
    services: dict[str, str] = Field(default_factory=dict)
    """Service namespace → XAddr as the device announced them."""
    profiles: list[ProfileInfo] = Field(default_factory=list)
    video_source_token: str | None = None
    imaging: ImagingOptions | None = None
    snapshot_uri: str | None = None
    missing: list[str] = Field(default_factory=list)
    inspected_at: datetime | None = None

    def profile(self, token: str | None) -> ProfileInfo | None:
        """The profile ``token``, or the main one (the first, as cameras list it) if None."""
        if token is None:
            return self.profiles[0] if self.profiles else None
        return next((p for p in self.profiles if p.token == token), None)
