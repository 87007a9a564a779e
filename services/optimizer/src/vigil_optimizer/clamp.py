"""Clamp settings to what one camera supports: never a value outside its options.

:func:`clamp` takes any settings (a heuristic's, Claude's, an operator's) and the camera's
:class:`~vigil_schema.camera_settings.CameraCapabilities`, and returns settings that lie
inside them, with one :class:`Adjustment` per value it moved or dropped:

- a numeric value outside its range is moved to the nearest bound (``clamped``);
- a resolution the encoder does not list becomes the listed one with the nearest pixel count
  (``nearest``);
- an enumerated value (encoding, H.264 profile, exposure/IR-cut/WDR/BLC mode) the camera does
  not list is dropped (``unsupported``), as is a numeric value whose range holds no valid
  setting (an inverted range, or one where only values the settings model refuses lie, such
  as a GOP range of [0, 0]); a numeric value whose range the camera does not report and every
  stream value of a profile that does not exist are dropped too (``unknown``): what cannot be
  checked is not sent.

A settings group left empty becomes None. The result of clamping a clamped value is itself
(the function is idempotent), which the property tests check.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel

from vigil_schema.camera_settings import (
    CameraCapabilities,
    CameraSettings,
    EncoderOptions,
    ExposureSettings,
    ImageSettings,
    ImagingOptions,
    LowLightSettings,
    Range,
    Resolution,
    StreamSettings,
)

__all__ = ["Adjustment", "clamp"]

AdjustmentKind = Literal["clamped", "nearest", "unsupported", "unknown"]


@dataclass(frozen=True)
class Adjustment:
    """One value :func:`clamp` changed: ``field`` is ``group.name`` (camelCase group)."""

    field: str
    kind: AdjustmentKind
    wanted: Any
    applied: Any

    def warning(self) -> str:
        """A sentence for the recommendation's warnings."""
        if self.applied is None:
            return f"{self.field}={self.wanted} is not supported by the camera; left unchanged"
        return f"{self.field}={self.wanted} is outside the camera's options; using {self.applied}"


class _Clamper:
    def __init__(self, group: str, model: type[BaseModel]) -> None:
        self.group = group
        self.model = model
        self.adjustments: list[Adjustment] = []
        self.values: dict[str, Any] = {}

    def number(self, name: str, value: float | None, span: Range | None, *, integer: bool) -> None:
        if value is None:
            return
        if span is None:
            self._note(name, "unknown", value, None)
            return
        moved: float = span.clamp(value)
        if integer:
            moved = min(max(round(moved), math.ceil(span.min)), math.floor(span.max))
        if moved not in span or not self._valid(name, moved):
            # no (integer) value inside the range (an inverted one), or only invalid settings
            self._note(name, "unsupported", value, None)
            return
        if moved != value:
            self._note(name, "clamped", value, moved)
        self.values[name] = moved

    def _valid(self, name: str, value: object) -> bool:
        try:
            self.model.model_validate({name: value})
        except ValidationError:
            return False
        return True

    def choice(self, name: str, value: str | None, allowed: Sequence[str]) -> None:
        if value is None:
            return
        match = next((a for a in allowed if a.upper() == value.upper()), None)
        if match is None:
            self._note(name, "unsupported", value, None)
            return
        # the camera's spelling, unless the settings model only takes another case ("AUTO")
        self.values[name] = match if self._valid(name, match) else value

    def resolution(self, value: Resolution | None, allowed: Sequence[Resolution]) -> None:
        if value is None:
            return
        if not allowed:
            self._note("resolution", "unknown", str(value), None)
            return
        if value in allowed:
            self.values["resolution"] = value
            return
        nearest = min(allowed, key=lambda r: (abs(r.pixels - value.pixels), -r.pixels))
        self._note("resolution", "nearest", str(value), str(nearest))
        self.values["resolution"] = nearest

    def _note(self, name: str, kind: AdjustmentKind, wanted: Any, applied: Any) -> None:
        self.adjustments.append(Adjustment(f"{self.group}.{to_camel(name)}", kind, wanted, applied))


def _stream(
    stream: StreamSettings, caps: CameraCapabilities
) -> tuple[StreamSettings | None, list[Adjustment]]:
    c = _Clamper("stream", StreamSettings)
    profile = caps.profile(stream.profile_token)
    options = profile.options if profile is not None else None
    if profile is None or options is None:
        for name, value in stream.model_dump(exclude_none=True).items():
            if name != "profile_token":
                c._note(name, "unknown", value, None)
        return None, c.adjustments
    _stream_values(c, stream, options)
    if not c.values:
        return None, c.adjustments
    return StreamSettings(profile_token=profile.token, **c.values), c.adjustments


def _stream_values(c: _Clamper, stream: StreamSettings, options: EncoderOptions) -> None:
    c.choice("encoding", stream.encoding, options.encodings)
    c.resolution(stream.resolution, options.resolutions)
    c.number("fps", stream.fps, options.fps, integer=False)
    c.number("bitrate_kbps", stream.bitrate_kbps, options.bitrate_kbps, integer=True)
    c.number("gop", stream.gop, options.gop, integer=True)
    c.number("quality", stream.quality, options.quality, integer=False)
    c.choice("h264_profile", stream.h264_profile, options.h264_profiles)


def _imaging(
    settings: CameraSettings, imaging: ImagingOptions
) -> tuple[dict[str, dict[str, Any]], list[Adjustment]]:
    groups: dict[str, dict[str, Any]] = {}
    found: list[Adjustment] = []
    if settings.exposure is not None:
        e, c = settings.exposure, _Clamper("exposure", ExposureSettings)
        c.choice("mode", e.mode, imaging.exposure_modes)
        for name in ("min_exposure_us", "max_exposure_us", "exposure_us"):
            c.number(name, getattr(e, name), imaging.exposure_time_us, integer=False)
        c.number("max_gain", e.max_gain, imaging.gain, integer=False)
        c.number("gain", e.gain, imaging.gain, integer=False)
        groups["exposure"], found = c.values, found + c.adjustments
    if settings.low_light is not None:
        low, c = settings.low_light, _Clamper("lowLight", LowLightSettings)
        c.choice("ir_cut_filter", low.ir_cut_filter, imaging.ir_cut_filter_modes)
        c.choice("wdr", low.wdr, imaging.wdr_modes)
        c.number("wdr_level", low.wdr_level, imaging.wdr_level, integer=False)
        c.choice("backlight_compensation", low.backlight_compensation, imaging.backlight_modes)
        c.number("backlight_level", low.backlight_level, imaging.backlight_level, integer=False)
        groups["low_light"], found = c.values, found + c.adjustments
    if settings.image is not None:
        i, c = settings.image, _Clamper("image", ImageSettings)
        for name in ("brightness", "contrast", "color_saturation", "sharpness"):
            c.number(name, getattr(i, name), getattr(imaging, name), integer=False)
        groups["image"], found = c.values, found + c.adjustments
    return groups, found


def clamp(
    settings: CameraSettings, caps: CameraCapabilities
) -> tuple[CameraSettings, list[Adjustment]]:
    """``settings`` inside ``caps``, and what was changed (see the module docstring)."""
    adjustments: list[Adjustment] = []
    stream = None
    if settings.stream is not None:
        stream, adjustments = _stream(settings.stream, caps)
    groups, more = _imaging(settings, caps.imaging or ImagingOptions())
    adjustments += more
    values: dict[str, Any] = {name: (v or None) for name, v in groups.items()}
    return CameraSettings.model_validate({"stream": stream, **values}), adjustments
