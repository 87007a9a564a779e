"""The Claude scenario: camsim cameras through the pipeline with the Claude analyst.

``--claude-cameras`` cameras (registered, one zone over the left half counting persons) show
camsim's scenes (:mod:`bench.analyzer.scene`) for ``--claude-minutes`` of simulated time, a
frame every ``--claude-interval-s`` (1 s: under the 5 fps detect-rate cap, so no frame is
dropped by it), timestamps ending at the start of the run. The frames go through
``vigil:frames`` → StreamConsumer → FramePipeline with the pinned YOLOv3-tiny (darknet) and
:class:`~vigil_analyzer.claude.analyst.ClaudeAnalyst` as its observer, with the analyzer's
default settings (selection rules, scene-change distance, per-camera and global limits,
daily budget, routine frames through the Message Batches API) against the in-process fake
Anthropic API (:func:`~vigil_tools.fake_anthropic.testing.running_fake`, usage computed as
the real API's) through the real SDK. Only ``max_frame_age_s`` is opened (the frames are
older than 30 s by design).

Simulated time runs much faster than the wall clock, so the hard call limits run on the
simulated clock (the analyst's ``rate_clock``: the newest frame time the pipeline has
analysed): a camera's per-minute and per-hour windows are simulated minutes and hours.
Frames are published a minute of simulated time at a time; after each poll of the consumer
the analyst is drained (``idle``), so Claude keeps up with the cameras as it would in real
time and no selection is lost to a full queue. At the end the waiting batch is submitted and
collected. The daily token budget keeps its real-day key (a run spends far less than it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.analyzer import claude
from bench.analyzer.detectors import analyzer_settings, models_dir
from bench.analyzer.frames import Frame, FrameSet
from bench.analyzer.pipeline import PipelineStack, publish, register_cameras
from bench.analyzer.scene import SceneCamera, cameras, encode
from vigil_analyzer.camera_zones import ZoneRegistry
from vigil_analyzer.claude.analyst import ClaudeAnalyst
from vigil_analyzer.claude.client import ClaudeClient
from vigil_analyzer.claude.keys import BATCHES
from vigil_analyzer.detectors import Detector
from vigil_analyzer.outputs import Outputs
from vigil_analyzer.pipeline import GROUP, AnalysedFrame, FramePipeline
from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.streams import StreamConsumer
from vigil_schema.streams import DETECTIONS, FRAMES
from vigil_tools.fake_anthropic.testing import running_fake

CHUNK_S = 60.0
"""Simulated seconds published at a time."""
COLLECT_TIMEOUT_S = 120.0
SIZE = (640, 360)


@dataclass
class SimClock:
    """The newest analysed frame's time (epoch seconds): the hard limits' clock."""

    now: float

    def read(self) -> float:
        """The simulated time now."""
        return self.now


class ClockedObserver:
    """The analyst as the pipeline's observer, advancing the simulated clock first."""

    def __init__(self, analyst: ClaudeAnalyst, clock: SimClock) -> None:
        self._analyst = analyst
        self._clock = clock

    def observe(self, frame: AnalysedFrame) -> None:
        """Advance the clock to the frame, then let the analyst see it."""
        self._clock.now = max(self._clock.now, frame.frame.ts.timestamp())
        self._analyst.observe(frame)

    def forget(self, camera_id: str) -> None:
        """Passed on to the analyst."""
        self._analyst.forget(camera_id)


def limits(settings: AnalyzerSettings) -> dict[str, int]:
    """The hard limits and budget in force."""
    return {
        "camera_calls_per_minute": settings.claude_camera_calls_per_minute,
        "camera_calls_per_hour": settings.claude_camera_calls_per_hour,
        "calls_per_minute": settings.claude_calls_per_minute,
        "calls_per_hour": settings.claude_calls_per_hour,
        "daily_token_budget": settings.claude_daily_token_budget,
    }


