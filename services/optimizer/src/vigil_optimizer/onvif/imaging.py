"""The imaging service (ver20) in Vigil's terms: options, current settings, and changes.

- :func:`imaging_options` reads ``GetOptions`` (``tt:ImagingOptions20``) as
  :class:`ImagingOptions`;
- :func:`imaging_settings` reads ``GetImagingSettings`` (``tt:ImagingSettings20``) as the
  ``exposure`` / ``lowLight`` / ``image`` groups of :class:`CameraSettings`;
- :func:`apply_imaging` writes the fields set in those groups into the plain-dict form of
  the current ``ImagingSettings20`` (``zeep.helpers.serialize_object``), leaving every other
  element as the camera sent it, for ``SetImagingSettings``.

Exposure times are microseconds in ONVIF and here.
"""

from __future__ import annotations

import copy
from typing import Any

from vigil_schema.camera_settings import (
    CameraSettings,
    ExposureSettings,
    ImageSettings,
    ImagingOptions,
    LowLightSettings,
    Range,
)

from .values import field, items, number, positive, range_of, text, upper_choice

__all__ = ["apply_imaging", "imaging_options", "imaging_settings"]

_ON_OFF = ("ON", "OFF")


def _modes(value: Any) -> list[str]:
    return [m.upper() for m in (text(v) for v in items(value)) if m is not None]


def _span(*ranges: Range | None) -> Range | None:
    """The smallest range covering all given ones."""
    found = [r for r in ranges if r is not None]
    if not found:
        return None
    return Range(min=min(r.min for r in found), max=max(r.max for r in found))


def imaging_options(options: Any) -> ImagingOptions:
    """``GetOptions`` of the imaging service as :class:`ImagingOptions`."""
    exposure = field(options, "Exposure")
    return ImagingOptions(
        brightness=range_of(field(options, "Brightness")),
        contrast=range_of(field(options, "Contrast")),
        color_saturation=range_of(field(options, "ColorSaturation")),
        sharpness=range_of(field(options, "Sharpness")),
        exposure_modes=_modes(field(exposure, "Mode")),
        exposure_time_us=_span(
            range_of(field(exposure, "ExposureTime")),
            range_of(field(exposure, "MinExposureTime")),
            range_of(field(exposure, "MaxExposureTime")),
        ),
        gain=_span(
            range_of(field(exposure, "Gain")),
            range_of(field(exposure, "MinGain")),
            range_of(field(exposure, "MaxGain")),
        ),
        ir_cut_filter_modes=_modes(field(options, "IrCutFilterModes")),
        wdr_modes=_modes(field(options, "WideDynamicRange", "Mode")),
        wdr_level=range_of(field(options, "WideDynamicRange", "Level")),
        backlight_modes=_modes(field(options, "BacklightCompensation", "Mode")),
        backlight_level=range_of(field(options, "BacklightCompensation", "Level")),
    )


def imaging_settings(settings: Any) -> CameraSettings:
    """``GetImagingSettings`` as the exposure / lowLight / image groups."""
    exposure = field(settings, "Exposure")
    return CameraSettings(
        exposure=ExposureSettings(
            mode=upper_choice(field(exposure, "Mode"), ("AUTO", "MANUAL")),
            min_exposure_us=positive(field(exposure, "MinExposureTime")),
            max_exposure_us=positive(field(exposure, "MaxExposureTime")),
            exposure_us=positive(field(exposure, "ExposureTime")),
            max_gain=number(field(exposure, "MaxGain")),
            gain=number(field(exposure, "Gain")),
        ),
        low_light=LowLightSettings(
            ir_cut_filter=upper_choice(field(settings, "IrCutFilter"), ("ON", "OFF", "AUTO")),
            wdr=upper_choice(field(settings, "WideDynamicRange", "Mode"), _ON_OFF),
            wdr_level=number(field(settings, "WideDynamicRange", "Level")),
            backlight_compensation=upper_choice(
                field(settings, "BacklightCompensation", "Mode"), _ON_OFF
            ),
            backlight_level=number(field(settings, "BacklightCompensation", "Level")),
        ),
        image=ImageSettings(
            brightness=number(field(settings, "Brightness")),
            contrast=number(field(settings, "Contrast")),
            color_saturation=number(field(settings, "ColorSaturation")),
            sharpness=number(field(settings, "Sharpness")),
        ),
    )


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``target[p0][p1]...`` to ``value`` when it is not None, creating groups."""
    if value is None:
        return
    for name in path[:-1]:
        child = target.get(name)
        if not isinstance(child, dict):
            child = {}
            target[name] = child
        target = child
    target[path[-1]] = value


def apply_imaging(current: dict[str, Any], settings: CameraSettings) -> dict[str, Any]:
    """``current`` (a serialized ImagingSettings20) with the set imaging fields changed."""
    result = copy.deepcopy(current)
    exposure, low, image = settings.exposure, settings.low_light, settings.image
    if exposure is not None:
        _put(result, ("Exposure", "Mode"), exposure.mode)
        _put(result, ("Exposure", "MinExposureTime"), exposure.min_exposure_us)
        _put(result, ("Exposure", "MaxExposureTime"), exposure.max_exposure_us)
        _put(result, ("Exposure", "ExposureTime"), exposure.exposure_us)
        _put(result, ("Exposure", "MaxGain"), exposure.max_gain)
        _put(result, ("Exposure", "Gain"), exposure.gain)
    if low is not None:
        _put(result, ("IrCutFilter",), low.ir_cut_filter)
        _put(result, ("WideDynamicRange", "Mode"), low.wdr)
        _put(result, ("WideDynamicRange", "Level"), low.wdr_level)
        _put(result, ("BacklightCompensation", "Mode"), low.backlight_compensation)
        _put(result, ("BacklightCompensation", "Level"), low.backlight_level)
    if image is not None:
        _put(result, ("Brightness",), image.brightness)
        _put(result, ("Contrast",), image.contrast)
        _put(result, ("ColorSaturation",), image.color_saturation)
        _put(result, ("Sharpness",), image.sharpness)
    return result
