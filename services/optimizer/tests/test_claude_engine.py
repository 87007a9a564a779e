"""The Claude recommendation engine with the real anthropic SDK against fake_anthropic and a
real Redis: a valid answer is used, an out-of-range, malformed or failed one (API error,
breaker, budget, limit, no key) falls back to the heuristic with a warning; the request
carries the snapshot, the capabilities and the cached system prompt."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from PIL import Image

from vigil_analyzer.model_files import DOG_JPG, default_models_dir
from vigil_optimizer.clamp import clamp
from vigil_optimizer.claude import ClaudeEngine, ClaudeEngineSettings
from vigil_optimizer.claude.tool import TOOL_NAME, recommendation_tool
from vigil_optimizer.recommendation import (
    Recommendation,
    RecommendationContext,
    SnapshotHealth,
)
from vigil_runtime.claude.image import jpeg_size
from vigil_schema.camera_settings import (
    CameraCapabilities,
    CameraSettings,
    EncoderOptions,
    ExposureSettings,
    ImagingOptions,
    ProfileInfo,
    Range,
    Resolution,
    StreamSettings,
)
from vigil_tools.fake_anthropic import schema_instance
from vigil_tools.fake_anthropic.testing import FakeAnthropic, running_fake
from vigil_tools.photo_degrade import degrade_jpeg

PROFILE = "profile_1_h264"
OPTIONS = EncoderOptions(
    encodings=["H264", "JPEG"],
    resolutions=[Resolution(width=1920, height=1080), Resolution(width=1280, height=720)],
    fps=Range(min=1, max=30), bitrate_kbps=Range(min=64, max=16384), gop=Range(min=1, max=1023),
    quality=Range(min=0, max=100), h264_profiles=["Main", "High"],
)  # fmt: skip
IMAGING = ImagingOptions(
    brightness=Range(min=0, max=100), contrast=Range(min=0, max=100),
    color_saturation=Range(min=0, max=100), sharpness=Range(min=0, max=100),
    exposure_modes=["AUTO", "MANUAL"], exposure_time_us=Range(min=100, max=33333),
    gain=Range(min=0, max=100), ir_cut_filter_modes=["ON", "OFF", "AUTO"],
    wdr_modes=["ON", "OFF"], wdr_level=Range(min=0, max=100),
    backlight_modes=["OFF", "ON"], backlight_level=Range(min=0, max=100),
)  # fmt: skip
CAPS = CameraCapabilities(
    media_version=2,
    services={"http://www.onvif.org/ver10/device/wsdl": "http://10.1.2.3/onvif/device_service"},
    snapshot_uri="http://10.1.2.3/onvif-cgi/jpg/image.cgi",
    profiles=[ProfileInfo(token=PROFILE, encoding="H264", resolution=Resolution(width=1920,
              height=1080), fps=30, bitrate_kbps=8000, gop=60, options=OPTIONS)],
    imaging=IMAGING,
)  # fmt: skip
HEURISTIC_SETTINGS = CameraSettings(stream=StreamSettings(profile_token=PROFILE, fps=15))
PLATES = {"profileToken": PROFILE, "bitrateKbps": 3000, "fps": 15, "gop": 30}


class FixedEngine:
    """The fallback: always the same recommendation; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def recommend(self, context: RecommendationContext) -> Recommendation:
        self.calls += 1
        return Recommendation(settings=HEURISTIC_SETTINGS, confidence=0.6, explanation="rules",
                              provider="heuristic", warnings=["a heuristic warning"],
                              rules=["gop.motion"])  # fmt: skip


