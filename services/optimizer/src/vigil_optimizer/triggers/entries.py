"""Reading the triggers' stream entries; an unreadable or invalid one is dead-lettered at once.

:class:`EntryReader` decodes an entry's envelope with the schema's model for its ``type``. An
entry that cannot be read (no envelope, unknown type, data that does not fit its model) or
that asks for something impossible (:meth:`EntryReader.reject`) cannot get better by being
delivered again, so it is written to ``vigil:dlq`` as a
:class:`~vigil_schema.messages.DeadLetter` right away (as the analyzer does with a bad frame)
and the handler returns normally: the :class:`~vigil_runtime.streams.StreamConsumer` then
acknowledges it. Handler *failures* (a server down, a bug) are left to the consumer, which
retries transient ones in place and dead-letters the rest after ``max_deliveries``.
"""

from __future__ import annotations

from typing import Final

import redis.asyncio
from prometheus_client import Counter

from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.stream_producer import StreamProducer
from vigil_runtime.streams import StreamEntry
from vigil_schema.messages import DeadLetter, StreamMessage
from vigil_schema.streams import DLQ, Envelope, EnvelopeError

__all__ = ["REJECTED", "EntryReader"]

REJECTED: Final = Counter(
    "vigil_optimizer_entries_rejected_total",
    "Trigger stream entries dead-lettered at once (unreadable or invalid)",
    ["stream"],
)


class EntryReader:
    """Decodes one stream's entries for one consumer; dead-letters the bad ones."""

    def __init__(self, client: redis.asyncio.Redis, stream: str, group: str, consumer: str):
        self.stream, self.group, self.consumer = stream, group, consumer
        self._producer = StreamProducer(client)
        self._warn = RateLimitedLogger(get_logger(__name__), interval_s=30.0)

    async def read(self, entry: StreamEntry) -> StreamMessage | None:
        """The entry's message, or ``None`` when it was unreadable (and is dead-lettered)."""
        try:
            return Envelope.from_fields(entry.fields).decode()
        except EnvelopeError as exc:
            await self.reject(entry, str(exc))
            return None

    async def reject(self, entry: StreamEntry, error: str) -> None:
        """Dead-letter ``entry`` with ``error`` (the consumer acknowledges it afterwards)."""
        REJECTED.labels(self.stream).inc()
        self._warn.warning("trigger entry dead-lettered", key=self.stream, stream=self.stream,
                           entry_id=entry.id.decode(), error=error)  # fmt: skip
        letter = DeadLetter.from_entry(stream=self.stream, group=self.group,
                                       consumer=self.consumer, entry_id=entry.id,
                                       fields=entry.fields, deliveries=entry.deliveries,
                                       error=error)  # fmt: skip
        await self._producer.publish(DLQ, Envelope.wrap(letter))
