"""A failed notification as a ``vigil:dlq`` entry (:class:`vigil_schema.messages.DeadLetter`).

The letter names the outbox (``stream="notifications"``, ``group="alerter"``, the dispatcher
as ``consumer``); ``entry_id`` is ``"<created_at unix ms>-<row id>"`` (a stream-id shaped
reference to the row's primary key); ``fields`` hold the row (receiver, channel, kind, group
key, alert ids, idempotency key and the JSON payload) so it can be inspected and re-queued.
Published through :class:`vigil_runtime.streams.StreamProducer`, idempotent per row.
"""

from __future__ import annotations

import json

from vigil_alerter.delivery.ledger import OutboxRow
from vigil_runtime.streams import StreamProducer
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import DLQ, Envelope

__all__ = ["OUTBOX", "dead_letter", "publish_dead_letter"]

OUTBOX = "notifications"
GROUP = "alerter"


def dead_letter(row: OutboxRow, error: str, consumer: str) -> DeadLetter:
    """The letter of ``row``, failed with ``error``."""
    created_ms = int(row.created_at.timestamp() * 1000)
    fields = {
        "notification_id": str(row.id),
        "created_at": row.created_at.isoformat(),
        "receiver": row.receiver,
        "channel": row.channel,
        "kind": row.kind,
        "group_key": row.group_key or "",
        "alert_ids": ",".join(str(alert_id) for alert_id in row.alert_ids),
        "idempotency_key": row.idempotency_key or "",
        "payload": json.dumps(row.payload, separators=(",", ":"), default=str),
    }
    return DeadLetter(
        stream=OUTBOX,
        group=GROUP,
        consumer=consumer,
        entry_id=f"{created_ms}-{row.id}",
        deliveries=row.attempts,
        error=error.replace("\x00", "\\0")[:8192],
        fields={name: value.replace("\x00", "\\0") for name, value in fields.items()},
    )


async def publish_dead_letter(
    producer: StreamProducer, row: OutboxRow, error: str, consumer: str
) -> None:
    """Add the letter to ``vigil:dlq`` (once per row: keyed by the row's identity)."""
    created_ms = int(row.created_at.timestamp() * 1000)
    letter = dead_letter(row, error, consumer)
    await producer.publish(DLQ, Envelope.wrap(letter, key=f"notification:{created_ms}:{row.id}"))
