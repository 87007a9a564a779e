"""The frames through the real pipeline: ``vigil:frames`` → StreamConsumer → FramePipeline.

Wired as ``vigil-analyzer`` wires it (:mod:`vigil_analyzer.main`), in this process, on the
run's private stack, connected to PostgreSQL as the analyzer role's login: a
:class:`~vigil_analyzer.camera_zones.ZoneRegistry`, the COPY writers
(:class:`~vigil_analyzer.outputs.Outputs`), :class:`~vigil_analyzer.pipeline.FramePipeline`
with the same loaded detector as the bare loop, as the handler of a
:class:`~vigil_runtime.streams.StreamConsumer` of group ``analyzer`` (batch
``consumer_batch``, the service's default). Settings that would otherwise skip frames are
opened: ``motion_threshold`` 0 (every frame moves anyway), ``detect_fps`` far above the
frames' rate, ``max_frame_age_s`` an hour (the frames are published before timing).

Each measurement has its own cameras (registered, each with one zone over the left half of
the view counting persons, so zones and occupancy run), an emptied ``vigil:frames`` with the
group created first, then every frame published as the ingest writes it (an Envelope of a
FrameMessage with the JPEG attached). The clock runs from the first poll to the poll that
acknowledged the last entry: read, gate, decode, detect, track, zones, COPY commit, stream
entries, ack. The detector's share of that time is read from the pipeline's own
``vigil_analyzer_inference_seconds`` histogram (decode + detect in its worker thread); the
rest (``other_s``) is the pipeline's own work: stream reads, gating, tracking, zones, rows,
commits, acks. Afterwards it is counted, not trusted: every frame must have its
``vigil:detections`` entry (one per analysed frame) and no frame may have been skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from bench.analyzer.detectors import analyzer_settings
from bench.analyzer.frames import FrameSet
from bench.harness.cpu import CpuMeter
from vigil_analyzer.camera_zones import ZoneRegistry
from vigil_analyzer.detectors import Detector
from vigil_analyzer.outputs import Outputs
from vigil_analyzer.pipeline import GROUP, FramePipeline
from vigil_runtime.streams import StreamConsumer
from vigil_schema.messages import JPEG_FIELD, FrameMessage
from vigil_schema.mqtt import FrameHeader
from vigil_schema.streams import DETECTIONS, FRAMES, Envelope

LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
PUBLISH_CHUNK = 200
TIMEOUT_S = 600.0


@dataclass
class PipelineStack:
    """What a pipeline measurement runs against."""

    owner_pool: asyncpg.Pool
    analyzer_pool: asyncpg.Pool
    redis: aioredis.Redis
    server_pids: dict[str, int]


async def register_cameras(pool: asyncpg.Pool, camera_ids: list[str]) -> None:
    """Insert the cameras (active) with one zone each (persons in the left half)."""
    zones = {"zones": [{"name": "left", "polygon": LEFT_HALF, "classes": ["person"]}]}
    await pool.executemany(
        "INSERT INTO cameras (id, name, site, zone_config) VALUES ($1, $2, 'bench', $3) "
        "ON CONFLICT (id) DO NOTHING",
        [(camera_id, f"benchmark {camera_id}", zones) for camera_id in camera_ids],
    )


async def publish(redis: aioredis.Redis, frames: FrameSet) -> None:
    """Every frame as a ``vigil:frames`` entry, in order (no trimming: all must be read)."""
    for start in range(0, len(frames.frames), PUBLISH_CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for frame in frames.frames[start : start + PUBLISH_CHUNK]:
                header = FrameHeader(camera_id=frame.camera_id, ts=frame.ts,
                                     frame_number=frame.number, size_bytes=len(frame.jpeg),
                                     width=frames.width, height=frames.height)  # fmt: skip
                envelope = Envelope.wrap(FrameMessage(header=header),
                                         attachments={JPEG_FIELD: frame.jpeg})  # fmt: skip
                pipe.xadd(FRAMES, cast(Any, envelope.to_fields()))
            await pipe.execute()


async def run_pipeline(
    stack: PipelineStack, detector: Detector, frames: FrameSet
) -> dict[str, Any]:
    """Publish ``frames``, then time the pipeline until every entry is acknowledged."""
    redis = stack.redis
    cameras = sorted({frame.camera_id for frame in frames.frames})
    await register_cameras(stack.owner_pool, cameras)
    await redis.delete(FRAMES, DETECTIONS)
    settings = analyzer_settings(instance="bench", motion_threshold=0.0, detect_fps=1000.0,
                                 max_frame_age_s=3600.0)  # fmt: skip
    zones = ZoneRegistry(stack.analyzer_pool)
    await zones.start()
    outputs = Outputs(stack.analyzer_pool, redis)
    pipeline = FramePipeline(detector, zones, outputs, redis, settings)
    consumer = StreamConsumer(redis, FRAMES, GROUP, "bench", pipeline.handle,
                              batch_size=settings.consumer_batch, block_ms=100)  # fmt: skip
    try:
        await consumer.ensure_group()
        await publish(redis, frames)
        measured = await _consume(consumer, len(frames.frames), stack.server_pids, detector.backend)
    finally:
        await outputs.close(30)
        pipeline.close()
        await zones.close()
    return measured | await _verify(stack, cameras, len(frames.frames))


def _inference_seconds(backend: str) -> float:
    """The pipeline's detector time so far (its histogram's sum, this process)."""
    labels = {"backend": backend}
    return REGISTRY.get_sample_value("vigil_analyzer_inference_seconds_sum", labels) or 0.0


async def _consume(consumer: StreamConsumer, expected: int, pids: dict[str, int],
                   backend: str) -> dict[str, Any]:  # fmt: skip
    inference = _inference_seconds(backend)
    meter = CpuMeter.start(pids)
    started_cpu, started = time.process_time(), time.perf_counter()
    handled = 0
    while handled < expected:
        handled += await consumer.poll_once()
        if time.perf_counter() - started > TIMEOUT_S:
            raise TimeoutError(f"the pipeline handled {handled} of {expected} in {TIMEOUT_S} s")
    elapsed = time.perf_counter() - started
    cpu = meter.stop(time.process_time() - started_cpu)
    inference = _inference_seconds(backend) - inference
    return {
        "frames": handled,
        "seconds": round(elapsed, 3),
        "inference_s": round(inference, 3),
        "other_s": round(elapsed - inference, 3),
        "frames_per_s": round(handled / elapsed, 2),
        "cpu": cpu,
    }


async def _verify(stack: PipelineStack, cameras: list[str], expected: int) -> dict[str, Any]:
    """Every frame analysed (its vigil:detections entry), none pending, rows stored."""
    analysed = int(await stack.redis.xlen(DETECTIONS))
    pending: Any = await stack.redis.xpending(FRAMES, GROUP)
    rows = await stack.owner_pool.fetchval(
        "SELECT count(*) FROM detections WHERE camera_id = ANY($1::text[])", cameras
    )
    occupancy = await stack.owner_pool.fetchval(
        "SELECT count(*) FROM occupancy_events WHERE camera_id = ANY($1::text[])", cameras
    )
    unacked = int(pending["pending"])
    return {
        "analysed": analysed,
        "unacknowledged": unacked,
        "detection_rows": int(rows),
        "occupancy_rows": int(occupancy),
        "ok": analysed == expected and unacked == 0,
    }
