"""SceneMemory against real Redis: newest first, bounded, expiring, per camera."""

from __future__ import annotations

import redis.asyncio

from vigil_analyzer.claude.memory import SceneMemory


async def test_recall_gives_the_newest_summaries_first_up_to_size(
    redis_client: redis.asyncio.Redis,
) -> None:
    memory = SceneMemory(redis_client, size=3, ttl_s=600)
    assert await memory.recall("cam-1") == []
    for n in range(5):
        await memory.remember("cam-1", f"summary {n}")
    await memory.remember("cam-2", "elsewhere")
    assert await memory.recall("cam-1") == ["summary 4", "summary 3", "summary 2"]
    assert await memory.recall("cam-2") == ["elsewhere"]
    assert await redis_client.llen("vigil:camera:cam-1:scene") == 3
    assert 0 < await redis_client.ttl("vigil:camera:cam-1:scene") <= 600
