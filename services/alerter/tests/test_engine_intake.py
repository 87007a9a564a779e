"""Intake against real PostgreSQL: dedup by fingerprint, source resolves, unknown resolves
ignored, groups and their first flush, cameras in maintenance, and the stream handler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.engine.intake import ConfigSource, Intake
from vigil_runtime.streams import StreamEntry
from vigil_schema.enums import AlertSeverity, CameraStatus, CandidateStatus
from vigil_schema.messages import AlertCandidate, CameraStatusMessage, StreamMessage
from vigil_schema.streams import Envelope

CONFIG = """
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 30s
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      group_by: [camera_id]
      group_wait: 10s
      continue: true
    - receiver: ops
receivers:
  - name: ops
    log_configs: [{}]
  - name: pager
    log_configs: [{}]
"""


def candidate(
    clock: ManualClock,
    *,
    camera: str | None = "cam-1",
    severity: AlertSeverity = AlertSeverity.WARNING,
    resolved: bool = False,
    starts_ago: float = 0,
    **annotations: str,
) -> AlertCandidate:
    return AlertCandidate(
        source="ingest",
        alertname="camera_offline",
        severity=severity,
        status=CandidateStatus.RESOLVED if resolved else CandidateStatus.FIRING,
        camera_id=camera,
        annotations=annotations,
        starts_at=clock() - timedelta(seconds=starts_ago),
    )


def entry(message: StreamMessage, n: int = 1) -> StreamEntry:
    fields = {
        k.encode(): v if isinstance(v, bytes) else v.encode()
        for k, v in Envelope.wrap(message).to_fields().items()
    }
    return StreamEntry(id=f"1-{n}".encode(), fields=fields, deliveries=1)


@pytest.fixture
def intake(
    alerter_pool: Any, config_source: Callable[[str], ConfigSource], clock: ManualClock
) -> Intake:
    return Intake(alerter_pool, config_source(CONFIG), clock)


async def alerts(pool: Any) -> list[Any]:
    return list(await pool.fetch("SELECT * FROM alerts ORDER BY id"))


async def test_a_repeated_candidate_updates_the_active_alert(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    first = candidate(clock, summary="Camera 1 offline", description="no heartbeat")
    await intake.ingest([IncomingAlert.from_candidate(first)])
    clock.advance(10)
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock, summary="still"))])

    [row] = await alerts(alerter_pool)
    assert row["fingerprint"] == first.fingerprint()
    assert row["occurrences"] == 2
    assert row["active"]
    assert row["status"] == "new"
    assert row["first_seen_at"] == clock() - timedelta(seconds=10)
    assert row["last_seen_at"] == clock()
    assert row["title"] == "still"
    assert row["annotations"] == {"summary": "still"}
    assert row["labels"] == {
        "alertname": "camera_offline",
        "camera_id": "cam-1",
        "severity": "warning",
    }
    assert row["camera_id"] is None  # no such camera registered: the label stays
    assert row["source"] == "ingest"
    assert row["rule"] == "camera_offline"


async def test_repeats_of_one_fingerprint_in_one_batch_count_as_in_order(
    intake: Intake, alerter_pool: Any, pg_pool: Any, clock: ManualClock
) -> None:
    batch = [
        IncomingAlert.from_candidate(candidate(clock, camera="cam-1", summary="one")),
        IncomingAlert.from_candidate(candidate(clock, camera="cam-2", summary="other")),
        IncomingAlert.from_candidate(candidate(clock, camera="cam-1", summary="two")),
        IncomingAlert.from_candidate(candidate(clock, camera="cam-1", summary="three")),
    ]
    await intake.ingest(batch)

    rows = await alerts(alerter_pool)
    by_camera = {r["labels"]["camera_id"]: r for r in rows}
    assert len(rows) == 2
    assert (by_camera["cam-1"]["occurrences"], by_camera["cam-1"]["title"]) == (3, "three")
    assert (by_camera["cam-2"]["occurrences"], by_camera["cam-2"]["title"]) == (1, "other")
    created = await pg_pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'alert.created'"
    )
    assert created == 2


async def test_a_resolve_closes_the_alert_and_a_new_firing_is_a_new_row(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock))])
    clock.advance(60)
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock, resolved=True))])
    clock.advance(60)
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock))])

    first, second = await alerts(alerter_pool)
    assert not first["active"]
    assert first["status"] == "resolved"
    assert first["resolved_by"] == "source"
    assert first["ends_at"] == clock() - timedelta(seconds=60)
    assert second["active"]
    assert second["status"] == "new"
    assert second["occurrences"] == 1


async def test_a_resolve_keeps_an_operators_closing_status(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock))])
    await alerter_pool.execute("UPDATE alerts SET status = 'false_positive'")
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock, resolved=True))])

    [row] = await alerts(alerter_pool)
    assert not row["active"]
    assert row["status"] == "false_positive"
    assert row["resolved_by"] is None


async def test_a_resolve_for_no_active_alert_is_ignored(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock, resolved=True))])

    assert await alerts(alerter_pool) == []
    assert await alerter_pool.fetchval("SELECT count(*) FROM alert_groups") == 0


async def test_groups_follow_the_routing_tree(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    crit = candidate(clock, severity=AlertSeverity.CRITICAL)
    await intake.ingest([IncomingAlert.from_candidate(crit)])

    rows = await alerter_pool.fetch(
        "SELECT g.*, m.alert_id FROM alert_groups g JOIN alert_group_members m USING (group_key)"
        " ORDER BY g.receiver"
    )
    assert [(r["receiver"], r["group_labels"]) for r in rows] == [
        ("ops", {"alertname": "camera_offline"}),
        ("pager", {"camera_id": "cam-1"}),
    ]
    assert [r["next_flush_at"] - clock() for r in rows] == [
        timedelta(seconds=30),
        timedelta(seconds=10),
    ]
    assert rows[0]["group_key"].endswith(':{alertname="camera_offline"}')
    assert rows[0]["created_at"] == clock()
    assert rows[0]["flushed_at"] is None


async def test_an_alert_that_started_long_ago_brings_the_first_flush_forward(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock, camera="cam-1"))])
    clock.advance(5)
    await intake.ingest(
        [IncomingAlert.from_candidate(candidate(clock, camera="cam-2", starts_ago=120))]
    )

    due = await alerter_pool.fetchval("SELECT next_flush_at FROM alert_groups")
    assert due == clock()


async def test_cameras_in_maintenance_are_ignored(
    intake: Intake, pg_pool: Any, alerter_pool: Any, clock: ManualClock
) -> None:
    await pg_pool.execute(
        "INSERT INTO cameras (id, name, desired_state) VALUES"
        " ('cam-1', 'one', 'maintenance'), ('cam-2', 'two', 'active')"
    )
    await intake.ingest([
        IncomingAlert.from_candidate(candidate(clock, camera="cam-1")),
        IncomingAlert.from_candidate(candidate(clock, camera="cam-2")),
    ])  # fmt: skip

    [row] = await alerts(alerter_pool)
    assert row["camera_id"] == "cam-2"


async def test_creation_and_resolve_are_audited(
    intake: Intake, pg_pool: Any, clock: ManualClock
) -> None:
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock))])
    await intake.ingest([IncomingAlert.from_candidate(candidate(clock, resolved=True))])

    rows = await pg_pool.fetch("SELECT action, entity_type, ts FROM audit_log ORDER BY id")
    assert [(r["action"], r["entity_type"], r["ts"]) for r in rows] == [
        ("alert.created", "alert", clock()),
        ("alert.resolved", "alert", clock()),
    ]


async def test_stream_entries_are_ingested(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    await intake.handle_entries(
        [entry(candidate(clock), 1), entry(candidate(clock, camera="cam-2"), 2)]
    )

    assert len(await alerts(alerter_pool)) == 2


async def test_a_bad_entry_raises_so_the_consumer_dead_letters_it(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    bad = StreamEntry(id=b"1-1", fields={b"data": b"{"}, deliveries=1)
    status = CameraStatusMessage(camera_id="cam-1", status=CameraStatus.OFFLINE, ts=clock())

    with pytest.raises(ValueError):
        await intake.handle_entries([entry(candidate(clock), 2), bad])
    with pytest.raises(ValueError, match="not an alert candidate"):
        await intake.handle_entries([entry(status, 3)])
    assert await alerts(alerter_pool) == []


async def test_concurrent_batches_in_opposite_orders_both_land(
    intake: Intake, alerter_pool: Any, clock: ManualClock
) -> None:
    batch = [
        IncomingAlert.from_candidate(candidate(clock, camera=f"cam-{n}", starts_ago=n))
        for n in range(20)
    ]

    await asyncio.gather(intake.ingest(batch), intake.ingest(batch[::-1]))

    rows = await alerts(alerter_pool)
    assert len(rows) == 20
    assert {r["occurrences"] for r in rows} == {2}
    members = await alerter_pool.fetchval("SELECT count(*) FROM alert_group_members")
    assert members == 20
