"""After commit: stream entries and camera live state, one Redis pipeline per group.

For a group of committed messages (in arrival order) :meth:`Fanout.publish` sends, in one
round trip (a non-transactional pipeline):

* one ``XADD`` per stream entry (``vigil:events`` / ``vigil:health`` / ``vigil:frames``);
* ``XTRIM vigil:frames MAXLEN ~ frames_maxlen`` if the group had frames, its reply (the
  number of entries trimmed) is added to ``vigil_ingest_frames_trimmed_total``;
* one ``HSET vigil:camera:{id}:state`` per camera, the group's state fields merged in order
  (later messages win);
* ``SADD vigil:cameras:active`` for the cameras that sent data. The camera's ``status``
  field, its removal from the active set and the offline/online transitions belong to
  :mod:`vigil_ingest.liveness`, which the pipeline hands status reports to.

Any Redis error propagates; the caller retries the whole group. A retry may add an entry
twice (the first attempt can have been applied before the connection broke): stream
delivery is at-least-once and consumers are idempotent (docs/ingest.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from vigil_ingest.decode import Decoded
from vigil_ingest.metrics import FRAMES_TRIMMED
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
        self._frames_maxlen = frames_maxlen

    async def publish(self, group: Sequence[Decoded]) -> None:
        """Write the group's entries and state in one pipeline; raises on Redis errors."""
        if not group:
            return
        pipe: Any = self._client.pipeline(transaction=False)
        frames = False
        for decoded in group:
            for item in decoded.entries:
                pipe.xadd(item.stream, dict(item.fields))
                frames = frames or item.stream == FRAMES
        trim_at = -1
        if frames:
            trim_at = len(pipe.command_stack)
            pipe.xtrim(FRAMES, maxlen=self._frames_maxlen, approximate=True)
        states = merge_camera_state(group)
        for camera_id, fields in states.items():
            pipe.hset(camera_state_key(camera_id), mapping=fields)
        if states:
            pipe.sadd(ACTIVE_CAMERAS_KEY, *states)
        if not pipe.command_stack:
            return
        async with pipe:
            results = await pipe.execute()
        if trim_at >= 0:
            FRAMES_TRIMMED.inc(int(results[trim_at]))
