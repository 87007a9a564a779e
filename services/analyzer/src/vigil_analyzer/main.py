"""vigil-analyzer: ``vigil:frames`` → detector → detections, occupancy, heatmaps → Claude.

Wiring only (docs/analyzer.md): the detector backend chosen by configuration, the zone
registry, the COPY writers and stream producer (:mod:`vigil_analyzer.outputs`), the detection
pipeline (:mod:`vigil_analyzer.pipeline`) as the handler of a consumer of group ``analyzer``,
and the Claude analyst (:mod:`vigil_analyzer.claude.analyst`) as the pipeline's observer,
inside the runtime's service runner (ops endpoints, heartbeat, SIGTERM).

Replicas split the cameras, not the frames: every replica is a member of the group
(:class:`vigil_runtime.membership.GroupMembership`) and the consumer routes each frame entry
to the member that owns its camera by rendezvous hashing, so one camera's tracker, zones and
heatmap minute live on one replica. A replica that dies drops out of the membership within
``membership_ttl_s``; its pending entries are reclaimed and routed to the new owners, which
continue the heatmap minute from its checkpoint.

/readyz reports postgres, redis, detector (loaded) and writers (no COPY fault).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import orjson
import redis.asyncio as aioredis

from vigil_analyzer.camera_zones import ZoneRegistry
from vigil_analyzer.claude.analyst import ClaudeAnalyst
from vigil_analyzer.claude.client import ClaudeClient
from vigil_analyzer.detectors import load_detector
from vigil_analyzer.outputs import Outputs
from vigil_analyzer.pipeline import GROUP, FramePipeline
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.membership import GroupMembership
from vigil_runtime.ops import CheckFn, failing_check
from vigil_runtime.redis_client import REDIS_ERRORS
from vigil_runtime.service import ServiceContext, service_main
from vigil_runtime.streams import StreamConsumer, StreamEntry
from vigil_schema.streams import FRAMES

SERVICE = "analyzer"
_STOP_TIMEOUT_S = 5.0


def frame_camera(entry: StreamEntry) -> str | None:
    """The camera of a frame entry (its routing key); None when unreadable (the pipeline
    dead-letters it wherever it is read)."""
    try:
        data = orjson.loads(entry.fields[b"data"])
        camera = data["header"]["camera_id"]
    except (KeyError, TypeError, orjson.JSONDecodeError):
        return None
    return camera if isinstance(camera, str) else None


async def body(ctx: ServiceContext) -> None:
    """Run the analyzer until a stop is requested."""
    settings = cast(AnalyzerSettings, ctx.settings)
    ctx.ops.add_check("detector", failing_check("loading"))
    detector = await asyncio.to_thread(load_detector, settings)
    ctx.ops.remove_check("detector")
    ctx.log.info("detector loaded", backend=detector.backend, model=detector.model,
                 max_batch=detector.max_batch)  # fmt: skip
    async with ctx.dependencies() as deps:
        zones = ZoneRegistry(deps.pool)
        await zones.start()
        outputs = Outputs(deps.pool, deps.redis)
        ctx.ops.add_check("writers", _writers_check(outputs))
        consumer_name = settings.instance
        membership = GroupMembership(deps.redis, FRAMES, GROUP, consumer_name,
                                     ttl_s=settings.membership_ttl_s)  # fmt: skip
        await membership.start()
        analyst = _analyst(ctx, deps.redis, deps.pool, settings)
        pipeline = FramePipeline(
            detector, zones, outputs, deps.redis, settings, observer=analyst,
            owns=lambda camera: membership.owner(camera) == consumer_name,
        )  # fmt: skip
        consumer = StreamConsumer(
            deps.redis, FRAMES, GROUP, consumer_name, pipeline.handle,
            batch_size=settings.consumer_batch, claim_idle_ms=settings.claim_idle_ms,
            router=membership.router(frame_camera),
        )  # fmt: skip
        try:
            await consumer.run(ctx.stopping)
        finally:
            await membership.stop()
            with contextlib.suppress(*REDIS_ERRORS):
                await consumer.hand_back()  # the new owners take them now, not after claim idle
            with contextlib.suppress(TimeoutError):
                await outputs.close(_STOP_TIMEOUT_S)
            pipeline.close()
            await analyst.stop()
            await zones.close()


def _analyst(
    ctx: ServiceContext, redis: aioredis.Redis, pool: Any, settings: AnalyzerSettings
) -> ClaudeAnalyst:
    """The Claude analyst, started; without an API key it only counts what it would send."""
    client = ClaudeClient.from_settings(settings)
    if client is None:
        ctx.log.warning("no Anthropic API key (ANTHROPIC_API_KEY): Claude analyses are "
                        "skipped and counted; detection goes on")  # fmt: skip
    else:
        ctx.log.info("claude analyst", model=settings.claude_model,
                     base_url=settings.anthropic_base_url or "default",
                     daily_token_budget=settings.claude_daily_token_budget)  # fmt: skip
    analyst = ClaudeAnalyst(redis, pool, settings, client)
    analyst.start()
    return analyst


def _writers_check(outputs: Outputs) -> CheckFn:
    """Not ready while a COPY writer cannot commit (its rows are kept and retried)."""

    async def check() -> None:
        fault = outputs.fault
        if fault:
            raise ConnectionError(fault)

    return check


def main() -> None:
    """Console script `vigil-analyzer`."""
    service_main(SERVICE, AnalyzerSettings, body)


if __name__ == "__main__":
    main()
