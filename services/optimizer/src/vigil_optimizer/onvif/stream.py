"""The ``stream`` section written into a video encoder configuration, Media 1 or Media 2.

Both functions take the plain-dict form of the camera's current configuration
(``zeep.helpers.serialize_object``) and return a copy with only the fields set in
:class:`StreamSettings` changed, ready for ``SetVideoEncoderConfiguration``. Media 1 keeps the
GOP and H.264 profile in the codec's own element (``H264`` / ``MPEG4``) and cannot encode
H.265; Media 2 keeps them in the ``GovLength`` and ``Profile`` attributes. A change the
service cannot express raises ``ValueError`` (the link reports it as ``unsupported``).
Vendor adjustments come from :class:`~vigil_optimizer.onvif.quirks.Quirks`.
"""

from __future__ import annotations

import copy
from typing import Any

from vigil_schema.camera_settings import StreamSettings

from .encoders import normalize_encoding
from .quirks import Quirks
from .values import whole

__all__ = ["apply_stream_media1", "apply_stream_media2"]

_MEDIA1_ENCODINGS = ("JPEG", "MPEG4", "H264")


def _group(config: dict[str, Any], name: str) -> dict[str, Any]:
    group = config.get(name)
    if not isinstance(group, dict):
        group = {}
        config[name] = group
    return group


def _common(config: dict[str, Any], stream: StreamSettings) -> None:
    """Resolution, rate control and quality: the same elements in Media 1 and 2."""
    if stream.resolution is not None:
        config["Resolution"] = {
            **(config.get("Resolution") or {}),
            "Width": stream.resolution.width,
            "Height": stream.resolution.height,
        }
    if stream.fps is not None:
        _group(config, "RateControl")["FrameRateLimit"] = stream.fps
    if stream.bitrate_kbps is not None:
        _group(config, "RateControl")["BitrateLimit"] = stream.bitrate_kbps
    if stream.quality is not None:
        config["Quality"] = stream.quality


def apply_stream_media1(
    current: dict[str, Any], stream: StreamSettings, quirks: Quirks
) -> dict[str, Any]:
    """A Media 1 ``tt:VideoEncoderConfiguration`` with the set stream fields changed."""
    config = copy.deepcopy(current)
    encoding = normalize_encoding(stream.encoding) if stream.encoding else None
    if encoding is not None:
        if encoding not in _MEDIA1_ENCODINGS:
            raise ValueError(f"Media 1 cannot encode {encoding}")
        config["Encoding"] = encoding
    _common(config, stream)
    if isinstance(config.get("RateControl"), dict):
        _fps_as_int(config["RateControl"])
        quirks.prepare_rate_control(config["RateControl"])
    codec = normalize_encoding(config.get("Encoding"))
    if stream.gop is not None or stream.h264_profile is not None:
        if codec not in ("H264", "MPEG4"):
            raise ValueError(f"{codec} has no GOP or profile to set")
        element = _group(config, codec)
        if stream.gop is not None:
            element["GovLength"] = stream.gop
        if stream.h264_profile is not None:
            if codec != "H264":
                raise ValueError("an H.264 profile needs the H264 encoding")
            element["H264Profile"] = stream.h264_profile
    return config


def _fps_as_int(rate_control: dict[str, Any]) -> None:
    """Media 1's ``FrameRateLimit`` is an xs:int."""
    fps = whole(rate_control.get("FrameRateLimit"))
    if fps is not None:
        rate_control["FrameRateLimit"] = max(fps, 1)


def apply_stream_media2(current: dict[str, Any], stream: StreamSettings) -> dict[str, Any]:
    """A Media 2 ``tt:VideoEncoder2Configuration`` with the set stream fields changed."""
    config = copy.deepcopy(current)
    if stream.encoding is not None:
        encoding = normalize_encoding(stream.encoding)
        config["Encoding"] = "MPV4-ES" if encoding == "MPEG4" else encoding  # Media 2's name
    _common(config, stream)
    if stream.gop is not None:
        config["GovLength"] = stream.gop
    if stream.h264_profile is not None:
        config["Profile"] = stream.h264_profile
    return config
