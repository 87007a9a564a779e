"""Build the camera review pipeline from the settings: the collaborators of
:class:`~vigil_optimizer.review.Reviewer`.

- cameras are reached over ONVIF (:class:`~vigil_optimizer.onvif.OnvifCameraLink`) with the
  stored, decrypted login, ``onvif_timeout_s`` per call and ``onvif_attempts`` tries;
- snapshots are checked by :class:`~vigil_optimizer.health.checker.SnapshotChecker` (files
  under ``snapshot_dir``);
- the engine is Claude's (:mod:`vigil_optimizer.claude`, shown the review's snapshot read
  back from the snapshot folder) with the heuristic as its fallback when an Anthropic key is
  set, the heuristic alone otherwise;
- applies go through :class:`~vigil_optimizer.apply.applier.Applier` with a redactor of the
  camera's password; a fresh recommendation is applied at once only when the camera's policy
  says so (:func:`~vigil_optimizer.apply.policy.decide`: ``auto``, confident enough, inside
  its maintenance window);
- each camera's bandwidth share comes from :class:`~vigil_optimizer.site_bandwidth.SiteBandwidth`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

from vigil_optimizer.apply.applier import Applier, ApplyRequest
from vigil_optimizer.apply.policy import decide
from vigil_optimizer.apply.redact import Redactor
from vigil_optimizer.camera_link import CameraLink
from vigil_optimizer.camera_targets import CameraTarget, CameraTargets
from vigil_optimizer.claude import ClaudeEngine, SnapshotSource
from vigil_optimizer.health.checker import SnapshotChecker
from vigil_optimizer.heuristic.engine import HeuristicEngine
from vigil_optimizer.onvif import OnvifCameraLink
from vigil_optimizer.recommendation import (
    Recommendation,
    RecommendationContext,
    RecommendationEngine,
    SnapshotHealth,
)
from vigil_optimizer.review import Reviewer
from vigil_optimizer.settings import OptimizerSettings
from vigil_optimizer.site_bandwidth import SiteBandwidth
from vigil_runtime.crypto import CredentialCipher
from vigil_schema.camera_settings import CameraSettings
from vigil_schema.clock import utc_now

__all__ = ["build_engine", "build_reviewer", "snapshot_source"]


def snapshot_source(pool: asyncpg.Pool, root: Path) -> SnapshotSource:
    """Claude's picture: the JPEG of the context's snapshot, read back from the snapshot
    folder (None when the review has no snapshot)."""

    async def read(context: RecommendationContext) -> bytes | None:
        snapshot_id = context.health.snapshot_id if context.health is not None else None
        if snapshot_id is None:
            return None
        async with pool.acquire() as conn:
            relative = await conn.fetchval(
                "SELECT file_path FROM snapshots WHERE id = $1 AND camera_id = $2",
                snapshot_id, context.camera_id,
            )  # fmt: skip
        if relative is None:
            return None
        return await asyncio.to_thread((root / relative).read_bytes)

    return read


def build_engine(
    settings: OptimizerSettings, pool: asyncpg.Pool, redis: aioredis.Redis
) -> RecommendationEngine:
    """Claude with the heuristic as fallback when a key is set; else the heuristic."""
    heuristic = HeuristicEngine()
    secret = settings.anthropic_api_key
    if secret is None or not secret.get_secret_value().strip():
        return heuristic
    return ClaudeEngine(settings, redis, fallback=heuristic,
                        snapshots=snapshot_source(pool, settings.snapshot_dir))  # fmt: skip


def build_reviewer(
    settings: OptimizerSettings, pool: asyncpg.Pool, redis: aioredis.Redis,
    cipher: CredentialCipher | None, snapshots_http: httpx.AsyncClient,
) -> Reviewer:  # fmt: skip
    """The review pipeline (see the module docstring). ``snapshots_http`` is the one HTTP
    client every snapshot fetch shares (a client per fetch cost ~33 ms of CPU for its TLS
    context: a third of a review's CPU in the fleet benchmark); the caller closes it."""
    checker = SnapshotChecker(pool, settings.snapshot_dir,
                              thresholds=settings.snapshot_thresholds,
                              timeout_s=settings.onvif_timeout_s,
                              client=snapshots_http)  # fmt: skip
    applier = Applier(pool, redis)
    bandwidth = SiteBandwidth(pool, settings.site_bandwidth_kbps)

    @asynccontextmanager
    async def connect(target: CameraTarget) -> AsyncIterator[CameraLink]:
        creds = target.credentials
        async with OnvifCameraLink.connect(
            target.host, target.port, creds.username, creds.password.get_secret_value(),
            timeout_s=settings.onvif_timeout_s, attempts=settings.onvif_attempts,
        ) as link:  # fmt: skip
            yield link

    async def check_snapshot(target: CameraTarget, uri: str) -> SnapshotHealth:
        return await checker.check(target.camera_id, uri, target.credentials)

    async def apply_step(
        link: CameraLink, target: CameraTarget, optimization_id: int,
        settings_: CameraSettings, applied_by: str,
    ) -> str:  # fmt: skip
        request = ApplyRequest(target.camera_id, settings_, applied_by, optimization_id)
        redact = Redactor.for_credentials(target.credentials)
        result = await applier.apply(link, request, redact=redact)
        return str(result.status)

    def auto_apply(target: CameraTarget, rec: Recommendation) -> bool:
        decision = decide(target.policy(), confidence=rec.confidence, now=utc_now(),
                          default_min_confidence=settings.auto_apply_min_confidence)  # fmt: skip
        return decision.action == "apply"

    return Reviewer(
        pool=pool, targets=CameraTargets(pool, cipher), connect=connect,
        engine=build_engine(settings, pool, redis), check_snapshot=check_snapshot,
        apply_step=apply_step, auto_apply=auto_apply, bandwidth_share=bandwidth.share,
    )  # fmt: skip
