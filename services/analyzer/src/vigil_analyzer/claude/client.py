"""The Claude client of the analyzer: one frame per call, or many per Message Batch.

:meth:`ClaudeClient.analyze` sends the frame with the cached system prompt and forces the
`record_scene_analysis` tool; the SDK retries 429/5xx/529 and connection failures twice,
honouring ``retry-after``, within ``claude_timeout_s`` per attempt. What still fails raises
:class:`ClaudeUnavailableError` (breaker-counted) or :class:`ClaudeRejectedError`; an answer
that is not a valid analysis is a :class:`ClaudeReply` with ``analysis`` None.

Batches: :meth:`submit_batch` sends the same requests under ``custom_id`` = a hash of the
request key and remembers the mapping; :meth:`poll_batch` answers None until the batch has
ended, then every result keyed by request key (an errored, canceled or expired request as a
:class:`ClaudeUnavailableError`: errored by its error type, the others `timeout`). A batch
this client did not submit (after a restart) is keyed by custom_id. :meth:`estimate_tokens`
is an upper bound of a request's tokens, for budget reservations.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anthropic
from anthropic.types.messages import MessageBatchIndividualResponse

from vigil_analyzer.claude.models import AnalysisRequest, ClaudeReply, custom_id
from vigil_analyzer.claude.prompt import SYSTEM_PROMPT, build_messages, request_text, system_blocks
from vigil_analyzer.claude.reply import parse_message
from vigil_analyzer.claude.schema import SCENE_TOOL, TOOL_NAME
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.claude.client import TOOL_PROMPT_TOKENS, sdk_client, text_tokens_bound
from vigil_runtime.claude.cost import Pricing
from vigil_runtime.claude.errors import (
    ClaudeRejectedError,
    ClaudeUnavailableError,
    kind_of_error_type,
    translated,
)
from vigil_runtime.claude.image import image_tokens_bound

__all__ = ["ClaudeClient", "ClaudeRejectedError", "ClaudeUnavailableError"]


@dataclass
class _PendingBatch:
    keys: dict[str, str]
    started: float = field(default_factory=time.monotonic)


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


class ClaudeClient:
    """Calls Claude for scene analyses (see the module docstring)."""

    def __init__(
        self, sdk: anthropic.AsyncAnthropic, *, model: str, max_tokens: int, pricing: Pricing
    ) -> None:
        self._sdk = sdk
        self.model = model
        self.max_tokens = max_tokens
        self._pricing = pricing
        self._batches: dict[str, _PendingBatch] = {}
        fixed = text_tokens_bound(SYSTEM_PROMPT, json.dumps(SCENE_TOOL))
        self._fixed_tokens = TOOL_PROMPT_TOKENS + fixed

    @classmethod
    def from_settings(cls, settings: AnalyzerSettings) -> ClaudeClient | None:
        """A client from the settings; None without an API key (or with an empty one)."""
        sdk = sdk_client(settings.anthropic_api_key, base_url=settings.anthropic_base_url,
                         timeout_s=settings.claude_timeout_s)  # fmt: skip
        if sdk is None:
            return None
        pricing = Pricing(
            settings.claude_input_price_per_mtok, settings.claude_output_price_per_mtok
        )
        return cls(
            sdk, model=settings.claude_model, max_tokens=settings.claude_max_tokens, pricing=pricing
        )

    def _params(self, request: AnalysisRequest) -> dict[str, Any]:
        try:
            messages = build_messages(request)
        except ValueError as exc:
            raise ClaudeRejectedError("invalid_image", str(exc)) from exc
        return {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": system_blocks(),
            "tools": [SCENE_TOOL],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": messages,
        }

    async def analyze(self, request: AnalysisRequest) -> ClaudeReply:
        """Claude's analysis of one frame (raises Claude{Unavailable,Rejected}Error)."""
        params = self._params(request)
        started = time.monotonic()
        with translated():
            message = await self._sdk.messages.create(**params)
        return parse_message(
            message, duration_ms=_elapsed_ms(started), pricing=self._pricing, batch=False
        )

    async def submit_batch(self, requests: Sequence[AnalysisRequest]) -> str:
        """Send these requests as one Message Batch; its id."""
        keys = {custom_id(r.key): r.key for r in requests}
        if not requests or len(keys) < len(requests):
            raise ValueError("a batch needs at least one request and unique request keys")
        items: Any = [{"custom_id": custom_id(r.key), "params": self._params(r)} for r in requests]
        with translated():
            batch = await self._sdk.messages.batches.create(requests=items)
        self._batches[batch.id] = _PendingBatch(keys)
        return batch.id

    async def poll_batch(
        self, batch_id: str
    ) -> dict[str, ClaudeReply | ClaudeUnavailableError] | None:
        """None while the batch runs; once ended, every result keyed by request key."""
        with translated():
            batch = await self._sdk.messages.batches.retrieve(batch_id)
            if batch.processing_status != "ended":
                return None
            lines = [line async for line in await self._sdk.messages.batches.results(batch_id)]
        pending = self._batches.pop(batch_id, None) or _PendingBatch({})
        duration_ms = _elapsed_ms(pending.started) if pending.keys else 0
        return {
            pending.keys.get(line.custom_id, line.custom_id): self._result(line, duration_ms)
            for line in lines
        }

    def _result(
        self, line: MessageBatchIndividualResponse, duration_ms: int
    ) -> ClaudeReply | ClaudeUnavailableError:
        result = line.result
        if result.type == "succeeded":
            return parse_message(
                result.message, duration_ms=duration_ms, pricing=self._pricing, batch=True
            )
        if result.type == "errored":
            error = result.error.error
            return ClaudeUnavailableError(kind_of_error_type(error.type), error.message)
        return ClaudeUnavailableError("timeout", f"batch request {result.type}")

    def estimate_tokens(self, request: AnalysisRequest) -> int:
        """An upper bound of the request's tokens: image, text, system and tool, max_tokens."""
        image = image_tokens_bound(request.jpeg)
        text = text_tokens_bound(request_text(request))
        return image + text + self._fixed_tokens + self.max_tokens

    async def close(self) -> None:
        """Close the SDK's HTTP connections."""
        await self._sdk.close()
