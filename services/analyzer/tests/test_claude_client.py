"""The Claude client with the real anthropic SDK against fake_anthropic: answers, usage and
cost, image resizing, prompt caching, retries, failures, invalid answers, batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from vigil_analyzer.claude.client import ClaudeClient, ClaudeRejectedError, ClaudeUnavailableError
from vigil_analyzer.claude.models import AnalysisRequest
from vigil_analyzer.claude.schema import TOOL_NAME
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.claude.cost import estimate_cost
from vigil_runtime.claude.image import MAX_LONG_EDGE
from vigil_schema.enums import AlertSeverity
from vigil_tools.fake_anthropic.testing import FakeAnthropic, jpeg_bytes, running_fake

from .test_claude_units import answer, request


def settings(fake: FakeAnthropic, **overrides: Any) -> AnalyzerSettings:
    env = {"ANTHROPIC_API_KEY": fake.api_key, "ANTHROPIC_BASE_URL": fake.base_url}
    return AnalyzerSettings(_env_file=None, **{**env, **overrides})


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with running_fake(batch_delay_s=0.0) as server:
        yield server


@pytest.fixture
async def client(fake: FakeAnthropic) -> AsyncIterator[ClaudeClient]:
    made = ClaudeClient.from_settings(settings(fake))
    assert made is not None
    yield made
    await made.close()


def messages_seen(fake: FakeAnthropic) -> int:
    return int(fake.summary()["by_path"].get("/v1/messages", 0))


async def test_a_valid_answer_parses_with_usage_and_cost(
    fake: FakeAnthropic, client: ClaudeClient
) -> None:
    reply = await client.analyze(request())
    assert reply.analysis is not None
    assert reply.error is None
    assert reply.response["primary_insight"] == reply.analysis.primary_insight
    assert reply.input_tokens > 0
    assert reply.output_tokens > 0
    assert not reply.batch
    assert reply.model == "claude-sonnet-4-5"
    expected = estimate_cost(
        reply.input_tokens,
        reply.output_tokens,
        reply.cache_read_tokens,
        reply.cache_creation_tokens,
        input_price_per_mtok=3.0,
        output_price_per_mtok=15.0,
        batch=False,
    )
    assert reply.cost_usd == pytest.approx(expected)
    assert reply.cost_usd > 0
    sent = fake.requests("/v1/messages")[0]
    assert sent["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert client.estimate_tokens(request()) >= reply.total_tokens


async def test_a_large_frame_is_sent_resized(fake: FakeAnthropic, client: ClaudeClient) -> None:
    big = request(jpeg=jpeg_bytes(3000, 2000))
    reply = await client.analyze(big)
    assert fake.requests("/v1/messages")[0]["image_sizes"] == [[MAX_LONG_EDGE, 1045]]
    assert client.estimate_tokens(big) >= reply.total_tokens
    small = await client.analyze(request(jpeg=jpeg_bytes(320, 240)))
    image_difference = reply.input_tokens - small.input_tokens
    assert image_difference > 1000  # the big frame's image tokens, counted by the fake


async def test_the_system_prompt_is_cached(fake: FakeAnthropic, client: ClaudeClient) -> None:
    first = await client.analyze(request())
    second = await client.analyze(request(frame_number=8))
    system = fake.requests("/v1/messages")[0]["body"]["system"]
    assert system[0]["cache_control"] == {"type": "ephemeral"}
    assert first.cache_creation_tokens > 0
    assert first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_creation_tokens
    assert second.cost_usd < first.cost_usd


async def test_a_rate_limit_with_retry_after_is_retried(
    fake: FakeAnthropic, client: ClaudeClient
) -> None:
    fake.add_faults({"kind": "rate_limit", "retry_after": 0.05})
    reply = await client.analyze(request())
    assert reply.analysis is not None
    assert messages_seen(fake) == 2


async def test_overload_after_the_retries_is_unavailable(
    fake: FakeAnthropic, client: ClaudeClient
) -> None:
    fake.add_faults({"kind": "overloaded", "retry_after": 0.01, "repeat": 3})
    with pytest.raises(ClaudeUnavailableError) as raised:
        await client.analyze(request())
    assert raised.value.kind == "overloaded"
    assert messages_seen(fake) == 3


async def test_a_server_error_and_a_timeout_are_unavailable(fake: FakeAnthropic) -> None:
    made = ClaudeClient.from_settings(settings(fake, claude_timeout_s=0.2))
    assert made is not None
    fake.add_faults({"kind": "server_error", "retry_after": 0.01, "repeat": 3})
    with pytest.raises(ClaudeUnavailableError) as raised:
        await made.analyze(request())
    assert raised.value.kind == "server"
    fake.add_faults({"kind": "slow", "delay_s": 2.0, "repeat": 3})
    with pytest.raises(ClaudeUnavailableError) as raised:
        await made.analyze(request())
    assert raised.value.kind == "timeout"
    await made.close()


async def test_refused_requests_are_rejected_not_unavailable(fake: FakeAnthropic) -> None:
    wrong_key = ClaudeClient.from_settings(settings(fake, ANTHROPIC_API_KEY="wrong"))
    assert wrong_key is not None
    with pytest.raises(ClaudeRejectedError) as raised:
        await wrong_key.analyze(request())
    assert raised.value.kind == "authentication"
    assert raised.value.status == 401
    with pytest.raises(ClaudeRejectedError) as raised:
        await wrong_key.analyze(request(jpeg=b"\xff\xd8 broken"))
    assert raised.value.kind == "invalid_image"
    await wrong_key.close()
    assert messages_seen(fake) == 1


async def test_a_malformed_tool_input_is_an_invalid_reply(
    fake: FakeAnthropic, client: ClaudeClient
) -> None:
    fake.add_faults({"kind": "malformed"})
    reply = await client.analyze(request())
    assert reply.analysis is None
    assert reply.error is not None
    assert reply.error.startswith("schema violation")
    assert reply.response["stop_reason"] == "tool_use"
    assert "tool_input" in reply.response
    assert reply.output_tokens > 0


async def test_a_text_only_or_cut_short_answer_is_invalid(
    fake: FakeAnthropic, client: ClaudeClient
) -> None:
    fake.add_faults({"kind": "max_tokens"})
    reply = await client.analyze(request())
    assert reply.analysis is None
    assert reply.error is not None
    assert "max_tokens" in reply.error


async def test_claudes_severity_is_capped(fake: FakeAnthropic, client: ClaudeClient) -> None:
    fake.script_answers(answer(alert_severity="critical"))
    reply = await client.analyze(request())
    assert reply.analysis is not None
    assert reply.analysis.alert_severity is AlertSeverity.CRITICAL
    assert reply.analysis.severity(AlertSeverity.WARNING) is AlertSeverity.WARNING


async def test_a_batch_returns_replies_keyed_by_request_key(
    fake: FakeAnthropic, client: ClaudeClient
) -> None:
    fake.config.batch_delay_s = 3600.0
    frames: list[AnalysisRequest] = [request(frame_number=n, key=f"cam-1:{n}:1") for n in (1, 2)]
    fake.add_faults({"kind": "overloaded", "target": "batch_item"})
    batch_id = await client.submit_batch(frames)
    assert await client.poll_batch(batch_id) is None
    fake.state.batches[batch_id].ready_at = 0.0  # the batch ends now
    results = await client.poll_batch(batch_id)
    assert results is not None
    assert set(results) == {"cam-1:1:1", "cam-1:2:1"}
    failed, succeeded = results["cam-1:1:1"], results["cam-1:2:1"]
    assert isinstance(failed, ClaudeUnavailableError)
    assert failed.kind == "overloaded"
    assert not isinstance(succeeded, ClaudeUnavailableError)
    assert succeeded.analysis is not None
    assert succeeded.batch
    full_price = estimate_cost(
        succeeded.input_tokens,
        succeeded.output_tokens,
        succeeded.cache_read_tokens,
        succeeded.cache_creation_tokens,
        input_price_per_mtok=3.0,
        output_price_per_mtok=15.0,
        batch=False,
    )
    assert succeeded.cost_usd == pytest.approx(full_price / 2)
