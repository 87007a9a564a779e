"""The dispatcher against real PostgreSQL, Redis and a real webhook server.

Rows are inserted as the flusher writes them; the dispatcher runs as the ``vigil_alerter``
role with a manual clock, so retries, leases, deadlines and rate limits are driven by moving
the clock, never by waiting.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY

from vigil_alerter.clock import ManualClock
from vigil_alerter.delivery import DeliverySettings, Dispatcher
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import DLQ, Envelope

from .delivery_helpers import (
    HMAC_SECRET,
    Outbox,
    WebhookServer,
    at,
    holder_of,
    until,
    v4_payload,
)

pytest_plugins = ["services.alerter.tests.conftest_delivery"]

SETTINGS = DeliverySettings(
    max_attempts=5,
    max_total=timedelta(hours=1),
    backoff_base=timedelta(seconds=1),
    backoff_cap=timedelta(minutes=5),
    lease=timedelta(seconds=60),
    workers_per_receiver=2,
)


def config(server: WebhookServer, **extra: Any) -> dict[str, Any]:
    """Receivers ``ops`` (signed webhook), ``slow`` and ``other`` (plain webhooks), ``logs``."""
    receivers = [
        {"name": "ops", "webhook_configs": [
            {"url": server.endpoint("ops"), "hmac_secret_env": "DELIVERY_TEST_HMAC"}]},
        {"name": "slow", "webhook_configs": [{"url": server.endpoint("slow")}]},
        {"name": "other", "webhook_configs": [{"url": server.endpoint("other")}]},
        {"name": "logs", "log_configs": [{"send_resolved": False}]},
    ]  # fmt: skip
    for receiver in receivers:
        receiver.update(extra.get(str(receiver["name"]), {}))
    return {"route": {"receiver": "ops"}, "receivers": receivers}


def dispatcher(
    pool: Any, redis: Any, clock: ManualClock, server: WebhookServer, **extra: Any
) -> Dispatcher:
    return Dispatcher(pool, holder_of(config(server, **extra)), redis, clock, SETTINGS, "test-1")


def counted(receiver: str, outcome: str) -> float:
    labels = {"receiver": receiver, "outcome": outcome}
    return REGISTRY.get_sample_value("vigil_alerter_notifications_total", labels) or 0.0


async def test_a_due_row_is_posted_signed_and_marked_sent(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    row_id = await outbox.add("ops", "webhook:0", v4_payload("ops", firing=2), key="k-1")
    sent_before = counted("ops", "sent")

    handled = await dispatcher(
        delivery_pool, redis_client, delivery_clock, webhook_server
    ).dispatch_once()

    assert handled == 1
    [received] = webhook_server.got("ops")
    assert webhook_server.problems == []
    assert received.idempotency_key == "k-1"
    assert received.headers["X-Vigil-Signature"].startswith("sha256=")
    assert HMAC_SECRET not in json.dumps(received.headers)
    assert [a["labels"]["camera_id"] for a in received.body["alerts"]] == ["cam-0", "cam-1"]
    row = await outbox.row(row_id)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 1, delivery_clock())
    assert row["lease_owner"] is None
    assert counted("ops", "sent") == sent_before + 1


async def test_a_failing_receiver_is_retried_with_growing_delays_until_it_accepts(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    row_id = await outbox.add("ops", "webhook:0", v4_payload("ops"), key="k-retry")
    webhook_server.fail_next["ops"] = 3
    sender = dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server)
    delays: list[timedelta] = []

    for attempt in range(1, 4):
        await sender.dispatch_once()
        row = await outbox.row(row_id)
        assert (row["status"], row["attempts"]) == ("pending", attempt)
        assert "HTTP 503" in row["last_error"]
        delays.append(row["next_attempt_at"] - delivery_clock())
        assert await sender.dispatch_once() == 0  # not due before its time
        at(delivery_clock, row["next_attempt_at"])
    await sender.dispatch_once()

    assert delays == sorted(delays)
    assert delays[0] < delays[-1]
    assert timedelta(seconds=0.5) <= delays[0] <= timedelta(seconds=1)
    assert timedelta(seconds=2) <= delays[2] <= timedelta(seconds=4)
    assert (await outbox.row(row_id))["status"] == "sent"
    assert webhook_server.attempts["ops"] == 4
    assert [r.idempotency_key for r in webhook_server.got("ops")] == ["k-retry"]


async def test_past_max_attempts_the_row_fails_onto_the_dead_letter_stream(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    row_id = await outbox.add("other", "webhook:0", v4_payload("other"), key="k-dead")
    webhook_server.fail_next["other"] = 100
    sender = dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server)
    failed_before = counted("other", "failed")

    for _ in range(SETTINGS.max_attempts):
        await sender.dispatch_once()
        at(delivery_clock, (await outbox.row(row_id))["next_attempt_at"])
    await sender.dispatch_once()

    row = await outbox.row(row_id)
    assert (row["status"], row["attempts"]) == ("failed", SETTINGS.max_attempts)
    assert "HTTP 503" in row["last_error"]
    assert webhook_server.attempts["other"] == SETTINGS.max_attempts
    assert counted("other", "failed") == failed_before + 1
    [(_, fields)] = await redis_client.xrange(DLQ)
    letter = Envelope.from_fields(fields).unwrap(DeadLetter)
    assert (letter.stream, letter.deliveries) == ("notifications", SETTINGS.max_attempts)
    assert letter.fields["idempotency_key"] == "k-dead"
    assert letter.fields["notification_id"] == str(row_id)
    assert json.loads(letter.fields["payload"])["receiver"] == "other"


async def test_past_the_deadline_the_row_fails_even_with_attempts_left(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    row_id = await outbox.add(
        "other", "webhook:0", v4_payload("other"), max_total=timedelta(seconds=5)
    )
    webhook_server.fail_next["other"] = 100
    sender = dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server)

    await sender.dispatch_once()
    at(delivery_clock, (await outbox.row(row_id))["next_attempt_at"])
    await sender.dispatch_once()
    retry_at = (await outbox.row(row_id))["next_attempt_at"]
    assert retry_at <= (await outbox.row(row_id))["deadline_at"]  # never scheduled past it
    at(delivery_clock, retry_at + timedelta(seconds=5))
    await sender.dispatch_once()

    row = await outbox.row(row_id)
    assert row["status"] == "failed"
    assert row["attempts"] < SETTINGS.max_attempts
    assert len(await redis_client.xrange(DLQ)) == 1


async def test_a_missing_receiver_or_integration_fails_with_a_clear_error(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    gone = await outbox.add("removed", "webhook:0", v4_payload("removed"))
    no_channel = await outbox.add("ops", "webhook:3", v4_payload("ops"))

    await dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server).dispatch_once()

    gone_row, channel_row = await outbox.row(gone), await outbox.row(no_channel)
    assert gone_row["status"] == channel_row["status"] == "failed"
    assert "receiver 'removed' is not in the current configuration" in gone_row["last_error"]
    assert "no integration 'webhook:3'" in channel_row["last_error"]
    assert webhook_server.attempts == {}


async def test_a_resolved_only_group_to_an_integration_without_send_resolved_is_suppressed(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    row_id = await outbox.add("logs", "log:0", v4_payload("logs", firing=0, resolved=2))

    await dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server).dispatch_once()

    assert (await outbox.row(row_id))["status"] == "suppressed"


async def test_a_lease_that_ran_out_unmarked_is_resent_with_the_same_key_and_sent_is_final(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    from vigil_alerter.config.models import WebhookConfig
    from vigil_alerter.delivery import ledger
    from vigil_alerter.receivers.webhook import WebhookIntegration

    row_id = await outbox.add("other", "webhook:0", v4_payload("other"), key="k-crash")
    now = delivery_clock()
    async with delivery_pool.acquire() as conn:  # a replica leases and sends, then crashes
        crashed = await ledger.lease_next(
            conn, receiver="other", owner="crashed", now=now, lease_until=now + SETTINGS.lease
        )
    assert crashed is not None
    assert crashed.payload is not None
    await WebhookIntegration(WebhookConfig(url=webhook_server.endpoint("other"))).send(
        crashed.payload, "k-crash"
    )
    sender = dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server)

    assert await sender.dispatch_once() == 0  # still leased by the crashed replica
    delivery_clock.advance(SETTINGS.lease)
    assert await sender.dispatch_once() == 1
    delivery_clock.advance(timedelta(hours=2))
    assert await sender.dispatch_once() == 0

    assert [r.idempotency_key for r in webhook_server.got("other")] == ["k-crash", "k-crash"]
    row = await outbox.row(row_id)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    async with delivery_pool.acquire() as conn:  # the crashed replica's late mark: no-op
        assert not await ledger.schedule_retry(conn, crashed, at=now, error="late")
        assert not await ledger.mark_sent(conn, crashed, now)
    assert (await outbox.row(row_id))["status"] == "sent"


async def test_a_slow_receiver_does_not_delay_another_receivers_notifications(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    slow_ids = [await outbox.add("slow", "webhook:0", v4_payload("slow")) for _ in range(3)]
    fast_ids = [await outbox.add("other", "webhook:0", v4_payload("other")) for _ in range(4)]
    release = webhook_server.hold["slow"] = asyncio.Event()
    sender = dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server)

    round_ = asyncio.create_task(sender.dispatch_once())
    await until(lambda: len(webhook_server.got("other")) == len(fast_ids))

    assert await outbox.statuses(fast_ids) == ["sent"] * 4
    assert await outbox.statuses(slow_ids) == ["pending"] * 3
    assert webhook_server.attempts["slow"] == SETTINGS.workers_per_receiver
    release.set()
    assert await round_ == 7
    assert await outbox.statuses(slow_ids) == ["sent"] * 3


async def test_a_receiver_down_for_five_minutes_gets_everything_when_it_returns(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    ids = [await outbox.add("other", "webhook:0", v4_payload("other")) for _ in range(5)]
    webhook_server.fail_next["other"] = 10**6
    holder = holder_of(config(webhook_server))
    defaults = DeliverySettings()  # 12 attempts, backoff 1 s doubling to 5 min, 1 h in all
    sender = Dispatcher(delivery_pool, holder, redis_client, delivery_clock, defaults, "test-1")
    back_at = delivery_clock() + timedelta(minutes=5)

    while delivery_clock() < back_at:
        await sender.dispatch_once()
        rows = [await outbox.row(row_id) for row_id in ids]
        assert {row["status"] for row in rows} == {"pending"}
        at(delivery_clock, min(row["next_attempt_at"] for row in rows))
    webhook_server.fail_next["other"] = 0
    at(delivery_clock, max([(await outbox.row(i))["next_attempt_at"] for i in ids]))
    await sender.dispatch_once()

    assert await outbox.statuses(ids) == ["sent"] * 5
    assert len(webhook_server.got("other")) == 5


async def test_over_the_rate_limit_rows_wait_and_are_all_sent_later(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    ids = [await outbox.add("other", "webhook:0", v4_payload("other")) for _ in range(5)]
    limit = {"other": {"rate_limit": {"max": 2, "per": "1m"}}}
    sender = dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server, **limit)

    await sender.dispatch_once()
    assert len(webhook_server.got("other")) == 2
    rows = [await outbox.row(row_id) for row_id in ids]
    waiting = [row for row in rows if row["status"] == "pending"]
    assert len(waiting) == 3
    assert all(row["attempts"] == 0 and row["lease_owner"] is None for row in waiting)
    assert all(row["next_attempt_at"] > delivery_clock() for row in waiting)

    delivery_clock.advance(timedelta(minutes=1, seconds=1))
    await sender.dispatch_once()
    assert len(webhook_server.got("other")) == 4
    delivery_clock.advance(timedelta(minutes=1, seconds=1))
    await sender.dispatch_once()

    assert await outbox.statuses(ids) == ["sent"] * 5
    assert webhook_server.attempts["other"] == 5


async def test_run_delivers_until_stopped(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    row_id = await outbox.add("ops", "webhook:0", v4_payload("ops"))
    sender = dispatcher(delivery_pool, redis_client, delivery_clock, webhook_server)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))

    await until(lambda: bool(webhook_server.got("ops")))
    for _ in range(1000):  # the mark follows the answer
        if (await outbox.row(row_id))["status"] == "sent":
            break
        await asyncio.sleep(0.01)
    stop.set()
    await running

    gauge = REGISTRY.get_sample_value("vigil_alerter_notifications_pending", {"receiver": "ops"})
    await sender.update_pending_gauge()
    assert (
        REGISTRY.get_sample_value("vigil_alerter_notifications_pending", {"receiver": "ops"}) == 0
        or gauge is None
    )


async def test_two_replicas_send_every_row_exactly_once(
    delivery_pool: Any, redis_client: Any, delivery_clock: ManualClock,
    outbox: Outbox, webhook_server: WebhookServer,
) -> None:  # fmt: skip
    ids = [await outbox.add("other", "webhook:0", v4_payload("other")) for _ in range(12)]
    holder = holder_of(config(webhook_server))
    replicas = [
        Dispatcher(delivery_pool, holder, redis_client, delivery_clock, SETTINGS, owner)
        for owner in ("replica-a", "replica-b")
    ]

    handled = await asyncio.gather(*(replica.dispatch_once() for replica in replicas))

    assert sum(handled) == 12
    assert await outbox.statuses(ids) == ["sent"] * 12
    keys = [received.idempotency_key for received in webhook_server.got("other")]
    assert sorted(keys) == sorted(set(keys))
    assert len(keys) == 12


async def test_a_batch_lease_takes_the_oldest_due_rows_once_and_a_batch_mark_only_pending(
    delivery_pool: Any, delivery_clock: ManualClock, outbox: Outbox
) -> None:
    from vigil_alerter.delivery import ledger

    ids = [await outbox.add("other", "webhook:0", v4_payload("other")) for _ in range(5)]
    now = delivery_clock()
    until_ = now + timedelta(seconds=60)

    async def lease(conn: Any, owner: str) -> list[ledger.OutboxRow]:
        return await ledger.lease_batch(
            conn, receiver="other", owner=owner, now=now, lease_until=until_, limit=3
        )

    async with delivery_pool.acquire() as conn:
        first = await lease(conn, "a")
        second = await lease(conn, "b")
        assert [r.id for r in first] == ids[:3]
        assert [r.id for r in second] == ids[3:]  # the leased ones are not taken twice
        assert await lease(conn, "c") == []
        assert all(r.attempts == 1 and r.lease_owner == "a" for r in first)
        assert await ledger.mark_failed(conn, first[0], "gave up")
        assert await ledger.mark_sent_many(conn, first, now) == {ids[1], ids[2]}
        assert await ledger.mark_sent_many(conn, first, now) == set()  # sent stays sent
    assert await outbox.statuses(ids) == ["failed", "sent", "sent", "pending", "pending"]
