"""What an apply tells the operator: ``audit_log`` rows and the failure alert candidate.

Audit rows (``entity_type`` ``camera``, ``entity_id`` the camera, ``actor`` the request's
``applied_by``, ``service`` the optimizer), every ``details`` carrying ``applied_config_id``
and ``optimization_id``:

- ``camera.apply.start`` (``pending``): the sections and the requested settings;
- ``camera.apply.rollback`` (``success``/``failure``): the sections rolled back and whether
  the camera reads back its previous settings, only when a rollback was attempted;
- ``camera.apply.result`` (``success`` or ``failure``, ``warning`` unless it succeeded): the
  final status, the sections written and the (redacted) error.

On ``failed`` or ``partial`` an :class:`AlertCandidate` ``optimizer_apply_failed`` (severity
warning, ``camera_id`` and label ``site``) goes to ``vigil:alerts``, its annotations saying
what happened. Publishing it is best effort: a Redis error is logged, the database rows
already hold the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import asyncpg
import redis.asyncio

from vigil_runtime.audit import write_audit
from vigil_runtime.logging import get_logger
from vigil_runtime.redis_client import REDIS_ERRORS
from vigil_runtime.stream_producer import StreamProducer
from vigil_schema.enums import AlertSeverity, ApplyStatus, AuditStatus, LogSeverity
from vigil_schema.messages import AlertCandidate
from vigil_schema.streams import ALERTS, Envelope

__all__ = ["ALERTNAME", "ENTITY_TYPE", "AuditContext", "alert_candidate", "publish_alert"]

ALERTNAME: Final = "optimizer_apply_failed"
ENTITY_TYPE: Final = "camera"
SOURCE: Final = "optimizer"

_log = get_logger(__name__)


class AuditContext:
    """Writes the apply's audit rows with the fields they share."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        *,
        camera_id: str,
        actor: str,
        service: str,
        applied_config_id: int,
        optimization_id: int | None,
    ) -> None:
        self._conn = conn
        self._camera_id = camera_id
        self._actor = actor
        self._service = service
        self._ids = {"applied_config_id": applied_config_id, "optimization_id": optimization_id}

    async def write(
        self,
        action: str,
        details: Mapping[str, Any],
        *,
        status: AuditStatus = AuditStatus.SUCCESS,
        severity: LogSeverity = LogSeverity.INFO,
    ) -> None:
        """One ``camera.apply.<action>`` row."""
        await write_audit(
            self._conn,
            actor=self._actor,
            action=f"camera.apply.{action}",
            entity_type=ENTITY_TYPE,
            entity_id=self._camera_id,
            details={**self._ids, **details},
            action_status=status.value,
            severity=severity.value,
            service=self._service,
        )


def alert_candidate(
    *,
    camera_id: str,
    site: str | None,
    status: ApplyStatus,
    applied_config_id: int,
    error: str | None,
    rolled_back: bool | None,
) -> AlertCandidate:
    """The ``optimizer_apply_failed`` candidate of a failed or partial apply."""
    if rolled_back is None:
        outcome = "nothing was changed on the camera"
    elif rolled_back:
        outcome = "the sections written were rolled back and read back as before"
    else:
        outcome = "the rollback did not restore every setting: check the camera"
    return AlertCandidate(
        source=SOURCE,
        alertname=ALERTNAME,
        severity=AlertSeverity.WARNING,
        camera_id=camera_id,
        labels={"site": site} if site else {},
        annotations={
            "summary": f"Applying settings to camera {camera_id} ended {status.value}",
            "description": f"{error or 'unknown error'}; {outcome}",
            "applied_config_id": str(applied_config_id),
            "status": status.value,
        },
    )


async def publish_alert(client: redis.asyncio.Redis, candidate: AlertCandidate) -> bool:
    """Add the candidate to ``vigil:alerts``; ``False`` (logged) when Redis failed."""
    try:
        await StreamProducer(client).publish(ALERTS, Envelope.wrap(candidate))
    except REDIS_ERRORS as exc:
        _log.error("apply_alert_not_published", camera_id=candidate.camera_id, error=str(exc))
        return False
    return True
