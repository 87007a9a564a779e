"""A simulated camera fleet: connections, cameras, the run and its summary.

``Fleet(config).run()`` (async) or ``Fleet(config).run_sync()``:

1. pre-encodes the frame clips (when frames are on), builds one :class:`CameraFeed` per camera;
2. connects the connections: one per camera with its Last Will (retained ``offline`` on its
   status topic) when ``use_lwt``, else ``client_count`` connections sharing the cameras;
3. publishes each camera's retained ``online`` status, then runs one :class:`Producer` per
   connection until the duration is over, the ``count`` budget is spent or :meth:`stop`;
4. waits for the messages in flight to be acknowledged, publishes retained ``offline`` for
   every camera (a clean stop), disconnects, and returns the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

from vigil_runtime.settings import parse_mqtt_url
from vigil_schema.enums import CameraStatus
from vigil_tools.camsim.client import WindowedPublisher
from vigil_tools.camsim.config import FleetConfig
from vigil_tools.camsim.feed import OFFLINE_WILL, STATUS_TAG, CameraFeed, status_payload
from vigil_tools.camsim.frames import FrameClip, build_clips
from vigil_tools.camsim.pacing import Budget
from vigil_tools.camsim.producer import Producer
from vigil_tools.camsim.stats import FleetStats


class Fleet:
    """Publishes the traffic of ``config.cameras`` cameras to one broker."""

    def __init__(self, config: FleetConfig) -> None:
        self.config = config
        self.camera_ids = config.camera_ids()
        self.stats = FleetStats()
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publishers: list[WindowedPublisher] = []
        self._feeds: dict[str, CameraFeed] = {}

    def stop(self) -> None:
        """Ask the fleet to finish cleanly (drain, publish ``offline``, disconnect).

        Safe to call from another thread than the one running :meth:`run`.
        """
        loop = self._loop
        if loop is not None and not _on_loop(loop):
            loop.call_soon_threadsafe(self.stop)
            return
        self._stop.set()
        for publisher in self._publishers:
            publisher.wake()

    def run_sync(self) -> dict[str, Any]:
        """Run on a new event loop and return the summary."""
        return asyncio.run(self.run())

    async def run(self) -> dict[str, Any]:
        """Run the fleet to its end and return the summary (see :meth:`FleetStats.summary`)."""
        config = self.config
        self._loop = asyncio.get_running_loop()
        clips = await self._clips()
        rng = random.Random(config.seed)
        self._feeds = {
            camera_id: CameraFeed(
                camera_id,
                random.Random(rng.getrandbits(64)),
                self.stats,
                fps=config.fps,
                batch=config.batch,
                bad_ratio=config.bad_ratio,
                resolution=config.resolution,
                clip=clips[index % len(clips)] if clips else None,
                degraded=index < config.degraded,
            )
            for index, camera_id in enumerate(self.camera_ids)
        }
        started = time.monotonic()
        production_s = 0.0
        try:
            await self._connect()
            await self._publish_status(CameraStatus.ONLINE)
            production_started = time.monotonic()
            await self._produce()
            production_s = time.monotonic() - production_started
            await self._drain()
            await self._publish_status(CameraStatus.OFFLINE)
            await self._drain()
        finally:
            self.stats.unacked = sum(publisher.inflight for publisher in self._publishers)
            await asyncio.gather(*(publisher.close() for publisher in self._publishers))
        return self.stats.summary(
            cameras=self.camera_ids,
            duration_s=production_s,
            window=max((p.window for p in self._publishers), default=config.window),
            extra={
                "total_s": round(time.monotonic() - started, 3),
                "clients": len(self._publishers),
                "lwt": config.use_lwt,
                "qos": config.qos,
                "protocol": config.protocol,
                "batch": config.batch,
                "frame_backgrounds": [clip.background for clip in clips],
            },
        )

    async def _clips(self) -> list[FrameClip]:
        config = self.config
        if config.frame_fps <= 0:
            return []
        return await asyncio.to_thread(
            build_clips,
            config.resolution,
            config.frame_pool,
            quality=config.jpeg_quality,
            seed=config.seed or 0,
        )

    async def _connect(self) -> None:
        config = self.config
        endpoint = parse_mqtt_url(config.url)
        groups = config.cameras_of_client()
        for index, cameras in enumerate(groups):
            will = (self._feeds[cameras[0]].status_topic, OFFLINE_WILL) if config.use_lwt else None
            client_id = (
                f"{config.client_id_prefix}-{cameras[0]}"
                if config.use_lwt
                else f"{config.client_id_prefix}-{config.camera_prefix}{index}"
            )
            publisher = WindowedPublisher(
                client_id,
                endpoint,
                self.stats,
                protocol=config.protocol,
                qos=config.qos,
                window=config.window,
                keepalive_s=config.keepalive_s,
                will=will,
            )
            publisher.on_reconnected = self._republish_online(publisher, cameras)
            self._publishers.append(publisher)
        await asyncio.gather(*(p.connect(config.connect_timeout_s) for p in self._publishers))

    def _republish_online(self, publisher: WindowedPublisher, cameras: list[str]) -> Any:
        """After a reconnect the broker may have published the Last Will: say online again."""

        def republish() -> None:
            for camera_id in cameras:
                publisher.publish_now(
                    self._feeds[camera_id].status_topic,
                    status_payload(CameraStatus.ONLINE),
                    STATUS_TAG,
                    retain=True,
                )

        return republish

    async def _publish_status(self, status: CameraStatus) -> None:
        groups = self.config.cameras_of_client()

        async def publish_group(publisher: WindowedPublisher, cameras: list[str]) -> None:
            for camera_id in cameras:
                topic = self._feeds[camera_id].status_topic
                await publisher.publish(topic, status_payload(status), STATUS_TAG, retain=True)

        await asyncio.gather(
            *(publish_group(p, cams) for p, cams in zip(self._publishers, groups, strict=True))
        )

    async def _produce(self) -> None:
        config = self.config
        budget = Budget(config.count)
        groups = config.cameras_of_client()
        producers = [
            Producer(publisher, [self._feeds[c] for c in cameras], config, budget, self._stop)
            for publisher, cameras in zip(self._publishers, groups, strict=True)
        ]
        tasks = [asyncio.create_task(producer.run()) for producer in producers]
        waiters = [
            asyncio.create_task(self._stop.wait()),
            asyncio.create_task(budget.exhausted.wait()),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED), config.duration_s
            )
        self._stop.set()
        for waiter in waiters:
            waiter.cancel()
        for publisher in self._publishers:
            publisher.wake()
        await asyncio.gather(*tasks)

    async def _drain(self) -> None:
        timeout = self.config.drain_timeout_s
        await asyncio.gather(*(publisher.drain(timeout) for publisher in self._publishers))


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