def dark_dog(scale: float = 1.0) -> bytes:
    """The real dog photograph, under-exposed, optionally enlarged."""
    path = Path(os.environ.get("VIGIL_MODELS_DIR") or default_models_dir()) / DOG_JPG.relpath
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make models`")
    photo = Image.open(path).convert("RGB")
    if scale != 1.0:
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)))
    return degrade_jpeg(photo, darkness=0.8, noise=6.0, seed=1)


def context(**overrides: Any) -> RecommendationContext:
    health = SnapshotHealth(level="warning", metrics={"exposure": {"status": "warning"}},
                            anomalies=[{"type": "too_dark", "severity": "warning",
                                        "message": "mean brightness 31"}])  # fmt: skip
    values: dict[str, Any] = {
        "camera_id": "cam-gate", "capabilities": CAPS,
        "current": CameraSettings(stream=CAPS.profiles[0].stream_settings()),
        "site": "north", "scene_type": "entrance", "purpose": "plates",
        "lighting": "artificial", "speed_kmh": 40.0, "health": health,
        "bandwidth_kbps": 4000, "reason": "degraded_health",
    }  # fmt: skip
    values.update(overrides)
    return RecommendationContext(**values)


def answer(**overrides: Any) -> dict[str, Any]:
    """A scripted tool input: valid for CAPS unless overridden."""
    value: dict[str, Any] = {
        "stream": PLATES,
        "exposure": {"mode": "AUTO", "maxExposureUs": 2000, "maxGain": 60},
        "lowLight": {"backlightCompensation": "ON"},
        "confidence": 0.8,
        "explanation": "Plates at 40 km/h need 1/500 s; 3000 kbit/s fits the share.",
        "warnings": ["more gain: more noise at night"],
    }
    value.update(overrides)
    return value


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with running_fake() as server:
        yield server


class Rig:
    """An engine on the fake and a test Redis, and its fallback."""

    def __init__(self, fake: FakeAnthropic, redis: aioredis.Redis, **settings: Any) -> None:
        self.fake = fake
        self.fallback = FixedEngine()
        values = {"ANTHROPIC_API_KEY": fake.api_key, "ANTHROPIC_BASE_URL": fake.base_url,
                  "optimizer_claude_timeout_s": 5.0, **settings}  # fmt: skip
        self.settings = ClaudeEngineSettings(_env_file=None, **values)
        self.jpeg: bytes | None = dark_dog()
        self.engine = ClaudeEngine(self.settings, redis, fallback=self.fallback,
                                   snapshots=self._snapshot)  # fmt: skip

    async def _snapshot(self, context: RecommendationContext) -> bytes | None:
        return self.jpeg

    def messages_sent(self) -> int:
        return len(self.fake.requests("/v1/messages"))


RigFactory = Callable[..., Rig]


@pytest.fixture
async def make_rig(fake: FakeAnthropic, redis_client: aioredis.Redis) -> AsyncIterator[RigFactory]:
    """Rigs with these settings, their SDK clients closed after the test."""
    made: list[Rig] = []

    def make(**settings: Any) -> Rig:
        made.append(Rig(fake, redis_client, **settings))
        return made[-1]

    yield make
    for each in made:
        await each.engine.close()


@pytest.fixture
def rig(make_rig: RigFactory) -> Rig:
    return make_rig()


def assert_fell_back(rec: Recommendation, rig: Rig, *fragments: str) -> None:
    assert rec.provider == "heuristic"
    assert rec.settings == HEURISTIC_SETTINGS
    assert rec.warnings[1:] == ["a heuristic warning"]
    assert rec.warnings[0].startswith("Claude's recommendation was not used: ")
    for fragment in fragments:
        assert fragment in rec.warnings[0]
    assert rig.fallback.calls == 1


# -- a valid answer ---------------------------------------------------------------------


async def test_the_fakes_generated_answer_is_a_recommendation_within_the_options(
    rig: Rig,
) -> None:
    rec = await rig.engine.recommend(context())
    assert rec.provider == "claude"
    assert rec.model == "claude-sonnet-4-5"
    assert rec.processing_time_ms is not None
    assert rec.processing_time_ms >= 0
    assert rec.confidence == 0.5  # the middle of [0, 1]
    assert rig.fallback.calls == 0
    assert rec.settings.stream is not None
    assert rec.settings.exposure is not None
    assert rec.settings.stream.profile_token == PROFILE
    assert clamp(rec.settings, CAPS)[1] == []


async def test_a_scripted_answer_is_used_as_given(rig: Rig) -> None:
    rig.fake.script_answers(answer(confidence=1.7))
    rec = await rig.engine.recommend(context())
    assert rec.provider == "claude"
    assert rec.settings.stream == StreamSettings(profile_token=PROFILE, bitrate_kbps=3000,
                                                 fps=15, gop=30)  # fmt: skip
    assert rec.settings.exposure == ExposureSettings(mode="AUTO", max_exposure_us=2000,
                                                     max_gain=60)  # fmt: skip
    assert rec.settings.low_light is not None
    assert rec.settings.low_light.backlight_compensation == "ON"
    assert rec.settings.image is None
    assert rec.confidence == 1.0  # clamped
    assert rec.explanation.startswith("Plates at 40 km/h")
    assert rec.warnings == ["more gain: more noise at night"]


async def test_the_request_carries_the_snapshot_capabilities_and_context(rig: Rig) -> None:
    rig.jpeg = dark_dog(scale=4.0)  # 3072 px wide: resized to 1568 on its long edge
    await rig.engine.recommend(context())
    [sent] = rig.fake.requests("/v1/messages")
    assert sent["image_sizes"] == [[1568, 1176]]
    body = sent["body"]
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert "1/(11 × v)" in body["system"][0]["text"]
    text = body["messages"][0]["content"][1]["text"]
    assert '"bitrateKbps":{"min":64.0,"max":16384.0}' in text  # the capabilities
    assert '"speedKmh":40.0' in text
    assert '"purpose":"plates"' in text
    assert '"too_dark"' in text
    assert "10.1.2.3" not in text  # no network addresses
    stream = body["tools"][0]["input_schema"]["properties"]["stream"]["properties"]
    assert stream["bitrateKbps"] == {"type": "integer", "minimum": 64, "maximum": 16384,
                                     "description": "Bit rate limit, kbit/s"}  # fmt: skip
    assert stream["profileToken"] == {"type": "string", "const": PROFILE}


async def test_the_system_prompt_is_read_from_the_cache_on_the_next_call(rig: Rig) -> None:
    await rig.engine.recommend(context())
    await rig.engine.recommend(context(camera_id="cam-other"))
    first, second = (entry["usage"] for entry in rig.fake.requests("/v1/messages"))
    assert first["cache_creation_input_tokens"] > 1024
    assert second["cache_read_input_tokens"] == first["cache_creation_input_tokens"]


async def test_the_budget_is_settled_with_the_billed_tokens(rig: Rig) -> None:
    await rig.engine.recommend(context())
    usage = rig.fake.requests("/v1/messages")[0]["usage"]
    billed = sum(int(usage[k] or 0) for k in ("input_tokens", "output_tokens",
                 "cache_creation_input_tokens", "cache_read_input_tokens"))  # fmt: skip
    assert await rig.engine.budget.spent() == billed


async def test_without_a_snapshot_claude_still_answers_and_says_so(rig: Rig) -> None:
    rig.jpeg = b"not a jpeg"
    rec = await rig.engine.recommend(context())
    assert rec.provider == "claude"
    assert rec.warnings[0] == "recommended without a snapshot (none usable)"
    [sent] = rig.fake.requests("/v1/messages")
    assert sent["image_sizes"] == []
    assert "No usable snapshot" in sent["body"]["messages"][0]["content"][0]["text"]


# -- answers that are not used ----------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ({"stream": {**PLATES, "bitrateKbps": 20000}}, "stream.bitrateKbps=20000"),
        ({"stream": {**PLATES, "resolution": {"width": 3840, "height": 2160}}},
         "stream.resolution=3840x2160"),
        ({"image": {"brightness": 150}}, "image.brightness=150"),
        ({"exposure": {"maxExposureUs": 50}}, "exposure.maxExposureUs=50"),
        ({"lowLight": {"irCutFilter": "AUTO", "wdr": "ON"}, "stream": {**PLATES, "fps": 60}},
         "stream.fps=60"),
    ],
)  # fmt: skip
async def test_an_out_of_range_answer_falls_back_with_a_warning(
    rig: Rig, bad: dict[str, Any], fragment: str
) -> None:
    rig.fake.script_answers(answer(**bad))
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "out of range", fragment)


@pytest.mark.parametrize(
    "bad",
    [
        {"confidence": "0.8"},
        {"explanation": ""},
        {"explanation": "   "},
        {"stream": {**PLATES, "bitrateKbps": "fast"}},
        {"exposure": {"mode": "SPORT"}},
        {"stream": {"bitrateKbps": 3000}},  # no profileToken: the schema requires it
        {"stream": {**PLATES, "profileToken": "no_such_profile"}},
        {"image": {"brightness": 50}, "unexpected": 1},
    ],
)
async def test_a_malformed_answer_falls_back_with_a_warning(rig: Rig, bad: dict[str, Any]) -> None:
    rig.fake.script_answers(answer(**bad))
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "malformed")


async def test_the_fakes_malformed_answer_falls_back(rig: Rig) -> None:
    rig.fake.add_faults({"kind": "malformed"})
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "malformed", "confidence")


async def test_an_answer_cut_short_falls_back(rig: Rig) -> None:
    rig.fake.add_faults({"kind": "max_tokens"})
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "malformed", "cut short")


# -- calls that fail or are not made ----------------------------------------------------


async def test_claude_unavailable_falls_back_and_opens_the_breaker(make_rig: RigFactory) -> None:
    rig = make_rig(optimizer_claude_breaker_failures=1)
    rig.fake.add_faults({"kind": "overloaded", "retry_after": 0, "repeat": 3})
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "Claude is unavailable", "overloaded")
    assert rig.messages_sent() == 3  # the SDK's two retries
    assert rig.engine.breaker.state == "open"
    assert await rig.engine.budget.spent() == 0  # the reservation was released
    rig.fallback.calls = 0
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "circuit breaker is open")
    assert rig.messages_sent() == 3  # not sent


async def test_a_timeout_falls_back(make_rig: RigFactory) -> None:
    rig = make_rig(optimizer_claude_timeout_s=0.2)
    rig.fake.add_faults({"kind": "slow", "delay_s": 1.0, "repeat": 3})
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "Claude is unavailable", "timeout")


async def test_a_refused_request_falls_back_without_counting_for_the_breaker(
    make_rig: RigFactory,
) -> None:
    rig = make_rig(ANTHROPIC_API_KEY="wrong-key",
              optimizer_claude_breaker_failures=1)  # fmt: skip
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "Claude refused the request", "authentication")
    assert rig.engine.breaker.state == "closed"


async def test_an_exhausted_budget_falls_back_without_a_call(make_rig: RigFactory) -> None:
    rig = make_rig(optimizer_claude_daily_token_budget=500)
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "token budget is spent")
    assert rig.messages_sent() == 0


async def test_the_call_limit_falls_back_without_a_call(make_rig: RigFactory) -> None:
    rig = make_rig(optimizer_claude_calls_per_minute=1)
    assert (await rig.engine.recommend(context())).provider == "claude"
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "call limit is reached")
    assert rig.messages_sent() == 1


async def test_redis_down_falls_back_without_a_call(fake: FakeAnthropic) -> None:
    down = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    rig = Rig(fake, down)
    rec = await rig.engine.recommend(context())
    assert_fell_back(rec, rig, "Redis is unavailable")
    assert rig.messages_sent() == 0
    await rig.engine.close()
    await down.aclose()


@pytest.mark.parametrize("key", [None, "", "  "])
async def test_without_a_key_it_falls_back(
    key: str | None, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_API_KEY", "VIGIL_ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = ClaudeEngineSettings(_env_file=None, anthropic_api_key=key)
    fallback = FixedEngine()
    engine = ClaudeEngine(settings, redis_client, fallback=fallback)
    rec = await engine.recommend(context())
    assert rec.provider == "heuristic"
    assert rec.warnings[0].startswith("Claude's recommendation was not used: no Anthropic")
    assert fallback.calls == 1


# -- the tool schema --------------------------------------------------------------------


LEAN = CameraCapabilities(
    profiles=[ProfileInfo(token="p0", options=EncoderOptions(fps=Range(min=0.5, max=0.9),
              bitrate_kbps=Range(min=100.2, max=100.7)))],
)  # fmt: skip
"""A camera without imaging whose bit rate range holds no integer."""


@pytest.mark.parametrize("caps", [CAPS, LEAN, CameraCapabilities()])
def test_a_schema_instance_is_within_the_options(caps: CameraCapabilities) -> None:
    schema = recommendation_tool(caps, None)["input_schema"]
    generated = schema_instance.instance(schema)
    assert schema_instance.violations(schema, generated) == []
    settings = CameraSettings.model_validate(
        {k: v for k, v in generated.items() if k in ("stream", "exposure", "lowLight", "image")}
    )
    assert clamp(settings, caps)[1] == []


def test_the_schema_offers_only_what_the_camera_reports() -> None:
    properties = recommendation_tool(LEAN, None)["input_schema"]["properties"]
    assert set(properties) == {"stream", "confidence", "explanation", "warnings"}
    assert set(properties["stream"]["properties"]) == {"profileToken", "fps"}
    assert set(recommendation_tool(CameraCapabilities(), None)["input_schema"]["properties"]) == {
        "confidence", "explanation", "warnings"}  # fmt: skip


def test_the_test_photographs_sizes() -> None:
    assert jpeg_size(dark_dog(scale=4.0)) == (3072, 2304)  # above the API's 1568
    assert jpeg_size(dark_dog()) == (768, 576)
