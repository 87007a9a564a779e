"""``claude_analyses`` rows (tuples in ``CLAUDE_ANALYSES.column_names`` order: the generated
``id`` left out, as :class:`~vigil_runtime.copy_writer.CopyWriter` expects).

:func:`analysis_row` stores a reply: a valid analysis maps objects -> objects_identified,
activities -> activities_detected, anomalies -> anomalies_flagged, risk_assessment ->
risk_level, pattern -> pattern_type; an invalid one becomes an :func:`error_row` with what
came back. :func:`error_row` stores a failed request: should_alert false, risk_level
``none``, empty arrays, ``response`` ``{"error": ...}`` (plus any detail given).
``input_tokens`` is every prompt token (uncached, cache reads and cache writes);
``context_events`` the scene-memory lines the prompt carried; ``ts`` the frame's capture time
(with camera and frame number, the table's dedup key).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from vigil_analyzer.claude.models import AnalysisRequest, ClaudeReply
from vigil_analyzer.claude.prompt import PROMPT_TEMPLATE
from vigil_runtime.copy_writer import Row
from vigil_schema.enums import RiskLevel
from vigil_schema.tables import CLAUDE_ANALYSES

__all__ = ["COLUMNS", "analysis_row", "error_row"]

COLUMNS: Final = CLAUDE_ANALYSES.column_names


def _head(request: AnalysisRequest, model: str, response: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        request.camera_id,
        request.captured_at,
        None,
        request.frame_number,
        request.request_type.value,
        PROMPT_TEMPLATE,
        len(request.scene_memory),
        model,
        dict(response),
    )


def analysis_row(request: AnalysisRequest, reply: ClaudeReply, *, created_at: datetime) -> Row:
    """The row of a reply (an invalid answer is stored as an error row)."""
    prompt_tokens = reply.input_tokens + reply.cache_read_tokens + reply.cache_creation_tokens
    a = reply.analysis
    if a is None:
        return error_row(
            request,
            reply.error or "invalid answer",
            model=reply.model,
            created_at=created_at,
            response=reply.response,
            input_tokens=prompt_tokens,
            output_tokens=reply.output_tokens,
            duration_ms=reply.duration_ms,
        )
    return (
        *_head(request, reply.model, reply.response),
        a.primary_insight,
        a.scene_description,
        a.confidence,
        list(a.objects),
        list(a.activities),
        list(a.anomalies),
        a.risk_assessment.value,
        a.pattern,
        a.pattern_confidence,
        a.should_alert,
        a.alert_reason,
        prompt_tokens,
        reply.output_tokens,
        reply.duration_ms,
        created_at,
    )


def error_row(
    request: AnalysisRequest,
    error: str,
    *,
    model: str,
    created_at: datetime,
    response: Mapping[str, Any] | None = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    duration_ms: int | None = None,
) -> Row:
    """The row of a request that got no valid analysis."""
    stored = {**(response or {}), "error": error}
    return (
        *_head(request, model, stored),
        None,
        None,
        None,
        [],
        [],
        [],
        RiskLevel.NONE.value,
        None,
        None,
        False,
        None,
        input_tokens,
        output_tokens,
        duration_ms,
        created_at,
    )
