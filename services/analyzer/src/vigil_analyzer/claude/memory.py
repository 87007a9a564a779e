"""`SceneMemory`: each camera's last few Claude summaries, as context for the next call.

One Redis list per camera, `vigil:camera:{id}:scene` (the schema's `camera_scene_key`),
newest first: `remember`
pushes a summary, trims the list to `size` and renews its TTL (`ttl_s`, so a camera quiet
for a day starts afresh) in one MULTI; `recall` reads it, newest first. Shared by the
replicas, so a camera that moves to another replica keeps its memory.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from vigil_schema.streams import camera_scene_key

__all__ = ["SceneMemory"]


class SceneMemory:
    """The last `size` summaries per camera, kept `ttl_s` after the latest."""

    def __init__(self, redis: aioredis.Redis, *, size: int = 5, ttl_s: int = 86_400) -> None:
        if size < 1 or ttl_s < 1:
            raise ValueError("size and ttl_s must be >= 1")
        self._redis = redis
        self.size = size
        self.ttl_s = ttl_s

    @staticmethod
    def key(camera_id: str) -> str:
        """The Redis list of `camera_id`'s summaries."""
        return camera_scene_key(camera_id)

    async def recall(self, camera_id: str) -> list[str]:
        """The camera's remembered summaries, newest first."""
        values = await self._redis.lrange(self.key(camera_id), 0, self.size - 1)
        return [v.decode() if isinstance(v, bytes) else str(v) for v in values]

    async def remember(self, camera_id: str, summary: str) -> None:
        """Add `summary` as the camera's newest; the oldest beyond `size` are dropped."""
        key = self.key(camera_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, summary)
            pipe.ltrim(key, 0, self.size - 1)
            pipe.expire(key, self.ttl_s)
            await pipe.execute()
