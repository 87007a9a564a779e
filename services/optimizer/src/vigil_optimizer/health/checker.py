"""`SnapshotChecker`: fetch a camera's snapshot, measure it, judge it and keep it.

:meth:`SnapshotChecker.check` is the one call the service makes per camera: it fetches the
JPEG from the snapshot URI (:func:`~vigil_optimizer.health.fetch.fetch_snapshot`, Digest or
Basic auth), decodes and measures it in a worker thread (OpenCV releases the GIL, and a 4K
picture takes tens of milliseconds that the event loop must not wait for), assesses it
against the thresholds (:func:`~vigil_optimizer.health.assess.assess`), saves the file and
rows (:class:`~vigil_optimizer.health.store.SnapshotStore`) and returns the
:class:`~vigil_optimizer.recommendation.SnapshotHealth` with its ``snapshot_id``.

``captured_at`` is the time the request was sent (the checker's clock, UTC) unless given.
Failures raise :class:`~vigil_optimizer.health.fetch.SnapshotError` (a JPEG that OpenCV
cannot decode is ``not_image``); a database or disk failure propagates as it is. Each check
counts once in ``vigil_optimizer_snapshots_total{outcome}``, and each anomaly in
``vigil_optimizer_snapshot_anomalies_total{type}`` (:mod:`~vigil_optimizer.health.counters`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx

from vigil_optimizer.health.assess import Assessment, HealthThresholds, assess
from vigil_optimizer.health.counters import SNAPSHOT_ANOMALIES, SNAPSHOTS
from vigil_optimizer.health.fetch import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT_S,
    SnapshotError,
    fetch_snapshot,
    safe_uri,
)
from vigil_optimizer.health.metrics import decode_image, measure
from vigil_optimizer.health.store import SnapshotStore
from vigil_optimizer.recommendation import SnapshotHealth
from vigil_schema.camera import CameraCredentials
from vigil_schema.clock import utc_now
from vigil_schema.ids import validate_camera_id

__all__ = ["SnapshotChecker", "measure_jpeg"]


def measure_jpeg(jpeg: bytes, thresholds: HealthThresholds | None = None) -> Assessment:
    """Decode, measure and assess one JPEG (blocking; ValueError if it does not decode)."""
    return assess(measure(decode_image(jpeg)), thresholds)


class SnapshotChecker:
    """Checks cameras' snapshots into one store (see the module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        root: Path,
        *,
        thresholds: HealthThresholds | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        client: httpx.AsyncClient | None = None,
        verify_tls: bool = True,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = SnapshotStore(pool, root)
        self._thresholds = thresholds or HealthThresholds()
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._client = client
        self._verify_tls = verify_tls
        self._clock = clock

    @property
    def store(self) -> SnapshotStore:
        """Where the checked snapshots are kept."""
        return self._store

    async def check(
        self,
        camera_id: str,
        snapshot_uri: str,
        credentials: CameraCredentials | None = None,
        *,
        captured_at: datetime | None = None,
    ) -> SnapshotHealth:
        """Fetch, measure, assess and store one snapshot; its health with ``snapshot_id``.

        ValueError (before any request) for an invalid camera id.
        """
        validate_camera_id(camera_id)
        at = captured_at or self._clock()
        try:
            jpeg = await fetch_snapshot(
                snapshot_uri, credentials, timeout_s=self._timeout_s, max_bytes=self._max_bytes,
                client=self._client, verify_tls=self._verify_tls,
            )  # fmt: skip
            assessment = await asyncio.to_thread(measure_jpeg, jpeg, self._thresholds)
        except SnapshotError as exc:
            SNAPSHOTS.labels(outcome=exc.kind).inc()
            raise
        except ValueError as exc:
            SNAPSHOTS.labels(outcome="not_image").inc()
            raise SnapshotError(
                "not_image", f"{safe_uri(snapshot_uri)} sent a JPEG that does not decode"
            ) from exc
        try:
            stored = await self._store.save(camera_id, at, jpeg, assessment)
        except Exception:
            SNAPSHOTS.labels(outcome="store_error").inc()
            raise
        health = assessment.health
        SNAPSHOTS.labels(outcome=health.level).inc()
        for anomaly in health.anomalies:
            SNAPSHOT_ANOMALIES.labels(type=str(anomaly["type"])).inc()
        return replace(health, snapshot_id=stored.snapshot_id)
