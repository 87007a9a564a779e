"""Camera liveness: offline/online transitions from the status topic and from silence.

A camera is **offline** when its status topic says so (the retained Last Will, handed over by
the pipeline through :meth:`LivenessTracker.on_status`) or when nothing was heard from it for
longer than ``health_interval_s × liveness_silence_factor``. It is back **online** when its
status topic says so or when it is heard from again (``last_seen`` newer than the moment it
was marked offline).

Ingest replicas share the MQTT load, so no replica sees all of a camera's messages: silence
is judged from the shared live state ``vigil:camera:{id}:state`` (``last_seen`` is written by
the fan-out of whichever replica stored the message), and one replica sweeps, elected with a
Redis lock (the runtime's :class:`LeaderLock` on ``vigil:ingest:liveness:lock``, renewed every
sweep; a replica that fails to renew stops sweeping).

Each transition is recorded exactly once, whatever the number of sweepers or restarts: one
Lua script (:mod:`vigil_ingest.liveness_state`) checks the camera's current state and, only
if the transition still applies, updates the hash (``status`` and ``offline_since``), the
active-camera set, adds the ``camera_offline`` :class:`AlertCandidate` (firing or resolved)
to ``vigil:alerts``, and parks the ``health_logs`` row in the hash (``liveness_pending_*``).
The row is then inserted and the parked copy cleared; a row left parked by a crash or a
PostgreSQL outage is inserted by the next sweep (idempotently: same camera, time, status and
source is inserted once).

A camera never heard from is not flagged before it has been silent for its limit *after the
tracker started*, so a restart of the whole platform does not raise an alert storm.

The sweeper owns the hash's ``status`` field (the fan-out writes ``last_seen`` and adds
cameras that sent data to ``vigil:cameras:active``): ``offline`` on the offline transition,
``online`` on the way back, on an ``online`` report, and for a camera heard from recently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol

import asyncpg
import redis.asyncio
from prometheus_client import Counter, Gauge

from vigil_ingest.liveness_state import (
    PENDING_OFFLINE_FIELD,
    PENDING_ONLINE_FIELD,
    CameraState,
    LivenessState,
    parse_time,
)
from vigil_ingest.registry import CameraInfo, CameraRegistry
from vigil_runtime.db import is_transient_error
from vigil_runtime.leader import LeaderLock
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.partitions import PartitionHelper, is_missing_partition_error
from vigil_runtime.redis_client import REDIS_CONNECTION_ERRORS
from vigil_runtime.streams import is_transient
from vigil_runtime.tasks import wait_event
from vigil_schema.clock import utc_now
from vigil_schema.enums import (
    AlertSeverity,
    CameraStatus,
    CandidateStatus,
    DesiredState,
    HealthLevel,
)
from vigil_schema.messages import AlertCandidate
from vigil_schema.streams import Envelope

__all__ = [
    "ALERTNAME",
    "LOCK_KEY",
    "LOCK_NAME",
    "LivenessSettings",
    "LivenessTracker",
]

_log = get_logger(__name__)

ALERTNAME: Final = "camera_offline"
SOURCE: Final = "ingest"
"""``health_logs.source`` and ``AlertCandidate.source`` of the rows and candidates written here."""
LOCK_KEY: Final = "vigil:ingest:liveness:lock"
LOCK_NAME: Final = "ingest_liveness"
"""The sweeper lock's label in ``vigil_runtime_leader{lock}``."""

Direction = Literal["offline", "online"]

CAMERAS_OFFLINE = Gauge(
    "vigil_ingest_cameras_offline",
    "Active cameras currently offline (set by the replica that sweeps, 0 on the others)",
)
TRANSITIONS = Counter(
    "vigil_ingest_offline_transitions_total",
    "Camera liveness transitions recorded by this replica",
    ["direction"],
)


class LivenessSettings(Protocol):
    """The settings the tracker reads (``IngestSettings`` provides them)."""

    @property
    def instance(self) -> str: ...
    @property
    def liveness_silence_factor(self) -> float: ...
    @property
    def liveness_sweep_s(self) -> float: ...
    @property
    def liveness_lock_ttl_s(self) -> float: ...


_INSERT_LOG_SQL = """
INSERT INTO health_logs (camera_id, ts, status, level, message, source, details, received_at)
SELECT $1::text, $2::timestamptz, $3::text, $4::text, $5::text, $6::text, $7::jsonb,
       $8::timestamptz
WHERE NOT EXISTS (
    SELECT 1 FROM health_logs
    WHERE camera_id = $1 AND ts = $2 AND status = $3 AND source = $6
)
"""
_LOCK_CAMERA_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('vigil_liveness:' || $1, 0))"


# --------------------------------------------------------------------------- transitions


