"""AnalysisStore against real PostgreSQL as vigil_analyzer: one row per frame, partitions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from vigil_analyzer.claude.store import COLUMNS, AnalysisStore

PoolAs = Callable[[str], Awaitable[Any]]


def _row(ts: datetime, frame_number: int | None = 7, **values: Any) -> tuple[Any, ...]:
    fields: dict[str, Any] = {
        "camera_id": "cam-1", "ts": ts, "trigger_event_id": None,
        "frame_number": frame_number, "request_type": "scene_description",
        "prompt_template": "scene_v1", "context_events": 2, "model": "claude-sonnet-4-5",
        "response": {"primary_insight": "a quiet street", "risk_assessment": "none"},
        "primary_insight": "a quiet street", "scene_description": "cars parked",
        "confidence": 0.8, "objects_identified": ["car"], "activities_detected": [],
        "anomalies_flagged": [], "risk_level": "none", "pattern_type": None,
        "pattern_confidence": None, "should_alert": False, "alert_reason": None,
        "input_tokens": 1600, "output_tokens": 200, "duration_ms": 1234,
        "created_at": ts,
    }  # fmt: skip
    fields.update(values)
    assert set(fields) == set(COLUMNS)
    return tuple(fields[name] for name in COLUMNS)


async def test_a_frame_is_stored_once_and_its_month_partition_is_created(
    pg_pool_as: PoolAs,
) -> None:
    pool = await pg_pool_as("vigil_analyzer")
    store = AnalysisStore(pool)
    ts = datetime(2031, 5, 17, 10, 0, 0, 123456, tzinfo=UTC)  # no partition exists yet
    assert await store.insert(_row(ts))
    assert not await store.insert(_row(ts, primary_insight="a second opinion"))
    rows = await pool.fetch(
        "SELECT frame_number, primary_insight, response, objects_identified"
        " FROM claude_analyses WHERE camera_id = 'cam-1'"
    )
    assert [tuple(r) for r in rows] == [
        (7, "a quiet street", {"primary_insight": "a quiet street", "risk_assessment": "none"},
         ["car"]),
    ]  # fmt: skip
    assert await store.insert(_row(ts, frame_number=8))  # another frame at the same time
    assert await pool.fetchval("SELECT count(*) FROM claude_analyses") == 2
