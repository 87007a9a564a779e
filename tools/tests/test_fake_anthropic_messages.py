"""fake_anthropic /v1/messages and count_tokens through the real anthropic SDK: tool answers,
usage arithmetic (images, tools, the prompt cache), validation errors and authentication."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import aiohttp
import anthropic
import pytest

from vigil_tools.fake_anthropic import schema_instance
from vigil_tools.fake_anthropic.testing import (
    SAMPLE_MODEL as MODEL,
)
from vigil_tools.fake_anthropic.testing import (
    SAMPLE_TOOL as TOOL,
)
from vigil_tools.fake_anthropic.testing import (
    FakeAnthropic,
    image_block,
    running_fake,
    user_message,
)
from vigil_tools.fake_anthropic.testing import (
    sample_tool_request as tool_request,
)
from vigil_tools.fake_anthropic.usage import TOOL_PROMPT_FORCED, api_image_size, text_tokens


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    async with running_fake(api_key="k-test") as server:
        yield server


@pytest.fixture
def client(fake: FakeAnthropic) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="k-test", base_url=fake.base_url, max_retries=0)


async def test_a_forced_tool_answers_with_an_input_valid_against_its_schema(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    message = await client.messages.create(**tool_request())
    assert message.stop_reason == "tool_use"
    assert message.model == MODEL
    assert message.id.startswith("msg_")
    (block,) = message.content
    assert block.type == "tool_use"
    assert block.name == TOOL["name"]
    assert schema_instance.violations(TOOL["input_schema"], block.input) == []
    assert fake.requests("/v1/messages")[0]["tool_choice"]["type"] == "tool"


async def test_a_scripted_answer_is_returned_verbatim_once(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    scripted = {"summary": "a van", "score": 0.9, "level": "high", "tags": [], "flag": True}
    fake.script_answers(scripted)
    first = await client.messages.create(**tool_request())
    second = await client.messages.create(**tool_request())
    assert first.content[0].type == "tool_use"
    assert first.content[0].input == scripted
    assert second.content[0].type == "tool_use"
    assert second.content[0].input != scripted


async def test_image_usage_follows_the_api_downscale_and_the_750_pixel_rule(
    fake: FakeAnthropic, client: anthropic.AsyncAnthropic
) -> None:
    content = [image_block(3000, 2000), {"type": "text", "text": "What is here?"}]
    message = await client.messages.create(
        model=MODEL, max_tokens=64, messages=[user_message(*content)]
    )
    width, height = api_image_size(3000, 2000)
    assert max(width, height) <= 1568
    image = math.ceil(width * height / 750)
    assert 1500 <= image <= 1640
    assert message.usage.input_tokens == image + text_tokens("What is here?") + 3
    assert fake.requests("/v1/messages")[0]["image_sizes"] == [[3000, 2000]]
    small = await client.messages.create(
        model=MODEL, max_tokens=64, messages=[user_message(image_block(200, 150))]
    )
    assert small.usage.input_tokens == math.ceil(200 * 150 / 750) + 3


async def test_tools_count_toward_the_input_tokens(client: anthropic.AsyncAnthropic) -> None:
    bare = await client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Describe."}]
    )
    with_tool = await client.messages.create(**tool_request())
    assert with_tool.usage.input_tokens > bare.usage.input_tokens + TOOL_PROMPT_FORCED


async def test_a_cached_system_prefix_is_created_once_then_read(
    client: anthropic.AsyncAnthropic,
) -> None:
    system = [{"type": "text", "text": "Rules. " * 800, "cache_control": {"type": "ephemeral"}}]
    first = await client.messages.create(**tool_request(system=system))
    second = await client.messages.create(**tool_request(system=system))
    assert first.usage.cache_creation_input_tokens is not None
    assert first.usage.cache_creation_input_tokens > 1024
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.input_tokens == first.usage.input_tokens


async def test_a_prefix_below_the_minimum_is_not_cached(client: anthropic.AsyncAnthropic) -> None:
    system = [{"type": "text", "text": "Short rules.", "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        message = await client.messages.create(**tool_request(system=system))
        assert message.usage.cache_creation_input_tokens == 0
        assert message.usage.cache_read_input_tokens == 0


async def test_count_tokens_matches_the_usage_of_the_same_prompt(
    client: anthropic.AsyncAnthropic,
) -> None:
    request = tool_request(messages=[user_message(image_block(640, 480))])
    counted = await client.messages.count_tokens(
        model=MODEL,
        messages=request["messages"],
        tools=request["tools"],
        tool_choice=request["tool_choice"],
    )
    message = await client.messages.create(**request)
    assert counted.input_tokens == message.usage.input_tokens


async def test_a_missing_or_wrong_key_is_a_401(fake: FakeAnthropic) -> None:
    wrong = anthropic.AsyncAnthropic(api_key="nope", base_url=fake.base_url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        await wrong.messages.create(**tool_request())
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": caught.value.request_id,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{fake.base_url}/v1/messages", json=tool_request()) as response,
    ):
        assert response.status == 401
        assert (await response.json())["error"]["message"] == "x-api-key header is required"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("model", "model: Field required"),
        ("max_tokens", "max_tokens: Field required"),
        ("messages", "messages: Field required"),
    ],
)
async def test_a_missing_field_is_a_400_with_the_api_error_shape(
    fake: FakeAnthropic, missing: str, message: str
) -> None:
    body = tool_request()
    del body[missing]
    async with (
        aiohttp.ClientSession(headers={"x-api-key": "k-test"}) as session,
        session.post(f"{fake.base_url}/v1/messages", json=body) as response,
    ):
        payload = await response.json()
    assert response.status == 400
    assert response.headers["request-id"] == payload["request_id"]
    assert payload["type"] == "error"
    assert payload["error"] == {"type": "invalid_request_error", "message": message}


async def test_bad_image_data_is_a_bad_request(client: anthropic.AsyncAnthropic) -> None:
    garbage = {"type": "base64", "media_type": "image/jpeg", "data": "aGVsbG8gd29ybGQ="}
    with pytest.raises(anthropic.BadRequestError, match="Could not process image"):
        await client.messages.create(
            model=MODEL,
            max_tokens=32,
            messages=[user_message({"type": "image", "source": garbage})],
        )
    with pytest.raises(anthropic.BadRequestError, match="appears to be a JPEG image"):
        await client.messages.create(
            model=MODEL,
            max_tokens=32,
            messages=[user_message(image_block(20, 20, "image/png"))],
        )


async def test_an_unknown_tool_choice_is_a_bad_request(client: anthropic.AsyncAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="not found in tools"):
        await client.messages.create(**tool_request(tool_choice={"type": "tool", "name": "x"}))


async def test_the_sync_client_works_too(fake: FakeAnthropic) -> None:
    def call() -> tuple[str | None, int]:
        client = anthropic.Anthropic(api_key="k-test", base_url=fake.base_url, max_retries=0)
        message = client.messages.create(**tool_request())
        counted = client.messages.count_tokens(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )
        return message.stop_reason, counted.input_tokens

    assert await asyncio.to_thread(call) == ("tool_use", text_tokens("hi") + 3)
