"""Escalation against real PostgreSQL as ``vigil_alerter``: alerts enter through the real
intake (rows, groups, members), the routing tree is the real one, notifications go through
the real outbox.

An alert still ``new`` past a step's ``after`` gets one escalation notification to that
step's receiver (each step once, missed steps caught up), its escalation fields set and an
audit row; an acknowledged, resolved, or unrouted alert never escalates; a row another
replica holds is skipped, not waited for, and concurrent replicas escalate once; a silenced
or inhibited alert, or one whose route is muted, waits until that ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.escalation import escalate_due
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.engine.intake import Intake
from vigil_schema.enums import AlertSeverity
from vigil_schema.messages import label_fingerprint

CONFIG = """
global:
  external_url: http://vigil.example:9093
route:
  receiver: ops
  group_by: [alertname]
  routes:
    - matchers: ['severity="critical"']
      receiver: oncall
      group_by: [camera_id]
      escalations:
        - {after: 10m, receiver: manager}
        - {after: 30m, receiver: director}
receivers:
  - name: ops
    log_configs: [{}]
  - name: oncall
    log_configs: [{}]
  - name: manager
    webhook_configs: [{url: "http://127.0.0.1:9/manager"}]
  - name: director
    webhook_configs: [{url: "http://127.0.0.1:9/director"}]
    log_configs: [{}]
