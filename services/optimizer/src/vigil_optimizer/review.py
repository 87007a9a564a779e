"""One camera's review: inspect → snapshot health → recommend → store → maybe apply.

:meth:`Reviewer.review` is what every trigger runs (degraded health, the periodic review, a
``recommend`` or ``inspect`` request): it connects to the camera (:class:`CameraLinkFactory`),
inspects it and stores the capabilities, checks its snapshot (a failed snapshot is a warning,
not the end of the review), builds the :class:`RecommendationContext` from the registry row
(scene_type, purpose, site; ``tags``: ``lighting``, ``motion``, and the numbers
``speed_kmh``, ``mains_hz``, ``scene_width_m``, as numbers or as text) and the site's
bandwidth share, asks the engine, and stores a recommendation when it changes anything. Then
the camera's apply policy decides: ``auto`` above its confidence threshold and inside its
maintenance window applies at once (applied_by ``optimizer:auto``); otherwise the
recommendation waits for ``vigil recommendations approve``.

:meth:`Reviewer.apply` applies a stored recommendation on request (approve / ``vigil optimize
apply``): :func:`~vigil_optimizer.apply.policy.decide` with the operator's approval and "apply
now" (the maintenance window is not waited for; a camera whose policy is ``off`` refuses).
:meth:`Reviewer.verify` reads a camera back and records whether it still has a
recommendation's settings. Review outcomes are counted in ``vigil_optimizer_*`` metrics; the
errors of one camera are logged and counted, never raised to the scheduler, so one broken
camera never stops the others.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, cast

import asyncpg
import structlog

from vigil_optimizer import metrics
from vigil_optimizer.apply.policy import decide
from vigil_optimizer.apply.redact import Redactor
from vigil_optimizer.apply.verify import compare_section
from vigil_optimizer.camera_link import CameraError, CameraLink, Inspection
from vigil_optimizer.camera_targets import CameraTarget, CameraTargets, NotReachableError
from vigil_optimizer.optimizations import load_optimization, store_recommendation
from vigil_optimizer.recommendation import (
    Recommendation,
    RecommendationContext,
    RecommendationEngine,
    SnapshotHealth,
)
from vigil_runtime.audit import write_audit
from vigil_runtime.settings import redact_text
from vigil_schema.camera_settings import SETTINGS_SECTIONS, CameraSettings
from vigil_schema.clock import utc_now

__all__ = [
    "CameraLinkFactory",
    "NotApplicableError",
    "ReviewOutcome",
    "Reviewer",
    "SnapshotCheck",
]

_log = structlog.get_logger("vigil.optimizer.review")

ReviewOutcome = Literal["recommended", "applied", "no_change", "unreachable", "error"]
CameraLinkFactory = Callable[[CameraTarget], AbstractAsyncContextManager[CameraLink]]
BandwidthShare = Callable[[CameraTarget], Awaitable[int | None]]


class NotApplicableError(Exception):
    """A requested apply cannot happen: unknown or closed recommendation, policy ``off``."""


SnapshotCheck = Callable[[CameraTarget, str], Awaitable[SnapshotHealth]]
"""Fetches, measures and stores a camera's snapshot from its URI (``vigil_optimizer.health``)."""
ApplyStep = Callable[[CameraLink, CameraTarget, int, CameraSettings, str], Awaitable[str]]
"""Applies an optimization's settings over a link as ``applied_by`` and records the lifecycle
(``vigil_optimizer.apply``); the final status."""
AutoApplyPolicy = Callable[[CameraTarget, Recommendation], bool]
"""Whether a fresh recommendation is applied at once (``vigil_optimizer.apply.policy``)."""


