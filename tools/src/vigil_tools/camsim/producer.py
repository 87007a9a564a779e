"""The publishing loop of one connection: paces its cameras' messages into the window.

Each turn publishes, in this order and as far as the window allows: health samples that are
due, frames the frame bucket allows, then event messages the event bucket (and the fleet's
``--count`` budget) allows, round-robin over the connection's cameras. When the window is full
it waits for a PUBACK; when nothing is due it sleeps until the next token (at most
:data:`MAX_SLEEP_S`, so a stop is seen quickly).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, Final

from vigil_runtime.tasks import wait_task_or_event
from vigil_tools.camsim.client import WindowedPublisher
from vigil_tools.camsim.config import FleetConfig
from vigil_tools.camsim.feed import CameraFeed, Outgoing
from vigil_tools.camsim.pacing import Budget, TokenBucket

MAX_SLEEP_S: Final = 0.05
BURST_S: Final = 0.1
"""A bucket holds at most this many seconds of tokens (catch-up after a stall is bounded)."""


class Producer:
    """Feeds one :class:`WindowedPublisher` from its cameras until ``stop`` is set."""

    def __init__(
        self,
        publisher: WindowedPublisher,
        feeds: list[CameraFeed],
        config: FleetConfig,
        budget: Budget,
        stop: asyncio.Event,
    ) -> None:
        self._publisher = publisher
        self._feeds = feeds
        self._config = config
        self._budget = budget
        self._stop = stop
        now = time.monotonic()
        cameras = len(feeds)
        event_rate = cameras * config.fps / config.batch if config.fps > 0 else 0.0
        self._events = TokenBucket(event_rate, max(1.0, event_rate * BURST_S), now)
        frame_rate = cameras * config.frame_fps
        self._frames = (
            TokenBucket(frame_rate, max(1.0, frame_rate * BURST_S), now)
            if config.frame_fps > 0
            else None
        )
        interval = config.health_interval_s
        self._next_health = [
            now + interval * (index + 1) / cameras if interval > 0 else float("inf")
            for index in range(cameras)
        ]
        self._event_turn = 0
        self._frame_turn = 0

    async def run(self) -> None:
        """Publish until ``stop`` is set."""
        publisher = self._publisher
        while not self._stop.is_set():
            if not publisher.connected:
                await self._until(publisher.wait_connected())
                continue
            now = time.monotonic()
            self._publish_health(now)
            self._publish_frames(now)
            self._publish_events(now)
            if self._stop.is_set():
                return
            if publisher.available <= 0:
                await publisher.wait_slot()
            else:
                await asyncio.sleep(self._idle_delay(time.monotonic()))

    async def _until(self, waiter: Coroutine[Any, Any, object]) -> None:
        """Wait for ``waiter`` or the stop, whichever comes first."""
        task = asyncio.ensure_future(waiter)
        try:
            await wait_task_or_event(task, self._stop)
        finally:
            task.cancel()

    def _send(self, message: Outgoing) -> None:
        self._publisher.publish_now(
            message.topic, message.payload, message.tag, properties=message.properties
        )

    def _publish_health(self, now: float) -> None:
        interval = self._config.health_interval_s
        for index, due in enumerate(self._next_health):
            if due > now or self._publisher.available <= 0:
                continue
            self._send(self._feeds[index].health(interval))
            self._next_health[index] = max(due + interval, now)

    def _publish_frames(self, now: float) -> None:
        if self._frames is None:
            return
        count = min(self._frames.available(now), self._publisher.available)
        self._frames.take(count)
        feeds = self._feeds
        for _ in range(count):
            self._send(feeds[self._frame_turn].frame())
            self._frame_turn = (self._frame_turn + 1) % len(feeds)

    def _publish_events(self, now: float) -> None:
        wanted = min(self._events.available(now), self._publisher.available)
        if wanted <= 0:
            return
        count = self._budget.grant(wanted)
        self._events.take(count)
        feeds = self._feeds
        for _ in range(count):
            self._send(feeds[self._event_turn].events())
            self._event_turn = (self._event_turn + 1) % len(feeds)

    def _idle_delay(self, now: float) -> float:
        delays = [self._events.delay(), MAX_SLEEP_S, min(self._next_health) - now]
        if self._frames is not None:
            delays.append(self._frames.delay())
        return max(0.0, min(delays))
