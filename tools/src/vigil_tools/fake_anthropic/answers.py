"""The assistant's answer to a valid request: a `message` object as the API returns it.

With tools and a `tool_choice` other than `none`, the answer is one `tool_use` block for the
forced tool (`tool`), else the first tool (`any`, `auto`), whose input is, in this order: the
next scripted answer (verbatim, valid or not), a schema-violating input under a `malformed`
fault, or the deterministic valid instance of the tool's `input_schema`. Without tools it is a
short text. `stop_reason` is `tool_use` / `end_turn`, or `max_tokens` (with an empty tool
input, as an answer cut short) when the output would exceed `max_tokens` or under a
`max_tokens` fault. `usage` comes from :mod:`usage` and the shared prompt cache.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

from vigil_tools.fake_anthropic import schema_instance
from vigil_tools.fake_anthropic.errors import new_id
from vigil_tools.fake_anthropic.faults import Fault
from vigil_tools.fake_anthropic.requests import ParsedRequest
from vigil_tools.fake_anthropic.usage import TOOL_USE_OUTPUT_OVERHEAD, PromptCache, text_tokens

TEXT_ANSWER = "A fake answer from vigil-fake-anthropic."


def _tool_input(parsed: ParsedRequest, name: str, scripted: deque[Any], fault: Fault | None) -> Any:
    if scripted:
        return scripted.popleft()
    schema = parsed.tools[name]
    if fault is not None and fault.kind == "malformed":
        return schema_instance.malformed(schema)
    return schema_instance.instance(schema)


def _content(
    parsed: ParsedRequest, scripted: deque[Any], fault: Fault | None
) -> tuple[list[dict[str, Any]], int, str]:
    """The content blocks, the output tokens and the stop reason."""
    kind = parsed.tool_choice.get("type")
    if not parsed.tools or kind == "none":
        return [{"type": "text", "text": TEXT_ANSWER}], text_tokens(TEXT_ANSWER), "end_turn"
    name = parsed.tool_choice["name"] if kind == "tool" else next(iter(parsed.tools))
    tool_input = _tool_input(parsed, name, scripted, fault)
    output = text_tokens(orjson.dumps(tool_input).decode()) + TOOL_USE_OUTPUT_OVERHEAD
    stop = "tool_use"
    if output > parsed.max_tokens or (fault is not None and fault.kind == "max_tokens"):
        tool_input, output, stop = {}, min(output, parsed.max_tokens), "max_tokens"
    block = {"type": "tool_use", "id": new_id("toolu"), "name": name, "input": tool_input}
    return [block], output, stop


def answer(
    parsed: ParsedRequest,
    cache: PromptCache,
    scripted: deque[Any],
    fault: Fault | None = None,
    *,
    service_tier: str = "standard",
) -> dict[str, Any]:
    """The `message` object answering `parsed` (consumes a scripted answer if one waits)."""
    content, output_tokens, stop_reason = _content(parsed, scripted, fault)
    prompt = cache.account(parsed.model, parsed.blocks)
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": parsed.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt.input_tokens,
            "cache_creation_input_tokens": prompt.cache_creation_input_tokens,
            "cache_read_input_tokens": prompt.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": prompt.cache_creation_input_tokens,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": output_tokens,
            "service_tier": service_tier,
        },
    }
