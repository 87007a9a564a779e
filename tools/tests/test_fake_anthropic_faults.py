"""fake_anthropic's scripted faults as the real SDK meets them: 429 with retry-after retried
to success, 529 and 500 surfaced after the SDK's retries, timeouts, malformed tool input and
answers cut short at max_tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import pytest

from vigil_tools.fake_anthropic import schema_instance
from vigil_tools.fake_anthropic.testing import (
    SAMPLE_TOOL,
    FakeAnthropic,
    running_fake,
    sample_tool_request,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with running_fake() as server:
        yield server


def _client(fake: FakeAnthropic, retries: int, timeout: float = 10.0) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key=fake.api_key, base_url=fake.base_url, max_retries=retries, timeout=timeout
    )


def _statuses(fake: FakeAnthropic) -> list[int]:
    return [entry["status"] for entry in fake.requests("/v1/messages")]


async def test_a_429_with_retry_after_is_retried_by_the_sdk_to_success(
    fake: FakeAnthropic,
) -> None:
    fake.add_faults({"kind": "rate_limit", "retry_after": 0.05})
    message = await _client(fake, retries=2).messages.create(**sample_tool_request())
    assert message.stop_reason == "tool_use"
    assert _statuses(fake) == [429, 200]


async def test_a_429_without_retries_is_a_rate_limit_error_with_retry_after(
    fake: FakeAnthropic,
) -> None:
    fake.add_faults({"kind": "rate_limit", "retry_after": 7})
    with pytest.raises(anthropic.RateLimitError) as caught:
        await _client(fake, retries=0).messages.create(**sample_tool_request())
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]


async def test_a_529_storm_outlasting_the_retries_is_an_overloaded_error(
    fake: FakeAnthropic,
) -> None:
    fake.add_faults({"kind": "overloaded", "retry_after": 0.01, "repeat": 3})
    with pytest.raises(anthropic.OverloadedError) as caught:
        await _client(fake, retries=1).messages.create(**sample_tool_request())
    assert caught.value.status_code == 529
    assert caught.value.body["error"] == {  # type: ignore[index]
        "type": "overloaded_error",
        "message": "Overloaded",
    }
    assert _statuses(fake) == [529, 529]
    assert fake.state.faults.pending() == {"messages": 1}


async def test_a_500_is_an_internal_server_error(fake: FakeAnthropic) -> None:
    fake.add_faults({"kind": "server_error"})
    with pytest.raises(anthropic.InternalServerError) as caught:
        await _client(fake, retries=0).messages.create(**sample_tool_request())
    assert caught.value.status_code == 500
    assert caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]


async def test_a_slow_answer_past_the_client_timeout_is_a_timeout_error(
    fake: FakeAnthropic,
) -> None:
    fake.add_faults({"kind": "slow", "delay_s": 2.0})
    with pytest.raises(anthropic.APITimeoutError):
        await _client(fake, retries=0, timeout=0.2).messages.create(**sample_tool_request())


async def test_a_slow_answer_within_the_timeout_is_a_normal_answer(fake: FakeAnthropic) -> None:
    fake.add_faults({"kind": "slow", "delay_s": 0.05})
    message = await _client(fake, retries=0).messages.create(**sample_tool_request())
    assert message.stop_reason == "tool_use"


async def test_malformed_tool_input_violates_the_schema(fake: FakeAnthropic) -> None:
    fake.add_faults({"kind": "malformed"})
    client = _client(fake, retries=0)
    bad = await client.messages.create(**sample_tool_request())
    good = await client.messages.create(**sample_tool_request())
    assert bad.content[0].type == "tool_use"
    assert schema_instance.violations(SAMPLE_TOOL["input_schema"], bad.content[0].input)
    assert good.content[0].type == "tool_use"
    assert not schema_instance.violations(SAMPLE_TOOL["input_schema"], good.content[0].input)


async def test_an_answer_cut_at_max_tokens_has_an_empty_input(fake: FakeAnthropic) -> None:
    message = await _client(fake, retries=0).messages.create(**sample_tool_request(max_tokens=5))
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5
    assert message.content[0].type == "tool_use"
    assert message.content[0].input == {}


async def test_faults_for_count_tokens_leave_messages_alone(fake: FakeAnthropic) -> None:
    fake.add_faults({"kind": "server_error", "target": "count_tokens"})
    client = _client(fake, retries=0)
    await client.messages.create(**sample_tool_request())
    with pytest.raises(anthropic.InternalServerError):
        await client.messages.count_tokens(
            model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}]
        )


async def test_reset_forgets_faults_and_the_log(fake: FakeAnthropic) -> None:
    fake.add_faults({"kind": "server_error", "repeat": 5})
    with pytest.raises(anthropic.InternalServerError):
        await _client(fake, retries=0).messages.create(**sample_tool_request())
    fake.reset()
    assert fake.summary()["count"] == 0
    await _client(fake, retries=0).messages.create(**sample_tool_request())
    assert _statuses(fake) == [200]
