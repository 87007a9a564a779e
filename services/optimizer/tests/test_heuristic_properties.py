"""Property tests of the heuristic engine: always inside the camera's options, never raising.

Capabilities are generated at random (encoder options with random encodings, resolution lists,
ranges, some missing or inverted as odd firmware reports them; imaging options likewise;
profiles with odd current values), and so are contexts (purpose, scene, lighting, speed,
motion, health, bandwidth share, current settings, including values no camera should send).
Every recommended value is checked against the options directly, not through clamp.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil_optimizer.heuristic import RULE_IDS, HeuristicEngine
from vigil_optimizer.recommendation import RecommendationContext, SnapshotHealth
from vigil_schema.camera_settings import (
    CameraCapabilities,
    CameraSettings,
    EncoderOptions,
    ExposureSettings,
    ImageSettings,
    ImagingOptions,
    LowLightSettings,
    ProfileInfo,
    Range,
    Resolution,
    StreamSettings,
)

ANOMALIES = ["too_dark", "too_bright", "high_noise", "blurred", "low_contrast",
             "overexposed_highlights", "unheard_of"]  # fmt: skip
PURPOSES = ["overview", "facial", "plates", "detection", "LPR", "Face", "weird", "", None]
SCENES = ["indoor", "outdoor", "entrance", "parking", "gate", "vehicle_entrance", "x", None]
LIGHTINGS = ["daylight", "artificial", "low_light", "backlit", "mixed", "neon", None]

bounds = st.floats(min_value=-1e5, max_value=1e6, allow_nan=False, allow_infinity=False)
ranges = st.one_of(st.none(), st.builds(lambda a, b: Range(min=a, max=b), bounds, bounds))
sorted_ranges = st.one_of(
    st.none(), st.builds(lambda a, b: Range(min=min(a, b), max=max(a, b)), bounds, bounds)
)
resolutions = st.builds(
    lambda w, h: Resolution(width=w, height=h),
    st.integers(min_value=1, max_value=8000),
    st.integers(min_value=1, max_value=8000),
)
common_resolutions = st.sampled_from(
    [
        Resolution(width=w, height=h)
        for w, h in ((1920, 1080), (1280, 720), (640, 480), (3840, 2160))
    ]
)
any_resolution = st.one_of(common_resolutions, resolutions)
names = st.lists(st.sampled_from(["H264", "H265", "JPEG", "MPEG4", "h264"]), unique=True)
levels = st.floats(min_value=-1e5, max_value=1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.5, max_value=1e6, allow_nan=False, allow_infinity=False)


def _either(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


encoder_options = st.builds(
    EncoderOptions,
    encodings=names,
    resolutions=st.lists(any_resolution, max_size=5),
    fps=st.one_of(ranges, sorted_ranges),
    bitrate_kbps=st.one_of(ranges, sorted_ranges),
    gop=st.one_of(ranges, sorted_ranges),
    quality=ranges,
    h264_profiles=st.lists(st.sampled_from(["Baseline", "Main", "High"]), unique=True),
)
imaging_options = st.builds(
    ImagingOptions,
    brightness=ranges, contrast=ranges, color_saturation=ranges, sharpness=ranges,
    exposure_modes=st.lists(st.sampled_from(["AUTO", "MANUAL", "auto"]), unique=True),
    exposure_time_us=st.one_of(ranges, sorted_ranges), gain=st.one_of(ranges, sorted_ranges),
    ir_cut_filter_modes=st.lists(st.sampled_from(["ON", "OFF", "AUTO"]), unique=True),
    wdr_modes=st.lists(st.sampled_from(["ON", "OFF"]), unique=True), wdr_level=ranges,
    backlight_modes=st.lists(st.sampled_from(["ON", "OFF"]), unique=True),
    backlight_level=ranges,
)  # fmt: skip


@st.composite
def capabilities(draw: st.DrawFn) -> CameraCapabilities:
    """Random capabilities: 0-3 profiles (options maybe missing), imaging maybe missing."""
    tokens = draw(st.lists(st.sampled_from(["main", "sub", "third"]), unique=True, max_size=3))
    profiles = [
        ProfileInfo(
            token=token,
            encoding=draw(_either(st.sampled_from(["H264", "H265", "JPEG"]))),
            resolution=draw(_either(any_resolution)),
            fps=draw(_either(st.floats(min_value=-5, max_value=120, allow_nan=False))),
            bitrate_kbps=draw(_either(st.integers(min_value=-10, max_value=50000))),
            gop=draw(_either(st.integers(min_value=0, max_value=500))),
            options=draw(_either(encoder_options)),
        )
        for token in tokens
    ]
    return CameraCapabilities(profiles=profiles, imaging=draw(_either(imaging_options)))


current_settings = st.builds(
    CameraSettings,
    stream=_either(st.builds(
        StreamSettings, profile_token=_either(st.sampled_from(["main", "sub", "gone"])),
        encoding=_either(st.sampled_from(["H264", "H265", "JPEG"])),
        resolution=_either(any_resolution), fps=_either(st.floats(0.5, 60)),
        bitrate_kbps=_either(st.integers(1, 20000)), gop=_either(st.integers(1, 300)),
    )),
    exposure=_either(st.builds(
        ExposureSettings, mode=_either(st.sampled_from(["AUTO", "MANUAL"])),
        min_exposure_us=_either(positive), max_exposure_us=_either(positive),
        exposure_us=_either(positive), max_gain=_either(levels), gain=_either(levels),
    )),
    low_light=_either(st.builds(
        LowLightSettings, ir_cut_filter=_either(st.sampled_from(["ON", "OFF", "AUTO"])),
        wdr=_either(st.sampled_from(["ON", "OFF"])), wdr_level=_either(levels),
        backlight_compensation=_either(st.sampled_from(["ON", "OFF"])),
    )),
    image=_either(st.builds(ImageSettings, brightness=_either(levels),
                            contrast=_either(levels))),
)  # fmt: skip

health = _either(st.builds(
    SnapshotHealth, level=st.sampled_from(["ok", "warning", "critical"]), metrics=st.just({}),
    anomalies=st.lists(st.one_of(
        st.builds(lambda t: {"type": t, "severity": "high"}, st.sampled_from(ANOMALIES)),
        st.just({"no_type": 1}),
    ), max_size=4),
))  # fmt: skip
odd_numbers = st.one_of(
    st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-100, 400)
)


@st.composite
def contexts(draw: st.DrawFn) -> RecommendationContext:
    """A random context, including values a careless caller might pass."""
    extra: dict[str, Any] = {"scene_width_m": draw(odd_numbers)}
    odd: dict[str, Any] = {
        "lighting": draw(st.sampled_from(LIGHTINGS)),
        "motion": draw(st.sampled_from(["low", "high", "sideways", None])),
        "mains_hz": draw(st.sampled_from([50, 60, 0])),
    }
    return RecommendationContext(
        camera_id="cam-1",
        capabilities=draw(capabilities()),
        current=draw(current_settings),
        scene_type=draw(st.sampled_from(SCENES)),
        purpose=draw(st.sampled_from(PURPOSES)),
        speed_kmh=draw(odd_numbers),
        health=draw(health),
        bandwidth_kbps=draw(st.one_of(st.none(), st.integers(-100, 50000))),
        extra=extra,
        **odd,
    )


def _check_range(field: str, value: float, span: Range | None) -> None:
    assert span is not None, f"{field}={value} but the camera reports no range"
    assert span.min <= value <= span.max, f"{field}={value} outside [{span.min}, {span.max}]"


def _check_choice(field: str, value: str, allowed: list[str]) -> None:
    """Names match as clamp matches them: case-insensitively (``auto`` lists ``AUTO``)."""
    assert value.upper() in {a.upper() for a in allowed}, f"{field}={value} not among {allowed}"


def _check_stream(stream: StreamSettings, caps: CameraCapabilities) -> None:
    profile = next((p for p in caps.profiles if p.token == stream.profile_token), None)
    if stream.profile_token is None and caps.profiles:
        profile = caps.profiles[0]
    assert profile is not None
    assert profile.options is not None
    options = profile.options
    if stream.encoding is not None:
        _check_choice("encoding", stream.encoding, options.encodings)
    if stream.resolution is not None:
        assert stream.resolution in options.resolutions
    if stream.h264_profile is not None:
        _check_choice("h264Profile", stream.h264_profile, options.h264_profiles)
    for name, span in (("fps", options.fps), ("bitrate_kbps", options.bitrate_kbps),
                       ("gop", options.gop), ("quality", options.quality)):  # fmt: skip
        value = getattr(stream, name)
        if value is not None:
            _check_range(name, value, span)


def _check_imaging(settings: CameraSettings, imaging: ImagingOptions) -> None:
    if (e := settings.exposure) is not None:
        if e.mode is not None:
            _check_choice("mode", e.mode, imaging.exposure_modes)
        for name in ("min_exposure_us", "max_exposure_us", "exposure_us"):
            if (value := getattr(e, name)) is not None:
                _check_range(name, value, imaging.exposure_time_us)
        for value in (e.max_gain, e.gain):
            if value is not None:
                _check_range("gain", value, imaging.gain)
    if (low := settings.low_light) is not None:
        for value, allowed in ((low.ir_cut_filter, imaging.ir_cut_filter_modes),
                               (low.wdr, imaging.wdr_modes),
                               (low.backlight_compensation, imaging.backlight_modes)):  # fmt: skip
            if value is not None:
                _check_choice("lowLight", value, allowed)
        if low.wdr_level is not None:
            _check_range("wdrLevel", low.wdr_level, imaging.wdr_level)
        if low.backlight_level is not None:
            _check_range("backlightLevel", low.backlight_level, imaging.backlight_level)
    if (image := settings.image) is not None:
        for name in ("brightness", "contrast", "color_saturation", "sharpness"):
            if (value := getattr(image, name)) is not None:
                _check_range(name, value, getattr(imaging, name))


def _check_only_changes(settings: CameraSettings, current: CameraSettings) -> None:
    for group in ("stream", "exposure", "low_light", "image"):
        wanted, now = getattr(settings, group), getattr(current, group)
        if wanted is None or now is None:
            continue
        for name, value in wanted.model_dump(exclude_none=True).items():
            if name != "profile_token" and name in now.model_fields_set:
                same = getattr(now, name)
                same = same.model_dump() if hasattr(same, "model_dump") else same
                assert value != same, f"{group}.{name}={value} is the current value"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(context=contexts())
def test_recommendations_lie_within_random_capabilities(context: RecommendationContext) -> None:
    """Every value is inside the options, nothing equals the current value, nothing raises."""
    rec = HeuristicEngine().recommend_sync(context)
    assert not [w for w in rec.warnings if "failed" in w], rec.warnings
    assert rec.provider == "heuristic"
    assert 0.0 <= rec.confidence <= 1.0
    assert set(rec.rules) <= RULE_IDS
    assert rec.processing_time_ms is not None
    assert rec.processing_time_ms >= 0
    settings_ = rec.settings
    if settings_.stream is not None:
        _check_stream(settings_.stream, context.capabilities)
    if any(g is not None for g in (settings_.exposure, settings_.low_light, settings_.image)):
        assert context.capabilities.imaging is not None
        _check_imaging(settings_, context.capabilities.imaging)
    _check_only_changes(settings_, context.current)
    assert all(math.isfinite(v) for v in _numbers(settings_.to_json()))


def _numbers(tree: object) -> list[float]:
    if isinstance(tree, dict):
        return [n for v in tree.values() for n in _numbers(v)]
    return [float(tree)] if isinstance(tree, int | float) and not isinstance(tree, bool) else []


@settings(max_examples=50, deadline=None)
@given(context=contexts())
def test_the_async_engine_gives_the_same_answer(context: RecommendationContext) -> None:
    """``recommend`` (the protocol's coroutine) agrees with ``recommend_sync``."""
    engine = HeuristicEngine()
    answer, again = asyncio.run(engine.recommend(context)), engine.recommend_sync(context)
    assert (answer.settings, answer.rules, answer.confidence) == (
        again.settings, again.rules, again.confidence,
    )  # fmt: skip
