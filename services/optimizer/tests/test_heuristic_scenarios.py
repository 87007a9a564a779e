"""Table-driven scenarios of the heuristic engine: scene × purpose × lighting × speed × budget.

Every expectation names the documented rule (docs/optimizer-rules.md) that must have fired
and what it must have done to one field of the recommendation, on a camera with realistic
options (four resolutions up to 2688x1512, 1–30 fps, H.264/H.265/JPEG, exposure 10 µs–
1/15 s, gain/brightness/contrast/WDR levels 0–100). A last test checks that the table cites
every rule and that every rule is documented with its source.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from vigil_optimizer.heuristic import RULE_IDS, RULES, HeuristicEngine
from vigil_optimizer.recommendation import Recommendation, RecommendationContext, SnapshotHealth
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

DOCS = Path(__file__).resolve().parents[3] / "docs" / "optimizer-rules.md"
R4MP, R1080, R720, R360 = (Resolution(width=w, height=h) for w, h in
                           ((2688, 1512), (1920, 1080), (1280, 720), (640, 360)))  # fmt: skip
CAMERA = CameraCapabilities(
    profiles=[ProfileInfo(
        token="main", encoding="H264", resolution=R720, fps=25, bitrate_kbps=6000, gop=50,
        options=EncoderOptions(
            encodings=["H264", "H265", "JPEG"], resolutions=[R4MP, R1080, R720, R360],
            fps=Range(min=1, max=30), bitrate_kbps=Range(min=64, max=20000),
            gop=Range(min=1, max=300), h264_profiles=["Main", "High"],
        ),
    )],
    imaging=ImagingOptions(
        brightness=Range(min=0, max=100), contrast=Range(min=0, max=100),
        exposure_modes=["AUTO", "MANUAL"], exposure_time_us=Range(min=10, max=66666),
        gain=Range(min=0, max=100), ir_cut_filter_modes=["ON", "OFF", "AUTO"],
        wdr_modes=["ON", "OFF"], wdr_level=Range(min=0, max=100), backlight_modes=["ON", "OFF"],
    ),
)  # fmt: skip
CURRENT = CameraSettings(
    exposure=ExposureSettings(mode="AUTO", max_exposure_us=33333, max_gain=100),
    low_light=LowLightSettings(ir_cut_filter="ON", wdr="OFF", backlight_compensation="OFF"),
    image=ImageSettings(brightness=50, contrast=50),
)
OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt}


@dataclass(frozen=True)
class Expect:
    """``rule`` fired and ``field`` (``group.name``) ``op`` ``value``.

    ``op`` ``absent``: the rule did not fire and the field is not recommended; ``warns``: a
    warning contains ``value``; ``unset``: the rule fired but left ``field`` alone.
    """

    rule: str
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Scenario:
    """One row: the camera's context and what the recommendation must hold."""

    name: str
    expects: tuple[Expect, ...]
    scene: str | None = None
    purpose: str | None = None
    lighting: str | None = None
    speed_kmh: float | None = None
    bandwidth_kbps: int | None = None
    mains_hz: int = 50
    motion: str | None = None
    anomalies: tuple[str, ...] = ()
    current: CameraSettings = CURRENT
    extra: dict[str, Any] = field(default_factory=dict)

    def context(self) -> RecommendationContext:
        health = SnapshotHealth(
            level="warning" if self.anomalies else "ok", metrics={},
            anomalies=[{"type": t, "severity": "medium", "message": t} for t in self.anomalies],
        )  # fmt: skip
        odd: dict[str, Any] = {"lighting": self.lighting, "mains_hz": self.mains_hz,
                               "motion": self.motion}  # fmt: skip
        return RecommendationContext(
            camera_id=self.name, capabilities=CAMERA, current=self.current, site="hq",
            scene_type=self.scene, purpose=self.purpose, speed_kmh=self.speed_kmh,
            health=health, bandwidth_kbps=self.bandwidth_kbps, extra=self.extra, **odd,
        )  # fmt: skip


def _stream(**values: Any) -> CameraSettings:
    return CURRENT.model_copy(update={"stream": StreamSettings(profile_token="main", **values)})


def _exposure(**values: Any) -> CameraSettings:
    return CURRENT.model_copy(update={"exposure": ExposureSettings(**values)})