"""

Source = Callable[[str], Any]


def alert(clock: ManualClock, camera: str, severity: AlertSeverity) -> IncomingAlert:
    labels = {"alertname": "intruder", "camera_id": camera, "severity": str(severity)}
    return IncomingAlert(
        labels=labels, annotations={"summary": f"intruder on {camera}"}, starts_at=clock(),
        ends_at=None, generator_url=None, source="rule", severity=severity,
        fingerprint=label_fingerprint({k: v for k, v in labels.items() if k != "severity"}),
        camera_id=camera, title="intruder", description="",
    )  # fmt: skip


async def raise_alerts(pool: Any, source: Any, clock: ManualClock, *alerts: IncomingAlert) -> None:
    await Intake(pool, source, clock).ingest(alerts)


async def row(pool: Any, camera: str) -> Any:
    return await pool.fetchrow(
        "SELECT id, escalated, escalated_at, escalation_level FROM alerts "
        "WHERE labels->>'camera_id' = $1", camera,
    )  # fmt: skip


async def escalations(pool: Any) -> list[Any]:
    rows: list[Any] = await pool.fetch(
        "SELECT receiver, channel, kind, alert_id, alert_ids, group_key, payload, status, "
        "next_attempt_at, deadline_at FROM notifications WHERE kind = 'escalation' "
        "ORDER BY id"
    )
    return rows


def counted(receiver: str) -> float:
    value = REGISTRY.get_sample_value("vigil_alerter_escalations_total", {"receiver": receiver})
    return value or 0.0


async def test_each_step_notifies_its_receiver_once_when_due(
    alerter_pool: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(CONFIG)
    start = clock()
    await raise_alerts(alerter_pool, source, clock, alert(clock, "lot-1", AlertSeverity.CRITICAL))
    before = counted("manager")
    clock.advance(timedelta(minutes=10) - timedelta(seconds=1))
    assert await escalate_due(alerter_pool, source, clock) == 0
    clock.advance(1)
    assert await escalate_due(alerter_pool, source, clock) == 1
    assert await escalate_due(alerter_pool, source, clock) == 0
    assert counted("manager") == before + 1
    first = await row(pg_pool, "lot-1")
    assert (first["escalated"], first["escalated_at"], first["escalation_level"]) == (
        True, start + timedelta(minutes=10), 1)  # fmt: skip
    [sent] = await escalations(pg_pool)
    assert (sent["receiver"], sent["channel"], sent["status"]) == (
        "manager",
        "webhook:0",
        "pending",
    )
    assert sent["alert_id"] == first["id"]
    assert sent["alert_ids"] == [first["id"]]
    assert sent["group_key"].endswith('{camera_id="lot-1"}')
    assert sent["next_attempt_at"] == clock()
    assert sent["deadline_at"] == clock() + timedelta(hours=1)
    body = sent["payload"]
    assert body["version"] == "4"
    assert body["receiver"] == "manager"
    assert body["status"] == "firing"
    assert body["externalURL"] == "http://vigil.example:9093"
    assert body["vigil"]["kind"] == "escalation"
    assert body["vigil"]["alertIds"] == [first["id"]]
    assert body["vigil"]["escalationLevel"] == 1
    assert body["alerts"][0]["labels"]["camera_id"] == "lot-1"
    assert body["alerts"][0]["vigil"]["status"] == "new"
    audit = await pg_pool.fetch(
        "SELECT actor, details FROM audit_log WHERE action = 'alert.escalated' "
        "AND entity_type = 'alert' AND entity_id = $1", str(first["id"]),
    )  # fmt: skip
    assert [a["actor"] for a in audit] == ["alerter"]

    clock.advance(timedelta(minutes=20))
    assert await escalate_due(alerter_pool, source, clock) == 2  # director: webhook and log
    assert [(n["receiver"], n["channel"]) for n in await escalations(pg_pool)] == [
        ("manager", "webhook:0"), ("director", "webhook:0"), ("director", "log:0")]  # fmt: skip
    assert (await row(pg_pool, "lot-1"))["escalation_level"] == 2
    clock.advance(timedelta(hours=5))
    assert await escalate_due(alerter_pool, source, clock) == 0


async def test_steps_missed_while_no_alerter_ran_are_all_sent_once(
    alerter_pool: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(CONFIG)
    await raise_alerts(alerter_pool, source, clock, alert(clock, "lot-1", AlertSeverity.CRITICAL))
    clock.advance(timedelta(minutes=45))
    assert await escalate_due(alerter_pool, source, clock) == 3
    assert sorted({n["receiver"] for n in await escalations(pg_pool)}) == ["director", "manager"]
    assert (await row(pg_pool, "lot-1"))["escalation_level"] == 2
    assert await escalate_due(alerter_pool, source, clock) == 0


async def test_acknowledged_resolved_and_unrouted_alerts_never_escalate(
    alerter_pool: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(CONFIG)
    acked = alert(clock, "lot-1", AlertSeverity.CRITICAL)
    gone = alert(clock, "lot-2", AlertSeverity.CRITICAL)
    unrouted = alert(clock, "lot-3", AlertSeverity.WARNING)  # the root route: no escalations
    await raise_alerts(alerter_pool, source, clock, acked, gone, unrouted)
    await pg_pool.execute(
        "UPDATE alerts SET status = 'acknowledged', acknowledged_by = 'op', acknowledged_at = $1 "
        "WHERE fingerprint = $2", clock(), acked.fingerprint,
    )  # fmt: skip
    clock.advance(60)
    resolved = dataclasses.replace(gone, ends_at=clock(), resolved=True)
    await raise_alerts(alerter_pool, source, clock, resolved)
    clock.advance(timedelta(hours=2))
    assert await escalate_due(alerter_pool, source, clock) == 0
    assert await escalations(pg_pool) == []
    levels = await pg_pool.fetch("SELECT escalated, escalation_level FROM alerts")
    assert {(r["escalated"], r["escalation_level"]) for r in levels} == {(False, 0)}


async def test_an_alert_another_replica_holds_is_skipped_not_waited_for(
    alerter_pool: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(CONFIG)
    await raise_alerts(alerter_pool, source, clock, alert(clock, "lot-1", AlertSeverity.CRITICAL),
                       alert(clock, "lot-2", AlertSeverity.CRITICAL))  # fmt: skip
    clock.advance(timedelta(minutes=11))
    held = await row(pg_pool, "lot-1")
    async with pg_pool.acquire() as other, other.transaction():
        await other.execute("SELECT 1 FROM alerts WHERE id = $1 FOR UPDATE", held["id"])
        escalating = escalate_due(alerter_pool, source, clock)
        assert await asyncio.wait_for(escalating, timeout=60) == 1  # lot-2 only
    assert [n["alert_id"] for n in await escalations(pg_pool)] == [
        (await row(pg_pool, "lot-2"))["id"]]  # fmt: skip
    assert await escalate_due(alerter_pool, source, clock) == 1  # lot-1, once released
    assert await escalate_due(alerter_pool, source, clock) == 0


async def test_concurrent_replicas_escalate_each_alert_once(
    alerter_pool: Any, pg_pool_as: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(CONFIG)
    cameras = [f"lot-{n}" for n in range(20)]
    await raise_alerts(alerter_pool, source, clock,
                       *(alert(clock, c, AlertSeverity.CRITICAL) for c in cameras))  # fmt: skip
    clock.advance(timedelta(minutes=10))
    replicas = [alerter_pool, await pg_pool_as("vigil_alerter"), await pg_pool_as("vigil_alerter")]
    counts = await asyncio.gather(*(escalate_due(p, source, clock, limit=7) for p in replicas * 3))
    assert sum(counts) == len(cameras)
    sent = await escalations(pg_pool)
    assert sorted(n["alert_id"] for n in sent) == sorted({n["alert_id"] for n in sent})
    assert len(sent) == len(cameras)


MUTING = """
route:
  receiver: ops
  group_by: [camera_id]
  routes:
    - matchers: ['alertname="intruder"']
      receiver: oncall
      group_by: [camera_id]
      escalations:
        - {after: 10m, receiver: manager}
    - matchers: ['alertname="tamper"']
      receiver: oncall
      mute_time_intervals: [lunch]
      escalations:
        - {after: 10m, receiver: manager}
