"""What the analyzer asks Claude about one frame, and what comes back.

An :class:`AnalysisRequest` is keyed by ``"{camera_id}:{frame_number}:{ts epoch ms}"``
(:func:`request_key`); a Message Batches request carries :func:`custom_id` of it (the API
allows only ``^[a-zA-Z0-9_-]{1,64}$``). A :class:`ClaudeReply` is one answer, valid
(``analysis`` set) or not (``analysis`` None, ``error`` says why), with its usage and cost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil_analyzer.claude.schema import SceneAnalysis
from vigil_schema.enums import AnalysisRequestType

__all__ = ["AnalysisRequest", "ClaudeReply", "custom_id", "request_key"]


def request_key(camera_id: str, frame_number: int, captured_at: datetime) -> str:
    """The request key of a frame: camera, frame number, capture time in epoch ms."""
    return f"{camera_id}:{frame_number}:{round(captured_at.timestamp() * 1000)}"


def custom_id(key: str) -> str:
    """A batch `custom_id` for a request key (32 hex digits of its SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """One frame to analyse, with the context the prompt gives Claude."""

    key: str
    camera_id: str
    jpeg: bytes
    request_type: AnalysisRequestType
    captured_at: datetime
    frame_number: int
    objects: Sequence[str] = ()
    """Short detection lines, e.g. ``person #12 0.91 in zone door, stationary``."""
    zones: Mapping[str, int] = field(default_factory=dict)
    """Zone name -> objects counted in it."""
    scene_memory: Sequence[str] = ()
    """The camera's last analysis summaries, newest first."""
    question: str | None = None
    """A manual request's question."""


@dataclass(frozen=True, slots=True)
class ClaudeReply:
    """One answer: the analysis (None when invalid), usage, timing and cost."""

    analysis: SceneAnalysis | None
    error: str | None
    response: dict[str, Any]
    """What ``claude_analyses.response`` stores: the tool input, or text/stop_reason."""
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    duration_ms: int
    cost_usd: float
    batch: bool

    @property
    def total_tokens(self) -> int:
        """Every token billed: input, output, cache reads and cache writes."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_creation_tokens
        )
