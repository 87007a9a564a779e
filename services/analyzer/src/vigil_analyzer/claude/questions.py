"""Operators' questions about a camera (``vigil ask CAMERA QUESTION``), answered by Claude on
the camera's next analysed frame.

A question is a field of the Redis hash ``vigil:claude:questions`` (camera → question; a
newer question replaces an unanswered one). :meth:`Questions.refresh` reads the hash every
``claude_questions_poll_s``, so looking one up per frame costs nothing;
:meth:`Questions.take` hands a camera's question to one frame (:meth:`Questions.untake` gives
it back when that frame is not sent), and :meth:`Questions.answered` deletes it from the hash
once it went to the gates (sent, or refused by a limit: then dropped, and the skip counted),
only if it is still the same question (HDEL would drop a newer one). Without an API key a
question stays in Redis until a replica with a key takes it.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from vigil_analyzer.claude.keys import QUESTIONS

_DELETE_IF_SAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


async def ask(redis: aioredis.Redis, camera_id: str, question: str) -> None:
    """Queue an operator's question about a camera."""
    await redis.hset(QUESTIONS, camera_id, question)


class Questions:
    """See the module docstring."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._pending: dict[str, str] = {}
        self._taken: dict[str, str] = {}
        self._delete = redis.register_script(_DELETE_IF_SAME)

    async def refresh(self) -> None:
        """Read the questions waiting in Redis."""
        raw = await self._redis.hgetall(QUESTIONS)
        pending = {_text(k): _text(v) for k, v in raw.items()}
        self._pending = {cam: q for cam, q in pending.items() if self._taken.get(cam) != q}

    def take(self, camera_id: str) -> str | None:
        """The camera's question, once (None when there is none)."""
        question = self._pending.pop(camera_id, None)
        if question is not None:
            self._taken[camera_id] = question
        return question

    def untake(self, camera_id: str, question: str) -> None:
        """The frame that took the question was not sent (queue full, no key): the
        camera's next frame takes it again."""
        if self._taken.get(camera_id) == question:
            del self._taken[camera_id]
        self._pending.setdefault(camera_id, question)

    async def answered(self, camera_id: str, question: str) -> None:
        """The question went to Claude (or was refused): remove it."""
        await self._delete(keys=[QUESTIONS], args=[camera_id, question])
        if self._taken.get(camera_id) == question:
            del self._taken[camera_id]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
