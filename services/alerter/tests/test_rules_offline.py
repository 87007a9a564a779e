"""Camera offline for more than N minutes is a route, not a rule: the ingest's
``camera_offline`` candidates routed with ``group_by: [camera_id]`` and ``group_wait: N``.

The ingest raises ``camera_offline`` (``starts_at`` = when it marked the camera offline:
after ``health_interval_s × liveness_silence_factor`` of silence, 60 s × 3 by default, or at
once on the status topic's ``offline``) and resolves it when the camera is heard again. A
per-camera group's first flush is at ``group_wait`` after the alert started; a camera back
before that leaves only a resolved alert nobody was told about, and nothing is sent
(Alertmanager's semantics, so the same file behaves the same in a real Alertmanager).
Real intake, flusher and outbox on PostgreSQL as ``vigil_alerter``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.flusher import Flusher
from vigil_alerter.engine.intake import Intake
from vigil_runtime.streams import StreamEntry
from vigil_schema.enums import AlertSeverity, CandidateStatus
from vigil_schema.messages import AlertCandidate
from vigil_schema.streams import Envelope

OFFLINE_10M = """
route:
  receiver: ops
  group_by: [alertname]
  routes:
    - matchers: ['alertname="camera_offline"']
      receiver: oncall
      group_by: [camera_id]
      group_wait: 10m
      group_interval: 5m
      repeat_interval: 4h
receivers:
  - name: ops
    log_configs: [{}]
  - name: oncall
    log_configs: [{}]
"""

Source = Callable[[str], Any]


def offline(
    clock: ManualClock, camera: str, *, back: bool = False, since: Any = None
) -> StreamEntry:
    """The ingest's candidate (as liveness.py writes it), as a ``vigil:alerts`` entry."""
    candidate = AlertCandidate(
        source="ingest", alertname="camera_offline", severity=AlertSeverity.WARNING,
        status=CandidateStatus.RESOLVED if back else CandidateStatus.FIRING, camera_id=camera,
        annotations={"summary": f"camera {camera} is offline"},
        starts_at=since or clock(), ends_at=clock() if back else None,
    )  # fmt: skip
    fields = Envelope.wrap(candidate).to_fields()
    encoded = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}
    return StreamEntry(b"1-0", encoded, 1)


async def notified(pool: Any) -> list[tuple[str, str, list[str]]]:
    rows = await pool.fetch("SELECT receiver, kind, payload FROM notifications ORDER BY id")
    return [(r["receiver"], r["kind"], [a["labels"]["camera_id"] for a in r["payload"]["alerts"]])
            for r in rows]  # fmt: skip


async def test_offline_past_group_wait_notifies_back_before_it_does_not(
    alerter_pool: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(OFFLINE_10M)
    intake, flusher = Intake(alerter_pool, source, clock), Flusher(alerter_pool, source, clock, "")
    start = clock()
    await intake.handle_entries([offline(clock, "cam-1"), offline(clock, "cam-2")])
    clock.advance(timedelta(minutes=5))
    await intake.handle_entries([offline(clock, "cam-1", back=True, since=start)])
    clock.advance(timedelta(minutes=5) - timedelta(seconds=1))
    assert await flusher.flush_due() == 0
    clock.advance(1)
    assert await flusher.flush_due() == 2
    assert await notified(pg_pool) == [("oncall", "firing", ["cam-2"])]


async def test_a_camera_already_offline_longer_than_group_wait_notifies_at_once(
    alerter_pool: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(OFFLINE_10M)
    intake, flusher = Intake(alerter_pool, source, clock), Flusher(alerter_pool, source, clock, "")
    since = clock() - timedelta(minutes=11)  # e.g. replayed after an alerter outage
    await intake.handle_entries([offline(clock, "cam-3", since=since)])
    assert await flusher.flush_due() == 1
    assert await notified(pg_pool) == [("oncall", "firing", ["cam-3"])]
