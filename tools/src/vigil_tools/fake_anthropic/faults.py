"""Scripted faults: a queue of what the next requests to an endpoint suffer.

A fault is `{"kind": ..., "retry_after": s, "delay_s": s, "target": ..., "repeat": n}`:

- `rate_limit`: 429 `rate_limit_error` with `retry-after` (seconds; default 1) when given;
- `overloaded`: 529 `overloaded_error` (`retry-after` only when given);
- `server_error`: 500 `api_error`;
- `slow`: wait `delay_s`, then answer normally (longer than the client's timeout, it is a
  timeout);
- `malformed`: answer normally but with a tool input that does not match the tool's schema;
- `max_tokens`: answer with `stop_reason: max_tokens` and an incomplete (empty) tool input.

`target` is `messages` (POST /v1/messages, the default), `count_tokens`, `batches`
(POST /v1/messages/batches) or `batch_item` (one request inside a batch: an error kind
becomes an `errored` result). `repeat` queues the same fault n times (a 529 storm). Faults
are consumed in order, one per request to their target; an SDK retry is a new request.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vigil_tools.fake_anthropic.errors import ApiError

FaultKind = Literal["rate_limit", "overloaded", "server_error", "slow", "malformed", "max_tokens"]
Target = Literal["messages", "count_tokens", "batches", "batch_item"]


class Fault(BaseModel):
    """One scripted fault."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    retry_after: float | None = Field(default=None, ge=0)
    delay_s: float = Field(default=0.0, ge=0)
    target: Target = "messages"
    repeat: int = Field(default=1, ge=1, le=10_000)

    def error(self) -> ApiError | None:
        """The error answer of this fault (None for the kinds that still answer)."""
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            headers["retry-after"] = f"{self.retry_after:g}"
        if self.kind == "rate_limit":
            headers.setdefault("retry-after", "1")
            return ApiError(
                429, "Number of request tokens has exceeded your rate limit", headers=headers
            )
        if self.kind == "overloaded":
            return ApiError(529, "Overloaded", headers=headers)
        if self.kind == "server_error":
            return ApiError(500, "Internal server error", headers=headers)
        return None


class FaultQueue:
    """Pending faults per target, consumed one per request."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def add(self, faults: list[Fault]) -> None:
        """Queue `faults` (each `repeat` times) behind those already waiting."""
        for fault in faults:
            queue = self._queues.setdefault(fault.target, deque())
            queue.extend([fault] * fault.repeat)

    def next(self, target: str) -> Fault | None:
        """The fault the next request to `target` suffers, if any (and consume it)."""
        queue = self._queues.get(target)
        return queue.popleft() if queue else None

    def pending(self) -> dict[str, int]:
        """How many faults wait, per target."""
        return {target: len(queue) for target, queue in self._queues.items() if queue}

    def clear(self) -> None:
        """Drop every pending fault."""
        self._queues.clear()


def parse_faults(payload: Any) -> list[Fault]:
    """A list of faults from `{"faults": [...]}`, a bare list, or a single fault object."""
    if isinstance(payload, dict) and "faults" in payload:
        payload = payload["faults"]
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise ValueError("expected a fault, a list of faults or {'faults': [...]}")
    return [Fault.model_validate(item) for item in payload]
