"""A Messages API answer -> :class:`ClaudeReply`: the validated tool input, usage and cost.

The answer is valid when it holds a `record_scene_analysis` tool_use block whose input passes
:class:`SceneAnalysis` and it was not cut short (`stop_reason` `max_tokens`). Otherwise
``analysis`` is None, ``error`` says why, and ``response`` keeps what came back (the tool
input, or the text) with the stop reason, for the stored row.
"""

from __future__ import annotations

from typing import Any

from anthropic.types import Message
from pydantic import ValidationError

from vigil_analyzer.claude.models import ClaudeReply
from vigil_analyzer.claude.schema import TOOL_NAME, SceneAnalysis
from vigil_runtime.claude.cost import Pricing, TokenUsage
from vigil_runtime.claude.tool import tool_input, validation_error

__all__ = ["parse_message"]


def _analysis(message: Message) -> tuple[SceneAnalysis | None, str | None, dict[str, Any]]:
    stop = message.stop_reason
    answer = tool_input(message, TOOL_NAME)
    if answer is None:
        text = "".join(b.text for b in message.content if b.type == "text")
        return (
            None,
            f"no {TOOL_NAME} tool_use (stop_reason {stop})",
            {
                "text": text,
                "stop_reason": stop,
            },
        )
    invalid = {"tool_input": answer, "stop_reason": stop}
    if stop == "max_tokens":
        return None, "answer cut short (stop_reason max_tokens)", invalid
    try:
        analysis = SceneAnalysis.model_validate(answer)
    except ValidationError as exc:
        return None, validation_error(exc), invalid
    return analysis, None, dict(answer) if isinstance(answer, dict) else invalid


def parse_message(
    message: Message, *, duration_ms: int, pricing: Pricing, batch: bool
) -> ClaudeReply:
    """The reply of one answer (valid or not), with its usage and cost."""
    analysis, error, response = _analysis(message)
    usage = TokenUsage.of(message.usage)
    return ClaudeReply(
        analysis=analysis,
        error=error,
        response=response,
        model=message.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_creation_tokens=usage.cache_creation_tokens,
        duration_ms=duration_ms,
        cost_usd=usage.cost(pricing, batch=batch),
        batch=batch,
    )
