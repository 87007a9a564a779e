"""Reading a forced tool's answer: the tool input of a Messages API answer, and why it failed
validation, in one line.

:func:`tool_input` is the input of the answer's ``tool_use`` block of the named tool (None
when Claude did not call it). :func:`validation_error` sums up a pydantic ``ValidationError``
of that input as ``schema violation: loc: msg; ...`` (the first three problems).
"""

from __future__ import annotations

from typing import Any

from anthropic.types import Message
from pydantic import ValidationError

__all__ = ["tool_input", "validation_error"]


def tool_input(message: Message, name: str) -> Any | None:
    """The input Claude gave the tool ``name``; None when it did not call it."""
    return next((b.input for b in message.content if b.type == "tool_use" and b.name == name), None)


def validation_error(exc: ValidationError) -> str:
    """The first three problems of ``exc``, one line."""
    problems = [f"{'.'.join(map(str, e['loc'])) or '$'}: {e['msg']}" for e in exc.errors()]
    more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
    return "schema violation: " + "; ".join(problems[:3]) + more
