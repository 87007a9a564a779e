"""Clamp fixes the heuristic's property test found: odd options never crash or leak a value.

- An inverted range (min > max, as some firmware reports) holds no value: a float used to be
  moved to its min, outside the range; it is now dropped.
- A range in which only values the settings model refuses lie (a GOP range of [0, 0], an
  exposure range of [0, 0]) used to make clamp raise a pydantic ValidationError; the value
  is now dropped.
- An enumerated value the camera lists in another case (``auto``) used to be copied in the
  camera's spelling, which the settings model refuses (ValidationError); the model's
  spelling is kept.
"""

from __future__ import annotations

from vigil_optimizer.clamp import clamp
from vigil_schema.camera_settings import (
    CameraCapabilities,
    CameraSettings,
    EncoderOptions,
    ExposureSettings,
    ImageSettings,
    ImagingOptions,
    ProfileInfo,
    Range,
    StreamSettings,
)


def test_an_inverted_range_drops_the_value() -> None:
    """Brightness with a range of [100, 0] is not sent (it used to become 100)."""
    caps = CameraCapabilities(imaging=ImagingOptions(brightness=Range(min=100, max=0)))
    settings, adjustments = clamp(CameraSettings(image=ImageSettings(brightness=50)), caps)
    assert settings.image is None
    assert [(a.field, a.kind, a.applied) for a in adjustments] == [
        ("image.brightness", "unsupported", None)
    ]


def test_a_range_of_only_invalid_values_drops_the_value() -> None:
    """GOP in [0, 0] and exposure time in [0, 0]: dropped, no ValidationError."""
    options = EncoderOptions(gop=Range(min=0, max=0), fps=Range(min=1, max=30))
    caps = CameraCapabilities(
        profiles=[ProfileInfo(token="main", options=options)],
        imaging=ImagingOptions(exposure_time_us=Range(min=0, max=0)),
    )
    wanted = CameraSettings(
        stream=StreamSettings(gop=50, fps=15),
        exposure=ExposureSettings(max_exposure_us=1000),
    )
    settings, adjustments = clamp(wanted, caps)
    assert settings.stream == StreamSettings(profile_token="main", fps=15)
    assert settings.exposure is None
    assert {(a.field, a.kind) for a in adjustments} == {
        ("stream.gop", "unsupported"),
        ("exposure.maxExposureUs", "unsupported"),
    }


def test_a_mode_listed_in_lower_case_keeps_the_model_spelling() -> None:
    """The camera lists ``auto``: AUTO is kept (it used to raise a ValidationError)."""
    caps = CameraCapabilities(imaging=ImagingOptions(exposure_modes=["auto", "manual"]))
    settings, adjustments = clamp(CameraSettings(exposure=ExposureSettings(mode="AUTO")), caps)
    assert settings.exposure == ExposureSettings(mode="AUTO")
    assert adjustments == []
