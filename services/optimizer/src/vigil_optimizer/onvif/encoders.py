"""Media profiles and video encoder options, from Media (ver10) or Media 2 (ver20) answers.

:func:`profile_media1` / :func:`profile_media2` turn one ``GetProfiles`` entry into a
:class:`ProfileInfo` (token, name, video source, current encoder configuration);
:func:`options_media1` / :func:`options_media2` turn ``GetVideoEncoderConfigurationOptions``
into :class:`EncoderOptions`, with the ranges of the profile's current encoding. Encodings use
ONVIF's Media 1 names (``H264``, ``H265``, ``JPEG``, ``MPEG4``): Media 2's MIME names are
mapped (``MPV4-ES`` → ``MPEG4``, ``HEVC`` → ``H265``). A bit rate limit of 0 or less is no
limit (``None``), as is any value the camera could not state properly.
"""

from __future__ import annotations

from typing import Any

from vigil_schema.camera_settings import EncoderOptions, ProfileInfo, Range, Resolution

from .values import field, items, number, positive, range_of, resolution_of, text, whole

__all__ = [
    "normalize_encoding",
    "options_media1",
    "options_media2",
    "profile_media1",
    "profile_media2",
]

_ENCODING_ALIASES = {
    "MPV4-ES": "MPEG4",
    "MP4V-ES": "MPEG4",
    "HEVC": "H265",
    "AVC": "H264",
    "H.264": "H264",
    "H.265": "H265",
    "MJPEG": "JPEG",
}
_MEDIA1_SECTIONS = (("JPEG", "JPEG"), ("MPEG4", "MPEG4"), ("H264", "H264"))


def normalize_encoding(value: Any) -> str | None:
    """``H264``/``H265``/``JPEG``/``MPEG4`` (or the camera's upper-cased name)."""
    raw = text(value)
    if raw is None:
        return None
    upper = raw.upper()
    return _ENCODING_ALIASES.get(upper, upper)


def _bitrate(value: Any) -> int | None:
    limit = positive(value)
    return None if limit is None else min(round(limit), 1_000_000)


def _fps(value: Any) -> float | None:
    fps = positive(value)
    return fps if fps is not None and fps <= 1000 else None


def _gop(value: Any) -> int | None:
    gop = whole(value)
    return gop if gop is not None and 1 <= gop <= 100_000 else None


def profile_media1(profile: Any) -> ProfileInfo | None:
    """A Media 1 ``tt:Profile`` as :class:`ProfileInfo` (``None`` without a token)."""
    token = text(field(profile, "token"))
    if token is None:
        return None
    encoder = field(profile, "VideoEncoderConfiguration")
    encoding = normalize_encoding(field(encoder, "Encoding"))
    codec = field(encoder, "H264") if encoding == "H264" else field(encoder, "MPEG4")
    return ProfileInfo(
        token=token,
        name=text(field(profile, "Name")),
        video_source_token=text(field(profile, "VideoSourceConfiguration", "SourceToken")),
        encoder_token=text(field(encoder, "token")),
        encoding=encoding,
        resolution=resolution_of(field(encoder, "Resolution")),
        fps=_fps(field(encoder, "RateControl", "FrameRateLimit")),
        bitrate_kbps=_bitrate(field(encoder, "RateControl", "BitrateLimit")),
        gop=_gop(field(codec, "GovLength")),
        quality=number(field(encoder, "Quality")),
        h264_profile=text(field(encoder, "H264", "H264Profile")) if encoding == "H264" else None,
    )


def profile_media2(profile: Any) -> ProfileInfo | None:
    """A Media 2 ``tr2:MediaProfile`` as :class:`ProfileInfo` (``None`` without a token)."""
    token = text(field(profile, "token"))
    if token is None:
        return None
    encoder = field(profile, "Configurations", "VideoEncoder")
    return ProfileInfo(
        token=token,
        name=text(field(profile, "Name")),
        video_source_token=text(field(profile, "Configurations", "VideoSource", "SourceToken")),
        encoder_token=text(field(encoder, "token")),
        encoding=normalize_encoding(field(encoder, "Encoding")),
        resolution=resolution_of(field(encoder, "Resolution")),
        fps=_fps(field(encoder, "RateControl", "FrameRateLimit")),
        bitrate_kbps=_bitrate(field(encoder, "RateControl", "BitrateLimit")),
        gop=_gop(field(encoder, "GovLength")),
        quality=number(field(encoder, "Quality")),
        h264_profile=text(field(encoder, "Profile")),
    )


def _resolutions(values: Any) -> list[Resolution]:
    found = [resolution_of(value) for value in items(values)]
    unique = {(r.width, r.height): r for r in found if r is not None}
    return sorted(unique.values(), key=lambda r: (r.pixels, r.width), reverse=True)


def _texts(values: Any) -> list[str]:
    return [t for t in (text(v) for v in items(values)) if t is not None]


def options_media1(options: Any, encoding: str | None) -> EncoderOptions:
    """Media 1 ``VideoEncoderConfigurationOptions`` for a profile currently in ``encoding``."""
    present = [name for name, key in _MEDIA1_SECTIONS if field(options, key) is not None]
    chosen = encoding if encoding in present else (present[-1] if present else None)
    section = field(options, chosen) if chosen else None
    extension = field(options, "Extension", chosen) if chosen else None
    return EncoderOptions(
        encodings=present,
        resolutions=_resolutions(field(section, "ResolutionsAvailable")),
        fps=range_of(field(section, "FrameRateRange")),
        bitrate_kbps=range_of(field(extension, "BitrateRange")),
        gop=range_of(field(section, "GovLengthRange")),
        quality=range_of(field(options, "QualityRange")),
        h264_profiles=_texts(field(options, "H264", "H264ProfilesSupported")),
    )


def _attr_range(values: Any) -> Range | None:
    """A range from an attribute list (``GovLengthRange="1 400"``, ``FrameRatesSupported``)."""
    numbers = [n for n in (number(v) for v in _split(values)) if n is not None]
    return Range(min=min(numbers), max=max(numbers)) if numbers else None


def _split(values: Any) -> list[Any]:
    if isinstance(values, str):
        return values.split()
    return items(values)


def options_media2(options: Any, encoding: str | None) -> EncoderOptions:
    """Media 2 ``GetVideoEncoderConfigurationOptions`` (one entry per encoding)."""
    entries = items(options)
    by_encoding = {normalize_encoding(field(e, "Encoding")): e for e in entries}
    by_encoding.pop(None, None)
    chosen = by_encoding.get(encoding) or (entries[0] if entries else None)
    h264 = by_encoding.get("H264")
    return EncoderOptions(
        encodings=[name for name in by_encoding if name is not None],
        resolutions=_resolutions(field(chosen, "ResolutionsAvailable")),
        fps=_attr_range(field(chosen, "FrameRatesSupported")),
        bitrate_kbps=range_of(field(chosen, "BitrateRange")),
        gop=_attr_range(field(chosen, "GovLengthRange")),
        quality=range_of(field(chosen, "QualityRange")),
        h264_profiles=[p for p in (text(v) for v in _split(field(h264, "ProfilesSupported"))) if p],
    )
