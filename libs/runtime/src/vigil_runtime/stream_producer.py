"""Publishing stream entries: :class:`StreamProducer`, for services that add entries one
by one or a few at a time (the CLI's optimizer requests, alert candidates, detections).

Every entry goes through :class:`vigil_runtime.stream_writer.StreamWriter`: bounded by its
stream's ``StreamPolicy`` and added once per idempotency key (an ``Envelope`` carries its
key; a plain field mapping has one only if it holds a ``key`` field).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import redis.asyncio

from vigil_runtime.stream_writer import OutgoingEntry, StreamWriter
from vigil_schema.streams import STREAM_POLICIES, StreamPolicy

__all__ = ["FieldSource", "Fields", "StreamProducer", "as_fields"]

Fields = Mapping[str | bytes, bytes | str | int | float]


class FieldSource(Protocol):
    """Anything with ``to_fields()``, such as ``vigil_schema.streams.Envelope``."""

    def to_fields(self) -> Mapping[str, bytes | str]: ...


def as_fields(fields: Fields | FieldSource) -> dict[Any, Any]:
    """The fields of a mapping or of anything with ``to_fields()``, as a new dict."""
    if isinstance(fields, Mapping):
        return dict(fields)
    return dict(fields.to_fields())


class StreamProducer:
    """Publishes entries (a field mapping or an ``Envelope``) to streams, each bounded by
    its ``StreamPolicy`` and added once per idempotency key (:class:`StreamWriter`)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        policies: Mapping[str, StreamPolicy] = STREAM_POLICIES,
    ) -> None:
        self._writer = StreamWriter(client, policies=policies)

    async def publish(self, stream: str, fields: Fields | FieldSource) -> bytes | None:
        """Add one entry; its id, or ``None`` when its key was added moments ago."""
        [entry_id] = await self.publish_many([(stream, fields)])
        return entry_id

    async def publish_many(
        self, items: Iterable[tuple[str, Fields | FieldSource]]
    ) -> list[bytes | None]:
        """Add (stream, fields) pairs in order, in one script call; their ids (``None``:
        skipped as a duplicate)."""
        entries = [OutgoingEntry(stream, as_fields(fields)) for stream, fields in items]
        if not entries:
            return []
        result = await self._writer.write(entries, want_ids=True)
        return list(result.ids)
