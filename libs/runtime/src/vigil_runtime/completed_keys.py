"""A consumer group's record of the idempotency keys it completed: bounded and expiring.

``StreamConsumer`` asks :meth:`CompletedKeys.duplicates` which entries of a batch it can
acknowledge without handling (their key was completed by the group, or appears earlier in
the batch), and adds :meth:`CompletedKeys.record` to the ``MULTI`` that acknowledges what
its handler succeeded on. A record is ``SET {stream}:done:{group}:{key} 1 EX window``
(:func:`vigil_schema.streams.completed_key`): one key per completed entry, gone after
``window`` (the stream policy's ``dedup_window``), so memory is bounded by the entry rate
times the window. Groups never share records. Entries without a key are never duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import redis.asyncio

from vigil_schema.streams import completed_key

__all__ = ["CompletedKeys"]


class CompletedKeys:
    """The completed keys of ``group`` on ``stream`` (see the module docstring)."""

    def __init__(
        self, client: redis.asyncio.Redis, stream: str, group: str, window: timedelta
    ) -> None:
        self._redis = client
        self._stream = stream
        self._group = group
        self._window_s = max(1, round(window.total_seconds()))

    def name(self, key: bytes) -> str:
        """The Redis key recording that the group completed ``key``."""
        return completed_key(self._stream, self._group, key.decode("utf-8", "replace"))

    async def duplicates(self, keys: Sequence[bytes | None]) -> list[bool]:
        """Per key (in batch order): completed already, or repeating an earlier key of the
        batch; one ``MGET`` when any key is set."""
        present = [key for key in keys if key is not None]
        if not present:
            return [False] * len(keys)
        found: list[Any] = await self._redis.mget([self.name(key) for key in present])
        completed = {key for key, value in zip(present, found, strict=True) if value is not None}
        seen: set[bytes] = set()
        flags: list[bool] = []
        for key in keys:
            duplicate = key is not None and (key in completed or key in seen)
            if key is not None:
                seen.add(key)
            flags.append(duplicate)
        return flags

    def record(self, pipe: Any, keys: Iterable[bytes | None]) -> None:
        """Queue the records of ``keys`` on ``pipe`` (the caller's ``MULTI`` with the
        ``XACK``)."""
        for key in keys:
            if key is not None:
                pipe.set(self.name(key), b"1", ex=self._window_s)
