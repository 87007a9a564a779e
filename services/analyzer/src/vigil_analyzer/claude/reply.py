"""A Messages API answer -> :class:`ClaudeReply`: the validated tool input, usage and cost.

The answer is valid when it holds a `record_scene_analysis` tool_use block whose input passes
:class:`SceneAnalysis` and it was not cut short (`stop_reason` `max_tokens`). Otherwise
``analysis`` is None, ``error`` says why, and ``response`` keeps what came back (the tool
input, or the text) with the stop reason, for the stored row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anthropic.types import Message
from pydantic import ValidationError

from vigil_analyzer.claude.cost import estimate_cost
from vigil_analyzer.claude.models import ClaudeReply
from vigil_analyzer.claude.schema import TOOL_NAME, SceneAnalysis

__all__ = ["Pricing", "parse_message"]


@dataclass(frozen=True, slots=True)
class Pricing:
    """US dollars per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float


def _validation_error(exc: ValidationError) -> str:
    problems = [f"{'.'.join(map(str, e['loc'])) or '$'}: {e['msg']}" for e in exc.errors()]
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return "schema violation: " + "; ".join(problems[:3]) + more


def _analysis(message: Message) -> tuple[SceneAnalysis | None, str | None, dict[str, Any]]:
    stop = message.stop_reason
    tool_input = next(
        (b.input for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None
    )
    if tool_input is None:
        text = "".join(b.text for b in message.content if b.type == "text")
        return (
            None,
            f"no {TOOL_NAME} tool_use (stop_reason {stop})",
            {
                "text": text,
                "stop_reason": stop,
            },
        )
    invalid = {"tool_input": tool_input, "stop_reason": stop}
    if stop == "max_tokens":
        return None, "answer cut short (stop_reason max_tokens)", invalid
    try:
        analysis = SceneAnalysis.model_validate(tool_input)
    except ValidationError as exc:
        return None, _validation_error(exc), invalid
    return analysis, None, dict(tool_input) if isinstance(tool_input, dict) else invalid


def parse_message(
    message: Message, *, duration_ms: int, pricing: Pricing, batch: bool
) -> ClaudeReply:
    """The reply of one answer (valid or not), with its usage and cost."""
    analysis, error, response = _analysis(message)
    usage = message.usage
    cache_read = usage.cache_read_input_tokens or 0
    cache_creation = usage.cache_creation_input_tokens or 0
    cost = estimate_cost(
        usage.input_tokens,
        usage.output_tokens,
        cache_read,
        cache_creation,
        input_price_per_mtok=pricing.input_per_mtok,
        output_price_per_mtok=pricing.output_per_mtok,
        batch=batch,
    )
    return ClaudeReply(
        analysis=analysis,
        error=error,
        response=response,
        model=message.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=cache_read,
        cache_creation_tokens=cache_creation,
        duration_ms=duration_ms,
        cost_usd=cost,
        batch=batch,
    )
