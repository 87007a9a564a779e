"""After commit: stream entries and camera live state, one Redis pipeline per group.

For a group of committed messages (in arrival order) :meth:`Fanout.publish` sends, in one
round trip (a non-transactional pipeline):

* the group's stream entries (``vigil:events`` / ``vigil:health`` / ``vigil:frames``), in
  arrival order, with one call of the runtime's bounded, idempotent XADD script
  (:class:`vigil_runtime.stream_writer.StreamWriter`): each stream is trimmed to its
  ``StreamPolicy`` (``vigil:frames`` to ``frames_maxlen``), and an entry whose idempotency key
  was added within the marker's lifetime is skipped, so a retried group adds no entry twice;
* one ``HSET vigil:camera:{id}:state`` per camera, the group's state fields merged in order
  (later messages win);
* ``SADD vigil:cameras:active`` for the cameras that sent data. The camera's ``status``
  field, its removal from the active set and the offline/online transitions belong to
  :mod:`vigil_ingest.liveness`, which the pipeline hands status reports to.

Any Redis error propagates; the caller retries the whole group, which is harmless: the
entries are idempotent per key, the state writes are plain overwrites. The script is loaded
on the first publish, and again (the group then sent once more) when Redis answers
``NOSCRIPT`` after a restart or a ``SCRIPT FLUSH``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from vigil_ingest.decode import Decoded
from vigil_runtime.stream_writer import StreamWriter
from vigil_schema.streams import ACTIVE_CAMERAS_KEY, FRAMES, camera_state_key

__all__ = ["Fanout", "merge_camera_state"]


def merge_camera_state(group: Sequence[Decoded]) -> dict[str, dict[str, str]]:
    """Per camera that sent data in the group: its state fields merged in order."""
    states: dict[str, dict[str, str]] = {}
    for decoded in group:
        if decoded.state:
            states.setdefault(decoded.camera_id, {}).update(decoded.state)
    return states


class Fanout:
    """Publishes committed messages to Redis (see the module docstring)."""

    def __init__(self, client: aioredis.Redis, *, frames_maxlen: int) -> None:
        self._client = client
        self._writer = StreamWriter(client, maxlen={FRAMES: frames_maxlen})

    @property
    def writer(self) -> StreamWriter:
        """The stream writer the fan-out adds its entries with (its dead letters too)."""
        return self._writer

    async def publish(self, group: Sequence[Decoded]) -> None:
        """Write the group's entries and state in one pipeline; raises on Redis errors."""
        if not group:
            return
        try:
            await self._publish(group)
        except NoScriptError:
            self._writer.forget_script()
            await self._publish(group)

    async def _publish(self, group: Sequence[Decoded]) -> None:
        keys, argv = self._writer.arguments(item for decoded in group for item in decoded.entries)
        pipe: Any = self._client.pipeline(transaction=False)
        if keys:
            await self._writer.ensure_script()
            self._writer.queue(pipe, keys, argv)
        states = merge_camera_state(group)
        for camera_id, fields in states.items():
            pipe.hset(camera_state_key(camera_id), mapping=fields)
        if states:
            pipe.sadd(ACTIVE_CAMERAS_KEY, *states)
        if not pipe.command_stack:
            return
        async with pipe:
            results = await pipe.execute()
        if keys:
            self._writer.record(keys, argv, results[0])
