"""The outbox: one pending row per receiver integration, stable idempotency keys, partitions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigil_alerter.config.models import Receiver
from vigil_alerter.store.outbox import channels, idempotency_key, queue_notification
from vigil_schema.enums import NotificationKind

AT = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)  # no partition exists yet for that month

RECEIVER = Receiver.model_validate({
    "name": "team",
    "webhook_configs": [{"url": "http://a.test/"}, {"url": "http://b.test/"}],
    "apprise_configs": [{"urls": ["ntfy://topic"]}],
    "log_configs": [{}],
})  # fmt: skip


async def new_alert(pool: Any) -> int:
    alert_id: int = await pool.fetchval(
        "INSERT INTO alerts (fingerprint, rule, severity, title, first_seen_at, last_seen_at,"
        " created_at) VALUES ('f1', 'r', 'info', 't', $1, $1, $1) RETURNING id",
        AT,
    )
    return alert_id


def test_channels_name_each_integration_by_kind_and_index() -> None:
    assert channels(RECEIVER) == ["webhook:0", "webhook:1", "apprise:0", "log:0"]


def test_the_idempotency_key_is_the_sha256_of_group_receiver_channel_and_time() -> None:
    key = idempotency_key("g", "team", "webhook:0", AT)
    assert key == hashlib.sha256(f"g\x1fteam\x1fwebhook:0\x1f{AT.isoformat()}".encode()).hexdigest()
    assert key != idempotency_key("g", "team", "webhook:1", AT)
    assert key != idempotency_key("g", "team", "webhook:0", AT + timedelta(seconds=1))


async def test_one_pending_row_per_integration(alerter_pool: Any) -> None:
    alert_id = await new_alert(alerter_pool)
    async with alerter_pool.acquire() as conn, conn.transaction():
        ids = await queue_notification(
            conn, group_key="g", receiver=RECEIVER, kind=NotificationKind.FIRING,
            alert_ids=[alert_id], payload={"version": "4"}, now=AT,
            deadline=AT + timedelta(hours=1),
        )  # fmt: skip

    rows = await alerter_pool.fetch("SELECT * FROM notifications ORDER BY id")
    assert [r["id"] for r in rows] == ids
    assert [r["channel"] for r in rows] == ["webhook:0", "webhook:1", "apprise:0", "log:0"]
    for row in rows:
        assert row["status"] == "pending"
        assert row["attempts"] == 0
        assert row["receiver"] == "team"
        assert row["alert_id"] == alert_id
        assert row["alert_ids"] == [alert_id]
        assert row["kind"] == "firing"
        assert row["payload"] == {"version": "4"}
        assert row["created_at"] == AT
        assert row["next_attempt_at"] == AT
        assert row["deadline_at"] == AT + timedelta(hours=1)
        assert row["idempotency_key"] == idempotency_key("g", "team", row["channel"], AT)


async def test_a_receiver_without_integrations_gets_nothing(alerter_pool: Any) -> None:
    alert_id = await new_alert(alerter_pool)
    async with alerter_pool.acquire() as conn:
        ids = await queue_notification(
            conn, group_key="g", receiver=Receiver(name="blackhole"),
            kind=NotificationKind.FIRING, alert_ids=[alert_id], payload={}, now=AT,
            deadline=AT,
        )  # fmt: skip

    assert ids == []


async def test_an_escalation_is_keyed_by_its_alerts(alerter_pool: Any) -> None:
    alert_id = await new_alert(alerter_pool)
    receiver = Receiver.model_validate({"name": "boss", "log_configs": [{}]})
    async with alerter_pool.acquire() as conn:
        await queue_notification(
            conn, group_key=None, receiver=receiver, kind=NotificationKind.ESCALATION,
            alert_ids=[alert_id], payload={}, now=AT, deadline=AT,
        )  # fmt: skip

    row = await alerter_pool.fetchrow("SELECT * FROM notifications")
    assert row["group_key"] is None
    assert row["kind"] == "escalation"
    assert row["idempotency_key"] == idempotency_key(f"alerts:{alert_id}", "boss", "log:0", AT)


async def test_a_notification_needs_an_alert(alerter_pool: Any) -> None:
    async with alerter_pool.acquire() as conn:
        with pytest.raises(ValueError):
            await queue_notification(
                conn, group_key="g", receiver=RECEIVER, kind=NotificationKind.FIRING,
                alert_ids=[], payload={}, now=AT, deadline=AT,
            )  # fmt: skip
