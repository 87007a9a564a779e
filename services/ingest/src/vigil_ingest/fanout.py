"""After commit: stream entries and camera live state, one Redis pipeline per group.

For a group of committed messages (in arrival order) :meth:`Fanout.publish` sends, in one
round trip (a non-transactional pipeline):

* one ``XADD`` per stream entry (``vigil:events`` / ``vigil:health`` / ``vigil:frames``), in
  arrival order, all of them done by one server-side script call (``EVALSHA``): packing,
  sending and parsing one command per entry cost the ingest about 12 µs of CPU per message
  in redis-py, the script call about a tenth of that (``bench/pipeline_micro.py``);
* ``XTRIM vigil:frames MAXLEN ~ frames_maxlen`` if the group had frames, its reply (the
  number of entries trimmed) is added to ``vigil_ingest_frames_trimmed_total``;
* one ``HSET vigil:camera:{id}:state`` per camera, the group's state fields merged in order
  (later messages win);
* ``SADD vigil:cameras:active`` for the cameras that sent data. The camera's ``status``
  field, its removal from the active set and the offline/online transitions belong to
  :mod:`vigil_ingest.liveness`, which the pipeline hands status reports to.

Any Redis error propagates; the caller retries the whole group. A retry may add an entry
twice (the first attempt can have been applied before the connection broke): stream
delivery is at-least-once and consumers are idempotent (docs/ingest.md). The script is
loaded on the first publish, and again (the group then sent once more) when Redis answers
``NOSCRIPT`` after a restart or a ``SCRIPT FLUSH``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from vigil_ingest.decode import Decoded
from vigil_ingest.metrics import FRAMES_TRIMMED
from vigil_schema.streams import ACTIVE_CAMERAS_KEY, FRAMES, camera_state_key

__all__ = ["XADD_SCRIPT", "Fanout", "merge_camera_state", "xadd_arguments"]

XADD_SCRIPT = """
local i = 1
while i <= #ARGV do
  local last = i + 1 + 2 * tonumber(ARGV[i + 1])
  redis.call('XADD', KEYS[tonumber(ARGV[i])], '*', unpack(ARGV, i + 2, last))
  i = last + 1
end
return #ARGV
"""
"""``XADD`` in order: ARGV is ``key index, field count, field, value, ...`` per entry; the
streams are passed as KEYS (so a cluster-aware proxy sees them)."""


def xadd_arguments(group: Sequence[Decoded]) -> tuple[list[str], list[Any]]:
    """The streams (KEYS) and ARGV of :data:`XADD_SCRIPT` for the group's entries."""
    streams: dict[str, int] = {}
    argv: list[Any] = []
    append = argv.append
    for decoded in group:
        for item in decoded.entries:
            index = streams.get(item.stream)
            if index is None:
                index = streams[item.stream] = len(streams) + 1
            fields = item.fields
            append(index)
            append(len(fields))
            for name, value in fields.items():
                append(name)
                append(value)
    return list(streams), argv


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
        self._script_sha: str | None = None

    async def publish(self, group: Sequence[Decoded]) -> None:
        """Write the group's entries and state in one pipeline; raises on Redis errors."""
        if not group:
            return
        try:
            await self._publish(group)
        except NoScriptError:
            self._script_sha = None
            await self._publish(group)

    async def _publish(self, group: Sequence[Decoded]) -> None:
        streams, argv = xadd_arguments(group)
        if streams and self._script_sha is None:
            self._script_sha = await self._client.script_load(XADD_SCRIPT)
        pipe: Any = self._client.pipeline(transaction=False)
        if streams:
            pipe.evalsha(self._script_sha, len(streams), *streams, *argv)
        trim_at = -1
        if FRAMES in streams:
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
