"""Refuse what the camera's options do not allow, as real firmware does.

:func:`check_encoder` and :func:`check_imaging` raise :class:`SoapFault`
``env:Sender / ter:InvalidArgVal / ter:ConfigModify`` (``ter:SettingsInvalid`` for imaging)
naming the first offending field; nothing is applied when they raise.
"""

from __future__ import annotations

from collections.abc import Mapping

from vigil_tools.onvif_sim.model import EncoderConfig
from vigil_tools.onvif_sim.vendors import EncoderOptions, ImagingOption
from vigil_tools.onvif_sim.xmlkit import SoapFault

__all__ = ["check_encoder", "check_imaging"]


def _within(name: str, value: float, bounds: tuple[float, float], detail: str) -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise SoapFault.invalid_arg(
            detail, f"{name} {value:g} outside [{bounds[0]:g}, {bounds[1]:g}]"
        )


def check_encoder(config: EncoderConfig, options: EncoderOptions, media2: bool) -> None:
    """Raise unless every value of ``config`` lies within ``options``."""
    detail = "ConfigModify"
    encodings = options.encodings(media2)
    if config.encoding not in encodings:
        raise SoapFault.invalid_arg(detail, f"Encoding {config.encoding!r} not in {encodings}")
    if (config.width, config.height) not in options.resolutions:
        raise SoapFault.invalid_arg(
            detail, f"Resolution {config.width}x{config.height} not available"
        )
    _within("Quality", config.quality, options.quality, detail)
    _within("FrameRateLimit", config.frame_rate_limit, options.frame_rate, detail)
    _within("EncodingInterval", config.encoding_interval, options.encoding_interval, detail)
    _within("BitrateLimit", config.bitrate_limit, options.bitrate, detail)
    if config.encoding in ("H264", "H265"):
        if config.gov_length is None:
            raise SoapFault.invalid_arg(detail, f"{config.encoding} needs a GovLength")
        _within("GovLength", config.gov_length, options.gov_length, detail)
        allowed = options.h264_profiles if config.encoding == "H264" else options.h265_profiles
        if config.h264_profile is not None and config.h264_profile not in allowed:
            raise SoapFault.invalid_arg(
                detail, f"{config.encoding} profile {config.h264_profile!r} not in {allowed}"
            )


def check_imaging(
    merged: Mapping[str, float | str], changed: Mapping[str, float | str],
    options: Mapping[str, ImagingOption],
) -> None:  # fmt: skip
    """Raise unless each changed field is allowed and the merged exposure limits are ordered."""
    detail = "SettingsInvalid"
    for path, value in changed.items():
        option = options.get(path)
        if option is None:
            continue
        if isinstance(value, str):
            if value not in option:
                raise SoapFault.invalid_arg(detail, f"{path} {value!r} not in {option}")
        elif isinstance(option[0], str):
            raise SoapFault.invalid_arg(detail, f"{path} must be one of {option}")
        else:
            low, high = float(option[0]), float(option[1])
            _within(path, value, (low, high), detail)
    for lower, upper in (("MinExposureTime", "MaxExposureTime"), ("MinGain", "MaxGain")):
        lo, hi = merged.get(f"Exposure/{lower}"), merged.get(f"Exposure/{upper}")
        if isinstance(lo, float) and isinstance(hi, float) and lo > hi:
            raise SoapFault.invalid_arg(detail, f"Exposure {lower} {lo:g} above {upper} {hi:g}")