async def run_scenario(stack: PipelineStack, detector: Detector, *, camera_count: int,
                       minutes: float, interval_s: float) -> dict[str, Any]:  # fmt: skip
    """Run the scenario (see the module docstring); its summary and parameters."""
    steps = max(1, round(minutes * 60 / interval_s))
    span_s = steps * interval_s
    start = (datetime.now(UTC) - timedelta(seconds=span_s)).replace(microsecond=0)
    scene = cameras(models_dir(), camera_count, prefix="claude-", size=SIZE,
                    interval_s=interval_s)  # fmt: skip
    ids = [camera.camera_id for camera in scene]
    await register_cameras(stack.owner_pool, ids)
    await stack.redis.delete(FRAMES, DETECTIONS, BATCHES)
    started = time.perf_counter()
    async with running_fake(api_key="bench-key", batch_delay_s=0.05) as fake:
        settings = analyzer_settings(instance="bench-claude", max_frame_age_s=span_s + 7200,
                                     anthropic_api_key=fake.api_key,
                                     anthropic_base_url=fake.base_url)  # fmt: skip
        counts = await _run(stack, detector, settings, scene, start, steps, interval_s)
        requests = fake.summary()
    rows = await claude.stored_rows(stack.owner_pool, ids)
    summary = claude.summarize(counts, rows, cameras=camera_count, span_s=span_s,
                               limits=limits(settings))  # fmt: skip
    shown: dict[str, int] = {}
    for camera in scene:
        for name, n in camera.shown.items():
            shown[name] = shown.get(name, 0) + n
    hours = summary["camera_hours"]
    summary["scene"] = {
        "tracks_shown_per_camera_hour": {k: round(v / hours, 1) for k, v in sorted(shown.items())},
        "scene_changes": sum(camera.scene_changes for camera in scene),
        "span": [start.isoformat(), (start + timedelta(seconds=span_s)).isoformat()],
        "alert_hours": f"{settings.claude_alert_hours} {settings.claude_alert_tz}",
    }
    summary["fake_anthropic"] = {"by_path": requests.get("by_path")}
    summary["parameters"] = {"cameras": camera_count, "minutes": minutes,
                             "interval_s": interval_s, "frame_size": f"{SIZE[0]}x{SIZE[1]}",
                             "model": settings.claude_model, "backend": detector.backend,
                             "wall_s": round(time.perf_counter() - started, 1)}  # fmt: skip
    return summary


async def _run(stack: PipelineStack, detector: Detector, settings: AnalyzerSettings,
               scene: list[SceneCamera], start: datetime, steps: int,
               interval_s: float) -> claude.Counts:  # fmt: skip
    clock = SimClock(start.timestamp())
    client = ClaudeClient.from_settings(settings)
    analyst = ClaudeAnalyst(stack.redis, stack.analyzer_pool, settings, client,
                            rate_clock=clock.read)  # fmt: skip
    zones = ZoneRegistry(stack.analyzer_pool)
    await zones.start()
    outputs = Outputs(stack.analyzer_pool, stack.redis)
    pipeline = FramePipeline(detector, zones, outputs, stack.redis, settings,
                             observer=ClockedObserver(analyst, clock))  # fmt: skip
    consumer = StreamConsumer(stack.redis, FRAMES, GROUP, "bench-claude", pipeline.handle,
                              batch_size=settings.consumer_batch, block_ms=100)  # fmt: skip
    before = claude.snapshot()
    analyst.start()
    try:
        await consumer.ensure_group()
        chunk = max(1, round(CHUNK_S / interval_s))
        for first in range(0, steps, chunk):
            numbers = range(first, min(steps, first + chunk))
            await _feed(stack, consumer, analyst, scene, start, numbers, interval_s)
        await analyst.submit_batch()
        await _collect(stack, analyst)
        return claude.delta(before, claude.snapshot())
    finally:
        await analyst.stop()
        await outputs.close(30)
        pipeline.close()
        await zones.close()


async def _feed(stack: PipelineStack, consumer: StreamConsumer, analyst: ClaudeAnalyst,
                scene: list[SceneCamera], start: datetime, numbers: range,
                interval_s: float) -> None:  # fmt: skip
    """Render, publish and analyse the frames ``numbers`` of every camera."""
    frames = []
    for number in numbers:
        ts = start + timedelta(seconds=number * interval_s)
        frames += [Frame(camera.camera_id, number, ts, encode(camera.render(ts, number)))
                   for camera in scene]  # fmt: skip
    await publish(stack.redis, FrameSet(tuple(frames), len(scene), *SIZE))
    handled = 0
    while handled < len(frames):
        handled += await consumer.poll_once()
        await analyst.idle()


async def _collect(stack: PipelineStack, analyst: ClaudeAnalyst) -> None:
    """Collect every submitted batch (the fake ends them within its batch delay)."""
    deadline = time.perf_counter() + COLLECT_TIMEOUT_S
    while await stack.redis.hlen(BATCHES):
        if time.perf_counter() > deadline:
            raise TimeoutError("Claude batches still not collected")
        await analyst.collect_batches()
        await asyncio.sleep(0.1)