SCENARIOS = [
    Scenario("plates-gate-daylight-90", scene="gate", purpose="plates", lighting="daylight",
             speed_kmh=90, current=_stream(gop=150), expects=(
        Expect("shutter.plates", "exposure.max_exposure_us", "<=", 1000),
        Expect("stream.resolution", "stream.resolution", "==", R4MP),
        Expect("stream.fps", "stream.fps", "==", 30),
        Expect("stream.gop", "stream.gop", "<=", 60),
        Expect("stream.bitrate", "stream.bitrate_kbps", ">=", 4000),
        Expect("dynamic_range.hlc_vehicle", "low_light.backlight_compensation", "absent"),
    )),
    Scenario("plates-gate-night-45", scene="gate", purpose="plates", lighting="low_light",
             speed_kmh=45, expects=(
        Expect("shutter.plates", "exposure.max_exposure_us", "==", 2000),
        Expect("image.night_ir", "low_light.ir_cut_filter", "==", "AUTO"),
        Expect("dynamic_range.hlc_vehicle", "low_light.backlight_compensation", "==", "ON"),
        Expect("dynamic_range.hlc_vehicle", "warning", "warns", "ONVIF has no HLC"),
    )),
    Scenario("plates-garage-artificial-90", scene="entrance", purpose="anpr",
             lighting="artificial", speed_kmh=90, expects=(
        Expect("shutter.plates", "exposure.max_exposure_us", "<=", 1000),
        Expect("shutter.flicker", "exposure.min_exposure_us", "unset"),
        Expect("shutter.flicker", "warning", "warns", "the purpose's limit wins"),
    )),
    Scenario("plates-unknown-speed", scene="gate", purpose="plates", lighting="daylight",
             expects=(
        Expect("shutter.plates", "exposure.max_exposure_us", "==", 2000),
        Expect("shutter.plates", "warning", "warns", "assuming 45 km/h"),
    )),
    Scenario("faces-entrance-backlit", scene="entrance", purpose="facial", lighting="backlit",
             expects=(
        Expect("shutter.faces", "exposure.max_exposure_us", "<=", 4000),
        Expect("dynamic_range.wdr_backlit", "low_light.wdr", "==", "ON"),
        Expect("dynamic_range.wdr_backlit", "low_light.wdr_level", ">=", 66),
        Expect("stream.resolution", "stream.resolution", "==", R4MP),
    )),
    Scenario("overview-office-50hz", scene="indoor", purpose="overview", lighting="artificial",
             motion="low", current=_stream(gop=10), expects=(
        Expect("shutter.flicker", "exposure.max_exposure_us", "==", 10000),
        Expect("shutter.flicker", "exposure.min_exposure_us", "==", 10000),
        Expect("stream.fps", "stream.fps", "==", 15),
        Expect("stream.gop", "stream.gop", ">=", 45),
        Expect("stream.gop", "stream.gop", "<=", 75),
        Expect("stream.bitrate", "stream.bitrate_kbps", "==", 2000),
        Expect("stream.resolution", "stream.resolution", "absent"),
    )),
    Scenario("overview-office-60hz", scene="indoor", purpose="overview", lighting="artificial",
             mains_hz=60, motion="low", expects=(
        Expect("shutter.flicker", "exposure.max_exposure_us", "==", pytest.approx(16666.67)),
        Expect("shutter.flicker", "exposure.min_exposure_us", "==", pytest.approx(8333.33)),
    )),
    Scenario("detection-warehouse-60hz-high-motion", scene="indoor", purpose="detection",
             lighting="artificial", mains_hz=60, motion="high", expects=(
        Expect("shutter.flicker", "exposure.max_exposure_us", "==", pytest.approx(8333.33)),
        Expect("shutter.flicker", "exposure.min_exposure_us", "==", pytest.approx(8333.33)),
    )),
    Scenario("detection-yard-high-motion", scene="outdoor", purpose="detection",
             lighting="daylight", motion="high", current=_stream(gop=150), expects=(
        Expect("shutter.general", "exposure.max_exposure_us", "==", 8000),
        Expect("stream.fps", "stream.fps", "==", 30),
        Expect("stream.gop", "stream.gop", "<=", 60),
    )),
    Scenario("overview-dark-short-shutter", scene="parking", purpose="overview",
             lighting="low_light", motion="low", anomalies=("too_dark",),
             current=_exposure(mode="AUTO", max_exposure_us=2000, max_gain=100), expects=(
        Expect("image.too_dark", "exposure.max_exposure_us", "==", pytest.approx(16666.67)),
        Expect("image.night_ir", "low_light.ir_cut_filter", "==", "AUTO"),
    )),
    Scenario("plates-dark-purpose-beats-darkness", scene="gate", purpose="plates",
             lighting="low_light", speed_kmh=90, anomalies=("too_dark",),
             current=_exposure(mode="AUTO", max_exposure_us=1000, max_gain=30), expects=(
        Expect("shutter.plates", "exposure.max_exposure_us", "unset"),
        Expect("image.too_dark", "exposure.max_gain", "==", 100),
        Expect("image.too_dark", "warning", "warns", "add light or IR"),
    )),
    Scenario("overview-dark-and-noisy", scene="parking", purpose="overview",
             lighting="low_light", motion="low", anomalies=("too_dark", "high_noise"),
             current=_exposure(mode="AUTO", max_exposure_us=16666.67, max_gain=30), expects=(
        Expect("image.too_dark", "exposure.max_gain", "==", 50),
        Expect("image.noise", "exposure.max_gain", "<=", 50),
    )),
    Scenario("noisy-high-gain", scene="indoor", purpose="overview", lighting="low_light",
             anomalies=("high_noise",), expects=(
        Expect("image.noise", "exposure.max_gain", "==", 50),
    )),
    Scenario("faces-blurred", scene="corridor", purpose="facial", lighting="daylight",
             anomalies=("blurred",), expects=(
        Expect("shutter.blur", "exposure.max_exposure_us", "<=", 2000),
        Expect("shutter.blur", "warning", "warns", "check the focus"),
    )),
    Scenario("clipped-highlights", scene="outdoor", purpose="overview", lighting="daylight",
             anomalies=("overexposed_highlights", "low_contrast"), expects=(
        Expect("dynamic_range.highlights", "low_light.wdr", "==", "ON"),
        Expect("image.low_contrast", "image.contrast", "==", 60),
    )),
    Scenario("too-bright", scene="outdoor", purpose="overview", lighting="daylight",
             anomalies=("too_bright",), expects=(
        Expect("image.too_bright", "image.brightness", "==", 40),
    )),
    Scenario("overview-budget-2500", scene="outdoor", purpose="overview", lighting="daylight",
             motion="high", bandwidth_kbps=2500,
             current=_stream(resolution=R1080, fps=30, bitrate_kbps=8000), expects=(
        Expect("bandwidth.fit", "stream.bitrate_kbps", "<=", 2500),
        Expect("bandwidth.fit", "stream.fps", "==", 15),
        Expect("bandwidth.fit", "stream.resolution", "unset"),
    )),
    Scenario("overview-budget-400", scene="outdoor", purpose="overview", lighting="daylight",
             motion="low", bandwidth_kbps=400,
             current=_stream(resolution=R1080, fps=15, bitrate_kbps=3000), expects=(
        Expect("bandwidth.fit", "stream.bitrate_kbps", "<=", 400),
        Expect("bandwidth.fit", "stream.fps", "==", 5),
        Expect("bandwidth.fit", "stream.resolution", "==", R720),
    )),
    Scenario("plates-budget-too-small", scene="gate", purpose="plates", lighting="daylight",
             speed_kmh=90, bandwidth_kbps=1000, expects=(
        Expect("bandwidth.fit", "stream.bitrate_kbps", "<=", 1000),
        Expect("stream.resolution", "stream.resolution", "==", R4MP),
        Expect("bandwidth.fit", "stream.fps", ">=", 15),
        Expect("bandwidth.fit", "warning", "warns", "share of the site budget"),
        Expect("bandwidth.fit", "warning", "warns", "H.265"),
    )),
    Scenario("h265-overview", scene="outdoor", purpose="overview", lighting="daylight",
             motion="high", current=_stream(encoding="H265", resolution=R1080, fps=30), expects=(
        Expect("stream.bitrate", "stream.bitrate_kbps", "==", 2000),
    )),
    Scenario("overview-30m-wide", scene="parking", purpose="overview", lighting="daylight",
             extra={"scene_width_m": 30.0}, expects=(
        Expect("stream.resolution", "stream.resolution", "==", R1080),
    )),
    Scenario("faces-60m-wide-unreachable", scene="outdoor", purpose="facial",
             lighting="daylight", extra={"scene_width_m": 60.0}, expects=(
        Expect("stream.resolution", "stream.resolution", "==", R4MP),
        Expect("stream.resolution", "warning", "warns", "250 px/m"),
    )),
]  # fmt: skip


