"""Claude calls and tokens per camera-hour, counted from ``claude_analyses`` over a run.

Measured only where this tree has the Claude analyst (:data:`ANALYST_MODULE`) wired into the
pipeline as its frame observer: then the rows the run's cameras got (calls; input and
output tokens) are divided by the camera-hours the run's frames span (cameras × the span of
their timestamps). Without the analyst the result says ``measured: false`` and why, so the
docs say "not measured" rather than a zero.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import asyncpg

ANALYST_MODULE = "vigil_analyzer.claude.analyst"


def analyst_available() -> bool:
    """Whether the Claude analyst is in this tree."""
    try:
        return importlib.util.find_spec(ANALYST_MODULE) is not None
    except ImportError:
        return False


def not_measured(reason: str) -> dict[str, Any]:
    """The result when nothing could be measured."""
    return {"measured": False, "reason": reason}


async def claude_per_camera_hour(
    pool: asyncpg.Pool, cameras: list[str], camera_hours: float, *, wired: bool
) -> dict[str, Any]:
    """Calls and tokens the run's ``cameras`` stored, per camera-hour of their frames;
    ``wired``: whether the run's pipelines had the analyst as their observer."""
    if not analyst_available():
        return not_measured(f"no Claude analyst in this tree ({ANALYST_MODULE} is missing)")
    if not wired:
        return not_measured("the Claude analyst is not wired into bench/analyzer/pipeline.py")
    row = await pool.fetchrow(
        "SELECT count(*) AS calls, coalesce(sum(input_tokens), 0) AS input_tokens, "
        "coalesce(sum(output_tokens), 0) AS output_tokens FROM claude_analyses "
        "WHERE camera_id = ANY($1::text[])",
        cameras,
    )
    assert row is not None
    per_hour = 1 / camera_hours if camera_hours > 0 else 0.0
    return {
        "measured": True,
        "camera_hours": round(camera_hours, 4),
        "calls": int(row["calls"]),
        "input_tokens": int(row["input_tokens"]),
        "output_tokens": int(row["output_tokens"]),
        "calls_per_camera_hour": round(int(row["calls"]) * per_hour, 1),
        "tokens_per_camera_hour": round(
            (int(row["input_tokens"]) + int(row["output_tokens"])) * per_hour
        ),
    }
