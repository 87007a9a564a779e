"""The forced tool Claude answers with, its input schema narrowed to one camera's options.

:func:`recommendation_tool` builds ``recommend_camera_settings`` for a camera: its input is
:class:`~vigil_schema.camera_settings.CameraSettings`' JSON (``stream``, ``exposure``,
``lowLight``, ``image``, camelCase, every group and field optional) plus ``confidence``,
``explanation`` and ``warnings``, and each field is offered only as the camera allows it: an
enumerated value lists the camera's choices, a number carries the camera's range (integers
rounded inwards), a resolution is one of the encoder's, the stream group must name the
target profile (``const``), and a field or group the camera reports no options for is left out.
So an answer that follows the schema is one :func:`~vigil_optimizer.clamp.clamp` leaves
unchanged, and the fake Anthropic API's generated answer (first choice, middle of each
range) is a valid recommendation. The schema depends only on the capabilities and the
target profile, so cameras of one model share it (and the prompt cache).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final

from vigil_schema.camera_settings import (
    CameraCapabilities,
    EncoderOptions,
    ImagingOptions,
    ProfileInfo,
    Range,
)

__all__ = ["MAX_EXPLANATION_CHARS", "MAX_WARNINGS", "TOOL_NAME", "recommendation_tool"]

TOOL_NAME: Final = "recommend_camera_settings"
MAX_EXPLANATION_CHARS: Final = 2000
MAX_WARNINGS: Final = 8
Schema = dict[str, Any]


def _number(span: Range | None, description: str, *, integer: bool = False) -> Schema | None:
    if span is None:
        return None
    if not integer:
        return {"type": "number", "minimum": span.min, "maximum": span.max,
                "description": description}  # fmt: skip
    low, high = math.ceil(span.min), math.floor(span.max)
    if low > high:
        return None
    return {"type": "integer", "minimum": low, "maximum": high, "description": description}


def _choice(offered: Iterable[str], allowed: tuple[str, ...], description: str) -> Schema | None:
    upper = {value.upper() for value in offered}
    values = [value for value in allowed if value in upper]
    return {"type": "string", "enum": values, "description": description} if values else None


def _strings(offered: list[str], description: str) -> Schema | None:
    return (
        {"type": "string", "enum": list(offered), "description": description} if offered else None
    )


def _group(properties: dict[str, Schema | None], description: str) -> Schema | None:
    kept = {name: sub for name, sub in properties.items() if sub is not None}
    if not kept:
        return None
    return {"type": "object", "properties": kept, "additionalProperties": False,
            "description": description}  # fmt: skip


def _stream(profile: ProfileInfo, options: EncoderOptions) -> Schema | None:
    sizes = [{"width": r.width, "height": r.height} for r in options.resolutions]
    resolution = None
    if sizes:
        resolution = {"type": "object", "enum": sizes, "description": "Frame size in pixels"}
    fields = {
        "encoding": _strings(options.encodings, "Video encoding"),
        "resolution": resolution,
        "fps": _number(options.fps, "Frame rate limit, frames/s"),
        "bitrateKbps": _number(options.bitrate_kbps, "Bit rate limit, kbit/s", integer=True),
        "gop": _number(options.gop, "GOP length (I-frame interval), frames", integer=True),
        "quality": _number(options.quality, "Encoder quality, the camera's scale"),
        "h264Profile": _strings(options.h264_profiles, "H.264 profile"),
    }
    group = _group(fields, f"Video encoder of media profile {profile.token}")
    if group is not None:  # the profile named, so that its values are never another's
        group["properties"] = {"profileToken": {"type": "string", "const": profile.token},
                               **group["properties"]}  # fmt: skip
        group["required"] = ["profileToken"]
    return group


def _imaging(imaging: ImagingOptions) -> dict[str, Schema | None]:
    shutter = imaging.exposure_time_us
    return {
        "exposure": _group({
            "mode": _choice(imaging.exposure_modes, ("AUTO", "MANUAL"), "Exposure mode"),
            "minExposureUs": _number(shutter, "Shortest shutter in AUTO mode, µs"),
            "maxExposureUs": _number(shutter, "Longest shutter in AUTO mode, µs"),
            "exposureUs": _number(shutter, "Fixed shutter in MANUAL mode, µs"),
            "maxGain": _number(imaging.gain, "Highest gain in AUTO mode"),
            "gain": _number(imaging.gain, "Fixed gain in MANUAL mode"),
        }, "Exposure (shutter and gain)"),
        "lowLight": _group({
            "irCutFilter": _choice(imaging.ir_cut_filter_modes, ("ON", "OFF", "AUTO"),
                                   "IR-cut filter (OFF: night mode)"),
            "wdr": _choice(imaging.wdr_modes, ("ON", "OFF"), "Wide dynamic range"),
            "wdrLevel": _number(imaging.wdr_level, "WDR level"),
            "backlightCompensation": _choice(imaging.backlight_modes, ("ON", "OFF"),
                                             "Backlight compensation (BLC)"),
            "backlightLevel": _number(imaging.backlight_level, "BLC level"),
        }, "Day/night and dynamic range"),
        "image": _group({
            "brightness": _number(imaging.brightness, "Brightness, the camera's scale"),
            "contrast": _number(imaging.contrast, "Contrast, the camera's scale"),
            "colorSaturation": _number(imaging.color_saturation, "Saturation"),
            "sharpness": _number(imaging.sharpness, "Sharpness, the camera's scale"),
        }, "Picture levels"),
    }  # fmt: skip


def _answer_fields() -> dict[str, Schema]:
    return {
        "confidence": {"type": "number", "minimum": 0, "maximum": 1,
                       "description": "How sure you are that the change improves the picture"},
        "explanation": {"type": "string", "minLength": 1, "maxLength": MAX_EXPLANATION_CHARS,
                        "description": "Why, citing the rules and what the snapshot shows"},
        "warnings": {"type": "array", "items": {"type": "string", "maxLength": 300},
                     "maxItems": MAX_WARNINGS,
                     "description": "Trade-offs the operator should know (bandwidth, noise)"},
    }  # fmt: skip


def recommendation_tool(caps: CameraCapabilities, profile_token: str | None) -> dict[str, Any]:
    """The tool for this camera, its stream group for ``profile_token`` (None: the main one)."""
    groups: dict[str, Schema | None] = {}
    profile = caps.profile(profile_token)
    if profile is not None and profile.options is not None:
        groups["stream"] = _stream(profile, profile.options)
    if caps.imaging is not None:
        groups.update(_imaging(caps.imaging))
    properties = {name: sub for name, sub in groups.items() if sub is not None}
    schema = {
        "type": "object",
        "properties": {**properties, **_answer_fields()},
        "required": ["confidence", "explanation"],
        "additionalProperties": False,
    }
    description = (
        "Record the recommended camera settings: only the values to change, each within the "
        "camera's options as this schema gives them, with a confidence and an explanation."
    )
    return {"name": TOOL_NAME, "description": description, "input_schema": schema}