@dataclass(frozen=True, slots=True)
class _Transition:
    """One offline or online transition of a camera: its health_logs row and alert."""

    camera_id: str
    direction: Direction
    ts: datetime
    """When it happened (the status report's time, or the ingest's observation)."""
    level: HealthLevel
    message: str
    details: Mapping[str, Any]

    def row_json(self, received_at: datetime) -> str:
        """The ``health_logs`` row, as parked in the state hash until inserted."""
        return json.dumps({
            "camera_id": self.camera_id,
            "ts": self.ts.isoformat(),
            "status": self.direction,
            "level": self.level.value,
            "message": self.message,
            "details": dict(self.details),
            "received_at": received_at.isoformat(),
        }, sort_keys=True)  # fmt: skip

    def alert_fields(self, offline_since: datetime, now: datetime) -> list[str]:
        """The ``camera_offline`` candidate's stream fields, flattened for XADD."""
        firing = self.direction == "offline"
        candidate = AlertCandidate(
            source=SOURCE,
            alertname=ALERTNAME,
            severity=AlertSeverity.WARNING,
            status=CandidateStatus.FIRING if firing else CandidateStatus.RESOLVED,
            camera_id=self.camera_id,
            annotations={
                "summary": f"camera {self.camera_id} is offline",
                "description": self.message,
            },
            starts_at=offline_since,
            ends_at=None if firing else max(now, offline_since),
        )
        fields = Envelope.wrap(candidate).to_fields()
        return [str(part) for pair in fields.items() for part in pair]


# --------------------------------------------------------------------------- the tracker


