"""fake_anthropic's pure parts: schema instances and checks, the image downscale, the cache,
and the CLI server scripted over HTTP by RemoteFake."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import anthropic
import pytest

from vigil_tools.fake_anthropic import schema_instance
from vigil_tools.fake_anthropic.remote import RemoteFake
from vigil_tools.fake_anthropic.testing import SAMPLE_TOOL, sample_tool_request
from vigil_tools.fake_anthropic.usage import PromptBlock, PromptCache, api_image_size

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 12, "maxLength": 20},
        "count": {"type": "integer", "minimum": 3, "maximum": 9},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
        "nested": {"type": "object", "properties": {"x": {"type": ["string", "null"]}}},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    },
    "required": ["name", "count", "kind"],
    "additionalProperties": False,
}


def test_the_generated_instance_is_valid_and_deterministic() -> None:
    value = schema_instance.instance(SCHEMA)
    assert schema_instance.violations(SCHEMA, value) == []
    assert value == schema_instance.instance(SCHEMA)
    assert len(value["items"]) == 2
    assert 12 <= len(value["name"]) <= 20


def test_violations_name_what_is_wrong() -> None:
    value = {"name": "short", "count": 10, "kind": "c", "extra": 1, "either": []}
    found = schema_instance.violations(SCHEMA, value)
    assert "$.name: shorter than 12" in found
    assert "$.count: above 9" in found
    assert any(v.startswith("$.kind: not one of") for v in found)
    assert "$.extra: not allowed" in found
    assert "$.either: matches no branch of anyOf" in found


def test_malformed_violates_the_schema() -> None:
    assert schema_instance.violations(SCHEMA, schema_instance.malformed(SCHEMA))
    assert schema_instance.violations(
        SAMPLE_TOOL["input_schema"], schema_instance.malformed(SAMPLE_TOOL["input_schema"])
    )


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((640, 480), (640, 480)),
        ((3136, 1568), (1568, 784)),
        ((1568, 1568), (1108, 1108)),
        ((1092, 1092), (1092, 1092)),
    ],
)
def test_the_api_downscale(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert api_image_size(*size) == expected


def test_the_cache_reads_the_longest_cached_prefix_and_writes_the_rest() -> None:
    cache = PromptCache(min_tokens=100)
    first = [PromptBlock(150, b"a", True), PromptBlock(10, b"q1")]
    assert cache.account("m", first).cache_creation_input_tokens == 150
    longer = [PromptBlock(150, b"a", True), PromptBlock(200, b"b", True), PromptBlock(5, b"q")]
    usage = cache.account("m", longer)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (150, 200)
    assert usage.input_tokens == 5
    assert cache.account("other-model", first).cache_read_input_tokens == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_cli_server_is_scripted_over_http() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "vigil_tools.fake_anthropic",
        "--port",
        str(port),
        "--api-key",
        "cli-key",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert b"vigil-fake-anthropic on" in await process.stdout.readline()
        base_url = f"http://127.0.0.1:{port}"
        remote = RemoteFake(base_url)
        client = anthropic.AsyncAnthropic(api_key="cli-key", base_url=base_url, max_retries=2)
        await remote.add_faults({"kind": "rate_limit", "retry_after": 0.01})
        await remote.script_answers({"summary": "scripted"})
        message = await client.messages.create(**sample_tool_request())
        assert message.content[0].type == "tool_use"
        assert message.content[0].input == {"summary": "scripted"}
        summary = await remote.summary()
        assert summary["by_status"] == {"429": 1, "200": 1}
        assert (await remote.configure(latency_s=0.0))["api_key"] == "cli-key"
        await remote.reset()
        assert (await remote.summary())["count"] == 0
    finally:
        process.terminate()
        await process.wait()
