"""``optimizations`` rows: store a recommendation, find one to apply.

:func:`store_recommendation` inserts one row (status ``proposed``) with seed 000's columns:
``request_data`` (the whole context, for reproducibility), ``current_settings``,
``recommended_settings``, confidence, warnings, explanation, provider, model and processing
time; in the same transaction it marks the camera's earlier ``proposed`` recommendations
``superseded`` (only the newest proposal is actionable) and writes ``audit_log``.
:func:`load_optimization` returns a row as :class:`StoredOptimization`.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from vigil_optimizer.recommendation import Recommendation, RecommendationContext
from vigil_runtime.audit import write_audit
from vigil_schema.camera_settings import CameraSettings

__all__ = ["StoredOptimization", "load_optimization", "store_recommendation"]

ACTOR = "optimizer"


@dataclass(frozen=True)
class StoredOptimization:
    """An ``optimizations`` row, as the apply step needs it."""

    id: int
    camera_id: str
    status: str
    settings: CameraSettings
    confidence: float | None
    provider: str


async def store_recommendation(
    pool: asyncpg.Pool, context: RecommendationContext, rec: Recommendation
) -> int:
    """Insert ``rec`` for ``context``'s camera; its id (see the module docstring)."""
    async with pool.acquire() as conn, conn.transaction():
        superseded = await conn.fetch(
            "UPDATE optimizations SET status = 'superseded', updated_at = now() "
            "WHERE camera_id = $1 AND status = 'proposed' RETURNING id",
            context.camera_id,
        )
        optimization_id: int = await conn.fetchval(
            "INSERT INTO optimizations (camera_id, request_data, current_settings, "
            "recommended_settings, confidence, warnings, explanation, ai_provider, model, "
            "processing_time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            context.camera_id, context.request_data(), context.current.to_json(),
            rec.settings.to_json(), rec.confidence, rec.warnings, rec.explanation, rec.provider,
            rec.model, rec.processing_time_ms,
        )  # fmt: skip
        details = {"provider": rec.provider, "confidence": rec.confidence,
                   "reason": context.reason, "rules": rec.rules,
                   "superseded": [r["id"] for r in superseded]}  # fmt: skip
        await write_audit(conn, actor=ACTOR, action="optimization.recommend",
                          entity_type="optimization", entity_id=str(optimization_id),
                          details=details, service="optimizer")  # fmt: skip
    return optimization_id


async def load_optimization(pool: asyncpg.Pool, optimization_id: int) -> StoredOptimization | None:
    """The row ``optimization_id``, or None."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM optimizations WHERE id = $1", optimization_id)
    if row is None:
        return None
    return StoredOptimization(
        id=row["id"], camera_id=row["camera_id"], status=row["status"],
        settings=CameraSettings.model_validate(row["recommended_settings"]),
        confidence=row["confidence"], provider=row["ai_provider"],
    )  # fmt: skip