@dataclass
class Reviewer:
    """See the module docstring."""

    pool: asyncpg.Pool
    targets: CameraTargets
    connect: CameraLinkFactory
    engine: RecommendationEngine
    check_snapshot: SnapshotCheck
    apply_step: ApplyStep
    auto_apply: AutoApplyPolicy
    bandwidth_share: BandwidthShare

    async def review(self, camera_id: str, reason: str) -> str:
        """Review one camera; the outcome (never raises for the camera's faults)."""
        log = _log.bind(camera_id=camera_id, reason=reason)
        redact = redact_text
        try:
            target = await self.targets.get(camera_id)
            redact = Redactor.for_credentials(target.credentials)
            async with self.connect(target) as link:
                outcome = await self._review(link, target, reason, log)
        except NotReachableError as exc:
            log.warning("camera not reviewable", error=str(exc))
            outcome = "unreachable"
        except CameraError as exc:
            log.warning("camera review failed", error=redact(str(exc)), operation=exc.operation)
            outcome = "unreachable" if exc.kind in ("unreachable", "timeout", "auth") else "error"
        except Exception as exc:  # a database or Redis fault, a busy apply lock: this camera only
            log.error("camera review failed", error=redact(f"{type(exc).__name__}: {exc}"))
            outcome = "error"
        metrics.REVIEW_OUTCOMES.labels(outcome).inc()
        return outcome

    async def inspect(self, camera_id: str) -> Inspection:
        """Inspect one camera and store its capabilities (an ``inspect`` request)."""
        target = await self.targets.get(camera_id)
        async with self.connect(target) as link:
            return await self._inspect(link, target)

    async def _inspect(self, link: CameraLink, target: CameraTarget) -> Inspection:
        try:
            inspection = await link.inspect()
        except CameraError:
            metrics.INSPECTIONS.labels("failed").inc()
            raise
        metrics.INSPECTIONS.labels("ok").inc()
        await self.targets.save_capabilities(target.camera_id, inspection.capabilities)
        return inspection

    async def _review(self, link: CameraLink, target: CameraTarget, reason: str, log: Any) -> str:
        inspection = await self._inspect(link, target)
        health = await self._health(target, inspection, log)
        context = self._context(target, inspection, health, reason,
                                await self.bandwidth_share(target))  # fmt: skip
        rec = await self.engine.recommend(context)
        metrics.RECOMMENDATIONS.labels(rec.provider).inc()
        if rec.settings.is_empty():
            log.info("nothing to change", provider=rec.provider)
            return "no_change"
        optimization_id = await store_recommendation(self.pool, context, rec)
        log.info("recommended", optimization_id=optimization_id, provider=rec.provider,
                 confidence=rec.confidence)  # fmt: skip
        if not self.auto_apply(target, rec):
            return "recommended"
        status = await self.apply_step(link, target, optimization_id, rec.settings,
                                       "optimizer:auto")  # fmt: skip
        return "applied" if status == "success" else "error"

    async def _health(
        self, target: CameraTarget, inspection: Inspection, log: Any
    ) -> SnapshotHealth | None:
        uri = inspection.capabilities.snapshot_uri
        if uri is None:
            return None
        try:
            return await self.check_snapshot(target, uri)
        except Exception as exc:  # a failed snapshot must not stop the review
            log.warning("snapshot check failed", error=str(exc))
            return None

    @staticmethod
    def _context(
        target: CameraTarget, inspection: Inspection, health: SnapshotHealth | None,
        reason: str, bandwidth_kbps: int | None,
    ) -> RecommendationContext:  # fmt: skip
        config, tags = target.config, target.config.tags
        width = _number(tags.get("scene_width_m"))
        return RecommendationContext(
            camera_id=config.id, capabilities=inspection.capabilities,
            current=inspection.current, site=config.site, scene_type=config.scene_type,
            purpose=config.purpose, lighting=cast(Any, _choice(tags.get("lighting"))),
            speed_kmh=_number(tags.get("speed_kmh")),
            mains_hz=60 if _number(tags.get("mains_hz")) == 60 else 50,
            motion=cast(Any, _choice(tags.get("motion"))), health=health,
            bandwidth_kbps=bandwidth_kbps, reason=reason,
            extra={"scene_width_m": width} if width is not None else {},
        )  # fmt: skip

    async def apply(self, optimization_id: int, requested_by: str) -> str:
        """Apply stored recommendation ``optimization_id`` now; the applied_configs status
        (raises :class:`NotApplicableError` when it cannot be applied)."""
        stored = await load_optimization(self.pool, optimization_id)
        if stored is None:
            raise NotApplicableError(f"no recommendation {optimization_id}")
        if stored.status not in ("proposed", "approved"):
            raise NotApplicableError(f"recommendation {optimization_id} is {stored.status}")
        target = await self.targets.get(stored.camera_id)
        decision = decide(target.policy(), confidence=stored.confidence, now=utc_now(),
                          approved=True, ignore_window=True)  # fmt: skip
        if decision.action != "apply":
            raise NotApplicableError(f"camera {stored.camera_id}: {decision.detail}")
        async with self.connect(target) as link:
            return await self.apply_step(link, target, optimization_id, stored.settings,
                                         requested_by)  # fmt: skip

    async def verify(self, optimization_id: int, requested_by: str) -> bool:
        """Whether the camera still has recommendation ``optimization_id``'s settings; the
        comparison is recorded in ``audit_log`` (``optimization.verify``)."""
        stored = await load_optimization(self.pool, optimization_id)
        if stored is None:
            _log.warning("verify of an unknown recommendation", optimization_id=optimization_id)
            return False
        target = await self.targets.get(stored.camera_id)
        async with self.connect(target) as link:
            actual = await link.read_settings(_profile_token(stored.settings))
        checks = [check for section in SETTINGS_SECTIONS
                  for check in compare_section(stored.settings, actual, section)]  # fmt: skip
        held = all(check.ok for check in checks)
        details = {"fields": {c.field: c.to_json() for c in checks}, "held": held}
        await write_audit(self.pool, actor=requested_by, action="optimization.verify",
                          entity_type="optimization", entity_id=str(optimization_id),
                          details=details, action_status="success" if held else "failure",
                          service="optimizer")  # fmt: skip
        return held


def _profile_token(settings: CameraSettings) -> str | None:
    return settings.stream.profile_token if settings.stream is not None else None


def _number(value: object) -> float | None:
    """A tag's number: tags set with ``vigil cameras set --tag k=v`` are text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _choice(value: object) -> str | None:
    return value if isinstance(value, str) else None
