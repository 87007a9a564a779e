"""The flusher against real PostgreSQL with a manual clock: Alertmanager's grouping, group_wait,
group_interval, repeat_interval, resolved notifications, silences, inhibition, acknowledgement,
time-interval muting, and one notification per group when two flushers race."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.flusher import Flusher, update_reason
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.engine.intake import ConfigSource, Intake
from vigil_alerter.store import groups
from vigil_alerter.store.groups import GroupRow
from vigil_schema.enums import AlertSeverity, CandidateStatus
from vigil_schema.messages import AlertCandidate

CONFIG = """
route:
  receiver: hook
  group_by: [alertname, camera_id]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:9/hook
    log_configs:
      - send_resolved: true
inhibit_rules:
  - source_matchers: ['alertname="camera_offline"']
    target_matchers: ['alertname!="camera_offline"']
    equal: [camera_id]
"""

MUTED_CONFIG = """
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 30s
  routes:
    - matchers: ['alertname="motion"']
      mute_time_intervals: [tuesdays]
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:9/hook
time_intervals:
  - name: tuesdays
    time_intervals:
      - weekdays: [tuesday]
"""

EXTERNAL = "http://vigil.test:9104"


def alert(
    clock: ManualClock,
    n: int,
    *,
    camera: str = "cam-1",
    alertname: str = "motion",
    resolved: bool = False,
) -> IncomingAlert:
    return IncomingAlert.from_candidate(
        AlertCandidate(
            source="analyzer",
            alertname=alertname,
            severity=AlertSeverity.WARNING,
            status=CandidateStatus.RESOLVED if resolved else CandidateStatus.FIRING,
            camera_id=camera,
            labels={"object": str(n)},
            annotations={"summary": f"object {n}"},
            starts_at=clock(),
        )
    )


class Engine:
    """An intake and a flusher on one configuration, and the outbox as rows."""

    def __init__(self, pool: Any, source: ConfigSource, clock: ManualClock) -> None:
        self.pool, self.clock = pool, clock
        self.intake = Intake(pool, source, clock)
        self.flusher = Flusher(pool, source, clock, EXTERNAL)

    async def notifications(self) -> list[Any]:
        return list(
            await self.pool.fetch(
                "SELECT id, channel, kind, payload, alert_ids, alert_id, group_key,"
                " idempotency_key, status, receiver, deadline_at, next_attempt_at"
                " FROM notifications ORDER BY id"
            )
        )

    async def tick(self, seconds: float) -> list[Any]:
        """Advance the clock, flush, and return the notifications queued by that flush."""
        before = len(await self.notifications())
        self.clock.advance(seconds)
        await self.flusher.flush_due()
        return (await self.notifications())[before:]


@pytest.fixture
def engine(
    alerter_pool: Any, config_source: Callable[[str], ConfigSource], clock: ManualClock
) -> Engine:
    return Engine(alerter_pool, config_source(CONFIG), clock)


async def test_hundred_candidates_within_group_wait_make_one_notification(
    engine: Engine, clock: ManualClock
) -> None:
    for n in range(100):
        await engine.intake.ingest([alert(clock, n)])
        clock.advance(0.25)  # all 100 within the first 25 s
    assert await engine.tick(0) == []  # 25 s: group_wait (30 s) not over

    queued = await engine.tick(5)

    assert sorted(row["channel"] for row in queued) == ["log:0", "webhook:0"]
    for row in queued:
        body = row["payload"]
        assert row["kind"] == "firing"
        assert row["status"] == "pending"
        assert row["receiver"] == "hook"
        assert body["version"] == "4"
        assert body["status"] == "firing"
        assert len(body["alerts"]) == 100
        assert {a["labels"]["object"] for a in body["alerts"]} == {str(n) for n in range(100)}
        assert body["groupLabels"] == {"alertname": "motion", "camera_id": "cam-1"}
        assert body["commonLabels"] == {
            "alertname": "motion",
            "camera_id": "cam-1",
            "severity": "warning",
        }
        assert body["groupKey"] == row["group_key"]
        assert body["externalURL"] == EXTERNAL
        assert sorted(body["vigil"]["alertIds"]) == sorted(row["alert_ids"])
        assert row["alert_id"] == min(row["alert_ids"])
        assert row["next_attempt_at"] == clock()
        assert row["deadline_at"] == clock() + timedelta(hours=1)
    assert queued[0]["idempotency_key"] != queued[1]["idempotency_key"]


async def test_nothing_is_sent_before_group_wait(engine: Engine, clock: ManualClock) -> None:
    await engine.intake.ingest([alert(clock, 1)])

    assert await engine.tick(29) == []
    assert len(await engine.tick(1)) == 2


async def test_repeat_only_after_repeat_interval(engine: Engine, clock: ManualClock) -> None:
    await engine.intake.ingest([alert(clock, 1)])
    assert len(await engine.tick(30)) == 2

    for _ in range(11):  # group_interval ticks at 5 m ... 55 m: nothing changed
        assert await engine.tick(300) == []
    repeated = await engine.tick(300)  # 60 m after the first notification

    assert len(repeated) == 2
    assert [len(r["payload"]["alerts"]) for r in repeated] == [1, 1]
    assert await engine.tick(300) == []


async def test_acknowledged_alerts_are_not_repeated(engine: Engine, clock: ManualClock) -> None:
    await engine.intake.ingest([alert(clock, 1)])
    assert len(await engine.tick(30)) == 2
    await engine.pool.execute("UPDATE alerts SET status = 'acknowledged'")

    for _ in range(13):
        assert await engine.tick(300) == []


async def test_resolved_group_notifies_resolved_then_disappears(
    engine: Engine, clock: ManualClock
) -> None:
    await engine.intake.ingest([alert(clock, 1), alert(clock, 2)])
    assert len(await engine.tick(30)) == 2
    clock.advance(60)
    await engine.intake.ingest([alert(clock, 1, resolved=True)])

    partly = await engine.tick(240)  # a resolved alert is news (send_resolved)
    assert [a["status"] for a in sorted(partly[0]["payload"]["alerts"],
                                         key=lambda a: a["labels"]["object"])] == [
        "resolved", "firing"
    ]  # fmt: skip
    await engine.intake.ingest([alert(clock, 2, resolved=True)])
    resolved = await engine.tick(300)

    assert sorted(r["channel"] for r in resolved) == ["log:0", "webhook:0"]
    assert {r["kind"] for r in resolved} == {"resolved"}
    body = resolved[0]["payload"]
    assert body["status"] == "resolved"
    assert body["vigil"]["kind"] == "resolved"
    assert [a["status"] for a in body["alerts"]] == ["resolved"]
    assert body["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    assert await engine.pool.fetchval("SELECT count(*) FROM alert_groups") == 0
    assert await engine.pool.fetchval("SELECT count(*) FROM alert_group_members") == 0
    assert await engine.tick(300) == []


async def test_new_alert_joins_at_next_group_interval(engine: Engine, clock: ManualClock) -> None:
    await engine.intake.ingest([alert(clock, 1)])
    assert len(await engine.tick(30)) == 2
    clock.advance(30)
    await engine.intake.ingest([alert(clock, 2)])

    assert await engine.tick(60) == []  # 2 m after the flush: not yet
    joined = await engine.tick(210)  # 5 m after the flush

    assert len(joined) == 2
    assert len(joined[0]["payload"]["alerts"]) == 2


async def test_silenced_and_inhibited_alerts_are_left_out(
    engine: Engine, clock: ManualClock
) -> None:
    await engine.pool.execute(
        "INSERT INTO silences (matchers, starts_at, ends_at, created_by, comment)"
        " VALUES ($1, $2, $3, 'test', 'maintenance of object 2')",
        [{"name": "object", "value": "2", "isRegex": False, "isEqual": True}],
        clock(),
        clock() + timedelta(hours=2),
    )
    await engine.intake.ingest([
        alert(clock, 0, alertname="camera_offline"), alert(clock, 1),
        alert(clock, 1, camera="cam-2"), alert(clock, 2, camera="cam-2"),
    ])  # fmt: skip

    queued = await engine.tick(30)

    sent = {
        (r["payload"]["groupLabels"]["alertname"], r["payload"]["groupLabels"]["camera_id"]):
            sorted(a["labels"]["object"] for a in r["payload"]["alerts"])
        for r in queued if r["channel"] == "webhook:0"
    }  # fmt: skip
    assert sent == {("camera_offline", "cam-1"): ["0"], ("motion", "cam-2"): ["1"]}


async def test_operator_closed_alerts_are_left_out(engine: Engine, clock: ManualClock) -> None:
    await engine.intake.ingest([alert(clock, 1), alert(clock, 2)])
    await engine.pool.execute(
        "UPDATE alerts SET status = 'false_positive' WHERE labels->>'object' = '2'"
    )

    queued = await engine.tick(30)

    assert [a["labels"]["object"] for a in queued[0]["payload"]["alerts"]] == ["1"]


async def test_muted_time_interval_sends_nothing(
    alerter_pool: Any, config_source: Callable[[str], ConfigSource], clock: ManualClock
) -> None:
    engine = Engine(alerter_pool, config_source(MUTED_CONFIG), clock)
    await engine.intake.ingest([alert(clock, 1), alert(clock, 2, alertname="door")])

    queued = await engine.tick(30)  # a Tuesday: motion is muted, door is not

    assert [r["payload"]["groupLabels"] for r in queued] == [{"alertname": "door"}]


async def test_two_flushers_notify_a_group_once(
    alerter_pool: Any, config_source: Callable[[str], ConfigSource], clock: ManualClock
) -> None:
    source = config_source(CONFIG)
    engine = Engine(alerter_pool, source, clock)
    other = Flusher(alerter_pool, source, clock, EXTERNAL)
    await engine.intake.ingest([alert(clock, n) for n in range(10)])
    clock.advance(30)

    flushed = await asyncio.gather(engine.flusher.flush_due(), other.flush_due())

    assert sorted(flushed) == [0, 1]
    assert sorted(r["channel"] for r in await engine.notifications()) == ["log:0", "webhook:0"]


async def test_a_locked_group_is_skipped(
    alerter_pool: Any, config_source: Callable[[str], ConfigSource], clock: ManualClock
) -> None:
    engine = Engine(alerter_pool, config_source(CONFIG), clock)
    await engine.intake.ingest([alert(clock, 1)])
    clock.advance(30)

    async with alerter_pool.acquire() as holder, holder.transaction():
        assert await groups.lock_due_group(holder, clock()) is not None
        assert await engine.flusher.flush_due() == 0
    assert await engine.flusher.flush_due() == 1
    assert len(await engine.notifications()) == 2


def logged(firing: set[str], resolved: set[str], *, ago: float | None) -> GroupRow:
    now = ManualClock()()
    return GroupRow(
        group_key="g", route_key="", receiver="r", group_labels={}, created_at=now,
        next_flush_at=now, flushed_at=now,
        notified_at=None if ago is None else now - timedelta(seconds=ago),
        notified_firing=frozenset(firing), notified_resolved=frozenset(resolved),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("log", "firing", "resolved", "send_resolved", "reason"),
    [
        (logged(set(), set(), ago=None), {"a"}, set(), True, "first"),
        (logged(set(), set(), ago=None), set(), {"a"}, True, None),
        (logged({"a"}, set(), ago=60), {"a", "b"}, set(), True, "changed"),
        (logged({"a", "b"}, set(), ago=60), {"a"}, set(), False, None),
        (logged({"a", "b"}, set(), ago=60), {"a"}, {"b"}, True, "resolved"),
        (logged({"a"}, set(), ago=60), set(), {"a"}, False, "all_resolved"),
        (logged(set(), {"a"}, ago=60), set(), {"a"}, True, None),
        (logged({"a"}, set(), ago=3599), {"a"}, set(), True, None),
        (logged({"a"}, set(), ago=3600), {"a"}, set(), True, "repeat"),
    ],
)
def test_update_reason_is_alertmanagers_dedup_stage(
    log: GroupRow, firing: set[str], resolved: set[str], send_resolved: bool, reason: str | None
) -> None:
    now = ManualClock()()
    found = update_reason(
        log, firing, resolved, send_resolved=send_resolved,
        repeat_interval=timedelta(hours=1), now=now,
    )  # fmt: skip
    assert found == reason