receivers:
  - name: ops
    log_configs: [{}]
  - name: oncall
    log_configs: [{}]
  - name: manager
    log_configs: [{}]
inhibit_rules:
  - source_matchers: ['alertname="camera_offline"']
    target_matchers: ['alertname="intruder"']
    equal: [camera_id]
time_intervals:
  - name: lunch
    time_intervals:
      - times: [{start_time: "12:00", end_time: "13:00"}]
"""


def named(clock: ManualClock, name: str, camera: str) -> IncomingAlert:
    labels = {"alertname": name, "camera_id": camera, "severity": "critical"}
    return IncomingAlert(
        labels=labels, annotations={}, starts_at=clock(), ends_at=None, generator_url=None,
        source="rule", severity=AlertSeverity.CRITICAL,
        fingerprint=label_fingerprint({k: v for k, v in labels.items() if k != "severity"}),
        camera_id=camera, title=name, description="",
    )  # fmt: skip


async def escalated(pool: Any) -> list[str]:
    rows = await pool.fetch(
        "SELECT labels->>'camera_id' AS camera, labels->>'alertname' AS name FROM alerts "
        "WHERE escalated"
    )
    return sorted(f"{r['name']}@{r['camera']}" for r in rows)


async def test_silenced_inhibited_and_muted_alerts_wait_until_that_ends(
    alerter_pool: Any, pg_pool: Any, config_source: Source, clock: ManualClock
) -> None:
    source = config_source(MUTING)
    assert clock().hour == 12  # lunch: the tamper route is muted until 13:00
    await raise_alerts(alerter_pool, source, clock,
                       named(clock, "intruder", "lot-1"), named(clock, "intruder", "lot-2"),
                       named(clock, "camera_offline", "lot-2"), named(clock, "tamper", "lot-3"),
                       named(clock, "intruder", "lot-4"))  # fmt: skip
    await pg_pool.execute(
        "INSERT INTO silences (matchers, starts_at, ends_at, created_by) VALUES ($1, $2, $3, 'op')",
        [{"name": "camera_id", "value": "lot-1", "isRegex": False, "isEqual": True}],
        clock(), clock() + timedelta(minutes=30),
    )  # fmt: skip
    clock.advance(timedelta(minutes=10))
    await escalate_due(alerter_pool, source, clock)
    assert await escalated(pg_pool) == ["intruder@lot-4"]

    clock.advance(timedelta(minutes=20))  # 12:30: the silence ended
    await escalate_due(alerter_pool, source, clock)
    assert await escalated(pg_pool) == ["intruder@lot-1", "intruder@lot-4"]

    await raise_alerts(alerter_pool, source, clock, dataclasses.replace(
        named(clock, "camera_offline", "lot-2"), ends_at=clock(), resolved=True))  # fmt: skip
    clock.advance(timedelta(minutes=30))  # 13:00: lunch is over; lot-2 is back
    await escalate_due(alerter_pool, source, clock)
    assert await escalated(pg_pool) == [
        "intruder@lot-1", "intruder@lot-2", "intruder@lot-4", "tamper@lot-3"]  # fmt: skip
