"""The common part of the optimizer's stream triggers: one consumer of consumer group
``optimizer`` on one stream.

:class:`StreamTrigger` reads entries through the runtime's
:class:`~vigil_runtime.streams.StreamConsumer` (batches, reclaim of idle entries,
acknowledgement, retries, dead-lettering of failed entries) with the replica's consumer
name, batch size and claim idle time from the settings, and decodes each entry with
:class:`~vigil_optimizer.triggers.entries.EntryReader` (an unreadable one is dead-lettered
at once). Subclasses implement :meth:`StreamTrigger.handle`.
"""

from __future__ import annotations

import asyncio
from typing import Final, Protocol

import redis.asyncio

from vigil_optimizer.triggers.entries import EntryReader
from vigil_runtime.streams import StreamConsumer, StreamEntry

__all__ = ["GROUP", "ConsumerSettings", "StreamTrigger"]

GROUP: Final = "optimizer"


class ConsumerSettings(Protocol):
    """What a stream trigger's consumer reads (``OptimizerSettings`` has it)."""

    @property
    def consumer(self) -> str: ...
    @property
    def consumer_batch(self) -> int: ...
    @property
    def claim_idle_ms(self) -> int: ...


class StreamTrigger:
    """See the module docstring."""

    def __init__(
        self, client: redis.asyncio.Redis, stream: str, settings: ConsumerSettings,
        *, block_ms: int,
    ) -> None:  # fmt: skip
        self._reader = EntryReader(client, stream, GROUP, settings.consumer)
        self.consumer = StreamConsumer(
            client, stream, GROUP, settings.consumer, self.handle,
            batch_size=settings.consumer_batch, block_ms=block_ms,
            claim_idle_ms=settings.claim_idle_ms,
        )  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set."""
        await self.consumer.run(stop)

    async def handle(self, entries: list[StreamEntry]) -> None:
        """The consumer's handler: one batch of entries."""
        raise NotImplementedError