class LivenessTracker:
    """Offline/online detection for the registered cameras (see the module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: redis.asyncio.Redis,
        registry: CameraRegistry,
        settings: LivenessSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._pool = pool
        self._registry = registry
        self._settings = settings
        self._clock = clock
        self._started = clock()
        self._lock = LeaderLock(
            redis, LOCK_KEY, settings.instance, settings.liveness_lock_ttl_s, name=LOCK_NAME
        )
        self._partitions = PartitionHelper(pool)
        self._state = LivenessState(redis)
        self._warn = RateLimitedLogger(_log, interval_s=30.0)

    @property
    def sweeping(self) -> bool:
        """Whether this replica holds the sweeper lock."""
        return self._lock.held

    # -- entry points ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``liveness_sweep_s`` while holding the lock, until ``stop`` is set."""
        try:
            while not stop.is_set():
                await self._sweep_if_elected()
                await wait_event(stop, self._settings.liveness_sweep_s)
        finally:
            if self._lock.held:
                CAMERAS_OFFLINE.set(0)
            with contextlib.suppress(*REDIS_CONNECTION_ERRORS):
                await asyncio.shield(self._lock.release())

    async def on_status(self, camera_id: str, status: CameraStatus | str, ts: datetime) -> None:
        """Apply a status-topic report (``online``/``offline``) at once.

        ``ts`` is the report's time (the camera's, else the receipt time). Reports for
        unknown or inactive cameras, and ``unknown``, change nothing.
        """
        camera = self._registry.get(camera_id)
        if camera is None or camera.desired_state is not DesiredState.ACTIVE:
            return
        if status == CameraStatus.OFFLINE:
            transition = _Transition(
                camera_id, "offline", ts, HealthLevel.CRITICAL,
                "status topic says offline", {"reason": "status_topic"},
            )  # fmt: skip
            await self._mark_offline(transition, expected_last_seen="*")
        elif status == CameraStatus.ONLINE:
            since = await self._state.offline_since(camera_id)
            if not since:
                await self._state.mark_alive(camera_id)
                return
            transition = _Transition(
                camera_id, "online", ts, HealthLevel.OK,
                "status topic says online", {"reason": "status_topic"},
            )  # fmt: skip
            await self._mark_online(transition, since, expected_confirmed="*")

    async def sweep(self) -> None:
        """Check every active registered camera once (the lock holder calls this)."""
        cameras = [c for c in self._registry.cameras.values()
                   if c.desired_state is DesiredState.ACTIVE]  # fmt: skip
        states = await self._state.read([camera.id for camera in cameras])
        now = self._clock()
        offline = 0
        for camera, state in zip(cameras, states, strict=True):
            for field, row in state.pending.items():
                await self._flush_row(camera.id, field, row)
            if await self._check(camera, state, now):
                offline += 1
        CAMERAS_OFFLINE.set(offline)

    # -- sweeping ----------------------------------------------------------------------

    async def _sweep_if_elected(self) -> None:
        was_sweeping = self._lock.held
        try:
            if await self._lock.hold():
                await self.sweep()
        except Exception as exc:
            if not is_transient(exc):
                _log.exception("liveness_sweep_failed")
            self._warn.warning("liveness sweep failed", key="sweep", error=repr(exc))
        if was_sweeping and not self._lock.held:  # the new holder's process reports it now
            CAMERAS_OFFLINE.set(0)

    async def _check(self, camera: CameraInfo, state: CameraState, now: datetime) -> bool:
        """Apply the transition the camera's state calls for; whether it is offline after."""
        if state.offline_since_raw:
            return not await self._back_if_heard(camera, state)
        return await self._offline_if_silent(camera, state, now)

    async def _back_if_heard(self, camera: CameraInfo, state: CameraState) -> bool:
        """Bring an offline camera back if it was heard from since; whether it was."""
        last_seen = state.last_seen
        if last_seen is None or not state.heard_since_offline():
            return False
        transition = _Transition(
            camera.id, "online", last_seen, HealthLevel.OK, "messages received again",
            {"reason": "seen", "last_seen": state.last_seen_raw},
        )  # fmt: skip
        return await self._mark_online(
            transition, state.offline_since_raw, expected_confirmed=state.offline_confirmed_raw
        )

    async def _offline_if_silent(
        self, camera: CameraInfo, state: CameraState, now: datetime
    ) -> bool:
        """Mark a camera offline if silent past its limit (counted from the tracker's start
        at the earliest); whether it is offline now."""
        limit = timedelta(seconds=camera.health_interval_s * self._settings.liveness_silence_factor)
        last_seen = state.last_seen
        silent = now - max(last_seen or self._started, self._started)
        if silent <= limit:
            if last_seen is not None and state.status != CameraStatus.ONLINE:
                await self._state.mark_alive(camera.id)
            return False
        silent_s = int(silent.total_seconds())
        if last_seen is None:
            message = f"no message in the {silent_s} s since the ingest started"
        else:
            message = f"no message for {int((now - last_seen).total_seconds())} s"
        transition = _Transition(
            camera.id, "offline", now, HealthLevel.WARNING, message,
            {"reason": "silence", "silent_s": silent_s, "limit_s": limit.total_seconds(),
             "last_seen": state.last_seen_raw or None},
        )  # fmt: skip
        await self._mark_offline(transition, expected_last_seen=state.last_seen_raw)
        return True

    # -- transitions -------------------------------------------------------------------

    async def _mark_offline(self, transition: _Transition, *, expected_last_seen: str) -> bool:
        """Record the offline transition unless the camera is already offline (or was just
        heard from); whether this call recorded it."""
        now = self._clock()
        row = transition.row_json(now)
        done = await self._state.go_offline(
            transition.camera_id, expected_last_seen=expected_last_seen,
            offline_since=now.isoformat(), row=row, alert=transition.alert_fields(now, now),
        )  # fmt: skip
        return await self._after(transition, done, PENDING_OFFLINE_FIELD, row)

    async def _mark_online(
        self, transition: _Transition, offline_since_raw: str, *, expected_confirmed: str
    ) -> bool:
        """Record the online transition if the camera is still offline since
        ``offline_since_raw`` (and, unless ``*``, not confirmed offline again since
        ``expected_confirmed``); whether this call recorded it."""
        now = self._clock()
        since = parse_time(offline_since_raw) or now
        row = transition.row_json(now)
        done = await self._state.go_online(
            transition.camera_id, expected_offline_since=offline_since_raw,
            expected_confirmed=expected_confirmed, row=row,
            alert=transition.alert_fields(since, now),
        )  # fmt: skip
        return await self._after(transition, done, PENDING_ONLINE_FIELD, row)

    async def _after(self, transition: _Transition, done: bool, field: str, row: str) -> bool:
        if done:
            TRANSITIONS.labels(direction=transition.direction).inc()
            _log.info("camera_" + transition.direction, camera_id=transition.camera_id,
                      message=transition.message)  # fmt: skip
            await self._flush_row(transition.camera_id, field, row)
        return done

    # -- health_logs -------------------------------------------------------------------

    async def _flush_row(self, camera_id: str, field: str, row: str) -> None:
        """Insert a parked ``health_logs`` row, then un-park it. On failure it stays
        parked for the next sweep."""
        try:
            await self._insert_row(json.loads(row))
        except Exception as exc:
            if not is_transient_error(exc):
                _log.exception("liveness_health_log_failed", camera_id=camera_id)
            self._warn.warning("health_logs row not written yet", key="flush",
                               camera_id=camera_id, error=repr(exc))  # fmt: skip
            return
        await self._state.clear_pending(camera_id, field, row)

    async def _insert_row(self, row: Mapping[str, Any]) -> None:
        ts = datetime.fromisoformat(row["ts"])
        args = (row["camera_id"], ts, row["status"], row["level"], row["message"], SOURCE,
                row["details"], datetime.fromisoformat(row["received_at"]))  # fmt: skip
        for attempt in (1, 2):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await conn.execute(_LOCK_CAMERA_SQL, row["camera_id"])
                    await conn.execute(_INSERT_LOG_SQL, *args)
                return
            except asyncpg.PostgresError as exc:
                if attempt == 2 or not is_missing_partition_error(exc):
                    raise
                await self._partitions.ensure("health_logs", ts)
