"""Find the message a fan-out group keeps failing on, and dead-letter it alone.

The fan-out writes a group of committed messages in one Redis round trip. A transient error
(connection, timeout, ``BUSY``, ``LOADING``, ``OOM``, see
:func:`vigil_runtime.faults.is_transient_redis_error`) is retried as it is. Any other error
reply may be the fault of one message (a state key of the wrong type, an entry the server
refuses): once a group failed that way ``POISON_ATTEMPTS`` times in a row,
:func:`publish_isolating` publishes it in halves, recursively, and a message that still
fails alone is written to ``vigil:dlq`` (one :class:`~vigil_schema.messages.DeadLetter` per
stream entry and one for its camera-state fields) with the error, and counted as done: its
rows are committed, so it is acknowledged and the ingest goes on. A transient error during
the split propagates and the caller retries the group.

The dead letters' ``group`` is ``PRODUCER_GROUP`` and their ``entry_id`` ``0-0``: the entry
was never added to its stream. ``fields`` are the entry's fields as the ingest would have
added them (replayable with ``XADD``); for the camera state, ``stream`` names the state key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, TypeVar

from prometheus_client import Counter

from vigil_ingest.decode import Decoded
from vigil_runtime.faults import is_transient_redis_error
from vigil_runtime.logging import get_logger
from vigil_runtime.stream_writer import OutgoingEntry, StreamWriter
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import DLQ, Envelope, camera_state_key

__all__ = ["POISON_ATTEMPTS", "PRODUCER_GROUP", "dead_letters", "publish_isolating"]

POISON_ATTEMPTS: Final = 3
"""Non-transient failures of one group in a row before it is split."""
PRODUCER_GROUP: Final = "vigil-ingest-fanout"
"""``DeadLetter.group`` of an entry the ingest could not add (no consumer group involved)."""

FANOUT_DEAD_LETTERED = Counter(
    "vigil_ingest_fanout_dead_lettered_total",
    "Messages whose fan-out failed alone with a non-transient Redis error (sent to vigil:dlq)",
)

_log = get_logger(__name__)
T = TypeVar("T")


def _raw(fields: Mapping[str, bytes | str]) -> dict[bytes, bytes]:
    return {
        name.encode(): value if isinstance(value, bytes) else value.encode()
        for name, value in fields.items()
    }


def dead_letters(decoded: Decoded, topic: str, error: str) -> list[dict[str, bytes | str]]:
    """The ``vigil:dlq`` entries (XADD fields) recording one message's failed fan-out."""
    detail = f"fan-out of {topic} failed alone: {error}"
    records = [(item.stream, item.fields) for item in decoded.entries]
    if decoded.state:
        records.append((camera_state_key(decoded.camera_id), decoded.state))
    if not records:
        records.append((topic, {"camera_id": decoded.camera_id}))
    letters = [
        DeadLetter.from_entry(
            stream=stream,
            group=PRODUCER_GROUP,
            entry_id="0-0",
            fields=_raw(fields),
            deliveries=POISON_ATTEMPTS,
            error=detail,
        )
        for stream, fields in records
    ]
    return [Envelope.wrap(letter).to_fields() for letter in letters]


async def publish_isolating(
    group: Sequence[T],
    publish: Callable[[Sequence[T]], Awaitable[None]],
    dead_letter: Callable[[T, BaseException], Awaitable[None]],
) -> None:
    """Publish ``group`` in halves until each failing item is alone; dead-letter those."""
    try:
        await publish(group)
    except Exception as exc:
        if is_transient_redis_error(exc):
            raise
        if len(group) == 1:
            await dead_letter(group[0], exc)
            return
        mid = len(group) // 2
        await publish_isolating(group[:mid], publish, dead_letter)
        await publish_isolating(group[mid:], publish, dead_letter)


async def write_dead_letters(
    writer: StreamWriter, decoded: Decoded, topic: str, error: str
) -> None:
    """Add the message's dead letters to ``vigil:dlq`` through ``writer`` (the fan-out's:
    one bounded, idempotent call, atomic, and a retry adds none twice)."""
    letters = dead_letters(decoded, topic, error)
    await writer.write(OutgoingEntry(DLQ, fields) for fields in letters)
    FANOUT_DEAD_LETTERED.inc()
    _log.error("fanout_dead_lettered", topic=topic, camera_id=decoded.camera_id, error=error)
