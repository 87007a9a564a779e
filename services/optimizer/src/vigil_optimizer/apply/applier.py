"""Apply settings to a camera safely: :class:`Applier`.

One ``applied_configs`` row per apply, moving ``pending`` → ``in_progress`` → ``success`` |
``failed`` | ``partial``:

- ``pending``: the row is inserted (settings, optimization, ``apply_method`` ``onvif``,
  ``applied_by``) before the camera is touched;
- ``in_progress``: the camera's current settings were read (``previous_settings``); writes
  follow (see :mod:`vigil_optimizer.apply.attempt`);
- ``success``: every requested section was written and every requested field reads back as
  asked (``verification``); the optimization, if any, becomes ``applied``;
- ``partial``: something was written (or a refused write changed the camera) before an error
  or a read-back mismatch, and was rolled back. ``verification.rollback.restored`` says
  whether the camera reads back its previous settings; when it does not, the camera is in a
  mixed state and ``error_message`` says so;
- ``failed``: nothing was changed on the camera (its current settings could not be read, or
  the first write was refused without effect).

``rolled_back`` (also allowed by the table's CHECK) is not an outcome of an apply: it is kept
for a *successful* apply later reverted to its ``previous_settings`` on purpose (an operator's
undo), so that ``partial`` alone means "this apply failed midway and was undone".

``applied_at`` is the time of the first successful write (NULL when nothing was written);
``verified_at`` that of the last read back (the verification, or the rollback's).
``error_message`` and everything else stored are passed through a
:class:`~vigil_optimizer.apply.redact.Redactor`: no password reaches a row, a log or an alert.

One apply per camera at a time across replicas (:mod:`vigil_optimizer.apply.lock`): a second
one raises :class:`CameraBusyError` before any row is written. Audit rows and the failure
alert: :mod:`vigil_optimizer.apply.report`. Metrics: :mod:`vigil_optimizer.apply.metrics`.

Cancelling an apply midway (shutdown) leaves its row ``in_progress``: it was interrupted, and
the camera may hold part of the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import redis.asyncio

from vigil_optimizer.apply import records
from vigil_optimizer.apply.attempt import Attempt, Hooks, requested_sections, run_attempt
from vigil_optimizer.apply.lock import camera_apply_lock
from vigil_optimizer.apply.metrics import APPLIES, ROLLBACKS
from vigil_optimizer.apply.redact import Redactor
from vigil_optimizer.apply.report import AuditContext, alert_candidate, publish_alert
from vigil_optimizer.camera_link import CameraLink
from vigil_runtime.logging import get_logger
from vigil_schema.camera_settings import CameraSettings
from vigil_schema.clock import utc_now
from vigil_schema.enums import ApplyStatus, AuditStatus, LogSeverity

__all__ = ["Applier", "ApplyRequest", "ApplyResult", "NothingToApplyError"]

_log = get_logger(__name__)


class NothingToApplyError(ValueError):
    """The settings set no field at all."""


@dataclass(frozen=True)
class ApplyRequest:
    """What to apply to which camera, on whose behalf (``applied_by``: an operator's name or
    ``optimizer:auto``), for which recommendation (``optimizations.id``, if any)."""

    camera_id: str
    settings: CameraSettings
    applied_by: str
    optimization_id: int | None = None


@dataclass(frozen=True)
class ApplyResult:
    """The recorded outcome (the ``applied_configs`` row's id, status, error, verification)."""

    applied_config_id: int
    status: ApplyStatus
    error_message: str | None
    verification: dict[str, Any]
    rolled_back: bool | None
    """``None``: no rollback was needed; else whether it restored the previous settings."""


def _status(attempt: Attempt) -> ApplyStatus:
    if attempt.error is None:
        return ApplyStatus.SUCCESS
    return ApplyStatus.FAILED if attempt.rollback is None else ApplyStatus.PARTIAL


def _error_message(attempt: Attempt) -> str | None:
    if attempt.error is None or attempt.rollback is None:
        return attempt.error
    rollback = attempt.rollback
    if rollback.restored:
        return f"{attempt.error}; rolled back {', '.join(rollback.sections)}"
    problems = rollback.errors + [f"{name} has no previous value" for name in rollback.unrestorable]
    problems += [f"{s}.{c.field} reads {c.actual!r}" for s, c in rollback.checks if not c.ok]
    return f"{attempt.error}; ROLLBACK INCOMPLETE: {'; '.join(problems)}"


class Applier:
    """Applies settings through a :class:`CameraLink` (see the module docstring).

    ``pool`` is the optimizer's (role ``vigil_optimizer``); ``redis`` carries alert
    candidates; ``service`` names the writer in ``audit_log.service``.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis_client: redis.asyncio.Redis,
        *,
        service: str = "optimizer",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._redis = redis_client
        self._service = service
        self._clock = clock

    async def apply(
        self, link: CameraLink, request: ApplyRequest, *, redact: Redactor | None = None
    ) -> ApplyResult:
        """Apply ``request.settings`` to the camera behind ``link`` and record it all.

        Raises :class:`NothingToApplyError` (no field set), ``records.UnknownCameraError``
        and :class:`~vigil_optimizer.apply.lock.CameraBusyError` before anything is written;
        camera errors never raise: they are the result's ``failed``/``partial``.
        """
        sections = requested_sections(request.settings)
        if not sections:
            raise NothingToApplyError("the settings change nothing")
        redactor = redact or Redactor()
        async with camera_apply_lock(self._pool, request.camera_id) as conn:
            site = await records.camera_site(conn, request.camera_id)
            settings_json = request.settings.to_json()
            row_id = await records.insert_pending(
                conn,
                camera_id=request.camera_id,
                optimization_id=request.optimization_id,
                settings=settings_json,
                applied_by=request.applied_by,
            )
            audit = AuditContext(
                conn, camera_id=request.camera_id, actor=request.applied_by,
                service=self._service, applied_config_id=row_id,
                optimization_id=request.optimization_id,
            )  # fmt: skip
            await audit.write(
                "start", {"sections": sections, "settings": settings_json},
                status=AuditStatus.PENDING,
            )  # fmt: skip

            async def on_previous(previous: CameraSettings) -> None:
                await records.mark_in_progress(conn, row_id, previous.to_json())

            hooks = Hooks(now=self._clock, redact=redactor, on_previous=on_previous)
            attempt = await run_attempt(link, request.settings, hooks)
            result = await self._record(conn, audit, request, row_id, attempt)
        await self._report(request, site, result)
        return result

    async def _record(
        self,
        conn: asyncpg.Connection,
        audit: AuditContext,
        request: ApplyRequest,
        row_id: int,
        attempt: Attempt,
    ) -> ApplyResult:
        status = _status(attempt)
        error = _error_message(attempt)
        verification = attempt.to_json()
        await records.finish(
            conn, row_id, status=status, verification=verification, error_message=error,
            applied_at=attempt.first_write_at, verified_at=attempt.verified_at,
            optimization_id=request.optimization_id,
        )  # fmt: skip
        rollback = attempt.rollback
        if rollback is not None:
            await audit.write(
                "rollback",
                {"sections": rollback.sections, "restored": rollback.restored},
                status=AuditStatus.SUCCESS if rollback.restored else AuditStatus.FAILURE,
                severity=LogSeverity.WARNING if rollback.restored else LogSeverity.ERROR,
            )
            ROLLBACKS.labels(outcome="restored" if rollback.restored else "failed").inc()
        ok = status is ApplyStatus.SUCCESS
        await audit.write(
            "result",
            {"status": status.value, "written": attempt.written, "error": error},
            status=AuditStatus.SUCCESS if ok else AuditStatus.FAILURE,
            severity=LogSeverity.INFO if ok else LogSeverity.WARNING,
        )
        APPLIES.labels(status=status.value).inc()
        return ApplyResult(
            applied_config_id=row_id, status=status, error_message=error,
            verification=verification,
            rolled_back=None if rollback is None else rollback.restored,
        )  # fmt: skip

    async def _report(self, request: ApplyRequest, site: str | None, result: ApplyResult) -> None:
        log = _log.info if result.status is ApplyStatus.SUCCESS else _log.warning
        log(
            "camera_apply_finished", camera_id=request.camera_id,
            applied_config_id=result.applied_config_id, status=result.status.value,
            error=result.error_message,
        )  # fmt: skip
        if result.status is ApplyStatus.SUCCESS:
            return
        candidate = alert_candidate(
            camera_id=request.camera_id, site=site, status=result.status,
            applied_config_id=result.applied_config_id, error=result.error_message,
            rolled_back=result.rolled_back,
        )  # fmt: skip
        await publish_alert(self._redis, candidate)