def _scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def _value(rec: Recommendation, path: str) -> Any:
    group, name = path.split(".")
    values = getattr(rec.settings, group)
    return getattr(values, name) if values is not None else None


def _check(rec: Recommendation, expect: Expect) -> None:
    where = f"{expect.rule}: {expect.field} {expect.op} {expect.value}; {rec.explanation}"
    if expect.op == "absent":
        assert expect.rule not in rec.rules, where
        assert _value(rec, expect.field) is None, where
        return
    assert expect.rule in rec.rules, where
    if expect.op == "warns":
        assert any(expect.value in w for w in rec.warnings), f"{where}; {rec.warnings}"
    elif expect.op == "unset":
        assert _value(rec, expect.field) is None, where
    else:
        actual = _value(rec, expect.field)
        assert actual is not None, where
        assert OPS[expect.op](actual, expect.value), f"{where}: {actual}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_scenario(scenario: Scenario) -> None:
    """Each scenario's expectations hold, citing the rule that must have fired."""
    rec = await HeuristicEngine().recommend(scenario.context())
    for expect in scenario.expects:
        _check(rec, expect)
    assert rec.provider == "heuristic"
    assert rec.processing_time_ms is not None
    assert rec.rules  # the expectations above name rules that must be among them
    assert all(rule_id in rec.explanation for rule_id in rec.rules)


