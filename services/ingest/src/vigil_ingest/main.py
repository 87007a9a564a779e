"""vigil-ingest: MQTT → validate → batched COPY into PostgreSQL → Redis Streams → PUBACK.

Wiring only (docs/ingest.md): the camera registry, the pipeline (decode, COPY writers,
fan-out, acknowledgements), the MQTT link feeding it, and the liveness tracker, inside the
runtime's service runner (ops endpoints, heartbeat, SIGTERM). /readyz reports postgres,
redis, mqtt (connected and subscribed) and pipeline (the Redis fan-out works).

Shutdown: on SIGTERM the pipeline drains first (reading paused, writers flushed, committed
messages fanned out and acknowledged) while the MQTT connection is still up, then the link
disconnects; anything not acknowledged stays with the broker's persistent session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import cast

from vigil_ingest.decode import Decoded, Rejected, decode
from vigil_ingest.frigate import decode_frigate_event
from vigil_ingest.liveness import LivenessTracker
from vigil_ingest.metrics import forget_cameras
from vigil_ingest.mqtt_link import Inbound, MqttLink, MqttLinkConfig
from vigil_ingest.pipeline import Pipeline, decode_limits
from vigil_ingest.registry import CameraRegistry
from vigil_ingest.settings import IngestSettings
from vigil_runtime.ops import failing_check
from vigil_runtime.service import ServiceContext, service_main
from vigil_schema.topics import (
    EVENTS_FILTER,
    FRAMES_FILTER,
    HEALTH_FILTER,
    STATUS_FILTER,
    frigate_events_topic,
    ingest_subscriptions,
    shared,
)

SERVICE = "ingest"
_STOP_TIMEOUT_S = 3.0


def subscriptions(settings: IngestSettings) -> tuple[str, ...]:
    """The topic filters to consume: camera topics, plus Frigate's when bridged."""
    group = settings.mqtt_shared_group
    if group:
        filters = ingest_subscriptions(group)
    else:
        filters = [EVENTS_FILTER, HEALTH_FILTER, FRAMES_FILTER, STATUS_FILTER]
    if settings.frigate_enabled:
        topic = frigate_events_topic(settings.frigate_prefix)
        filters.append(shared(group, topic) if group else topic)
    return tuple(filters)


def make_decoder(
    registry: CameraRegistry, settings: IngestSettings
) -> Callable[[Inbound, datetime], Decoded | Rejected]:
    """Camera topics through `decode`, Frigate's events topic through the bridge."""
    limits = decode_limits(settings)
    frigate = frigate_events_topic(settings.frigate_prefix) if settings.frigate_enabled else None

    def decode_message(msg: Inbound, now: datetime) -> Decoded | Rejected:
        if frigate is not None and msg.topic == frigate:
            return decode_frigate_event(
                msg, registry, now, limits, camera_map=settings.frigate_camera_map
            )
        return decode(msg, registry, now, limits)

    return decode_message


def link_config(settings: IngestSettings) -> MqttLinkConfig:
    """The MQTT link's configuration from the settings."""
    return MqttLinkConfig(
        url=settings.mqtt_url,
        client_id=settings.mqtt_client_id,
        subscriptions=subscriptions(settings),
        protocol=settings.mqtt_protocol,
        session_expiry_s=settings.session_expiry_s,
        receive_maximum=settings.receive_maximum,
        keepalive_s=settings.keepalive_s,
    )


async def body(ctx: ServiceContext) -> None:
    """Run the ingest until a stop is requested, then drain."""
    settings = cast(IngestSettings, ctx.settings)
    # Not ready until the link and the pipeline exist: /readyz must not say 200 while only
    # PostgreSQL and Redis are connected (the camera registry is still loading).
    ctx.ops.add_check("mqtt", failing_check("starting"))
    ctx.ops.add_check("pipeline", failing_check("starting"))
    async with ctx.dependencies() as deps:
        registry = CameraRegistry(
            deps.pool, refresh_s=settings.registry_refresh_s, on_removed=forget_cameras
        )
        await registry.start()
        liveness = LivenessTracker(deps.pool, deps.redis, registry, settings)
        link = MqttLink(link_config(settings), lambda batch: pipeline.submit(batch))
        pipeline: Pipeline[Inbound] = Pipeline(
            deps.pool, deps.redis, registry, settings, link.ack,
            link.pause_reading, link.resume_reading,
            on_status=liveness.on_status, decoder=make_decoder(registry, settings),
        )  # fmt: skip
        ctx.ops.add_check("mqtt", link.ready_check)
        ctx.ops.add_check("pipeline", pipeline.ready_check)
        try:
            await _run(ctx, settings, pipeline, link, liveness)
        finally:
            await registry.close()


async def _run(
    ctx: ServiceContext,
    settings: IngestSettings,
    pipeline: Pipeline[Inbound],
    link: MqttLink,
    liveness: LivenessTracker,
) -> None:
    link_stop, liveness_stop = asyncio.Event(), asyncio.Event()
    pipeline.start()
    link_task = asyncio.create_task(link.run(link_stop), name="mqtt-link")
    liveness_task = asyncio.create_task(liveness.run(liveness_stop), name="liveness")
    failed = asyncio.create_task(pipeline.wait_failed(), name="pipeline-watch")
    stopping = asyncio.create_task(ctx.stopping.wait())
    try:
        await asyncio.wait({stopping, failed, link_task}, return_when=asyncio.FIRST_COMPLETED)
        clean = await pipeline.drain(settings.drain_timeout_s)
        ctx.log.info("ingest drained", clean=clean)
    finally:
        link_stop.set()
        liveness_stop.set()
        await asyncio.wait({link_task, liveness_task}, timeout=_STOP_TIMEOUT_S)
        for task in (link_task, liveness_task, failed, stopping):
            task.cancel()
        await asyncio.wait({link_task, liveness_task, failed, stopping})
    for task in (failed, link_task):
        if not task.cancelled():
            with contextlib.suppress(asyncio.CancelledError):
                task.result()  # a worker or link that died is the service failing


def main() -> None:
    """Console script `vigil-ingest`."""
    service_main(SERVICE, IngestSettings, body)


if __name__ == "__main__":
    main()