def test_unknown_inputs_lower_the_confidence() -> None:
    """No purpose, scene, lighting or health: a lower confidence, and the explanation says why."""
    engine = HeuristicEngine()
    known = engine.recommend_sync(_scenario("plates-gate-daylight-90").context())
    bare = RecommendationContext(camera_id="bare", capabilities=CAMERA, current=CURRENT)
    unknown = engine.recommend_sync(bare)
    assert unknown.confidence < known.confidence - 0.3
    assert "unknown purpose" in unknown.explanation
    assert "no snapshot health" in unknown.explanation
    no_options = engine.recommend_sync(
        RecommendationContext(camera_id="x", capabilities=CameraCapabilities(), current=CURRENT)
    )
    assert no_options.confidence < unknown.confidence
    assert no_options.settings.is_empty()
    assert no_options.warnings


def test_clamped_values_are_warned_once_each() -> None:
    """A rule's value outside the camera's options is clamped, with one warning per value."""
    narrow = CAMERA.model_copy(update={"imaging": CAMERA.imaging.model_copy(  # type: ignore[union-attr]
        update={"exposure_time_us": Range(min=5000, max=66666)})})  # fmt: skip
    context = _scenario("plates-gate-daylight-90").context()
    rec = HeuristicEngine().recommend_sync(
        RecommendationContext(**{**vars(context), "capabilities": narrow})
    )
    assert rec.settings.exposure is not None
    assert rec.settings.exposure.max_exposure_us == 5000
    assert [w for w in rec.warnings if "exposure.maxExposureUs" in w] == [
        "exposure.maxExposureUs=1000.0 is outside the camera's options; using 5000.0"
    ]


def _dump(group: Any) -> dict[str, Any]:
    return group.model_dump(exclude_none=True) if group is not None else {}


def test_settings_already_right_recommend_nothing() -> None:
    """Applying a recommendation and asking again gives no further change."""
    scenario = _scenario("overview-office-50hz")  # no health anomalies
    engine = HeuristicEngine()
    first = engine.recommend_sync(scenario.context())
    merged = {
        group: {**_dump(getattr(scenario.current, group)), **_dump(getattr(first.settings, group))}
        for group in ("stream", "exposure", "low_light", "image")
    }
    again = engine.recommend_sync(
        RecommendationContext(
            **{**vars(scenario.context()), "current": CameraSettings.model_validate(merged)}
        )
    )
    assert again.settings.is_empty(), again.settings
    assert "nothing to change" in again.explanation


def test_every_rule_is_cited_by_a_scenario_and_documented() -> None:
    """The table covers every rule; docs/optimizer-rules.md documents each id and source."""
    cited = {e.rule for s in SCENARIOS for e in s.expects}
    assert cited == RULE_IDS
    docs = DOCS.read_text(encoding="utf-8")
    for rule in RULES:
        assert f"`{rule.id}`" in docs, f"{rule.id} is not documented"
        assert rule.source
        assert rule.summary
