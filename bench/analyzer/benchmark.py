"""`make bench-analyzer`: the analyzer pipeline against the bare backend loop, same frames.

One private local stack (durable: fsync on), migrated. For each backend (``darknet``: the
pinned YOLOv3-tiny; ``onnx``: a random-weight model of the ultralytics export shape with a
small YOLO's compute, :mod:`bench.analyzer.onnx_model`) and each camera count (1, 8, 32),
the same JPEG frames (:mod:`bench.analyzer.frames`, ``--frames-per-run`` in all, split over
the cameras) go, alternately and ``--repeat`` times:

* through the **bare loop** (:mod:`bench.analyzer.bare`): decode + ``detect`` per batch;
* through the **pipeline** (:mod:`bench.analyzer.pipeline`): published to ``vigil:frames``,
  then a StreamConsumer with FramePipeline as its handler, timed from the first read to the
  last acknowledgement, every frame verified analysed.

The ratio pipeline / bare (medians) is the pipeline's overhead; the target is ≥ 0.85.
Then the Claude scenario (:mod:`bench.analyzer.scenario`): ``--claude-cameras`` camsim
cameras for ``--claude-minutes`` of simulated time through the pipeline with the Claude
analyst against the fake Anthropic API, with the darknet backend: calls, selections, skips,
tokens and cost per camera-hour (:mod:`bench.analyzer.claude`); ``--claude-cameras 0`` skips
it. ``python -m bench.analyzer --repeat 1`` for a quick try.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.analyzer import report
from bench.analyzer.bare import run_bare, warm_up
from bench.analyzer.claude import analyst_available, not_measured
from bench.analyzer.detectors import BACKENDS, analyzer_settings, load_backend, models_dir
from bench.analyzer.frames import FrameSet, build_frames
from bench.analyzer.pipeline import PipelineStack, run_pipeline
from bench.analyzer.scenario import run_scenario
from bench.harness.results import relative
from bench.harness.stack import private_stack, server_pids, service_env
from vigil_analyzer.detectors import Detector
from vigil_runtime.db import create_pool
from vigil_runtime.stack import StackInfo

INTERVAL_S = 0.2
"""Seconds between a camera's frames (5 fps, the analyzer's default detect rate)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this benchmark (also offered by ``python -m bench.run``)."""
    group = parser.add_argument_group("analyzer")
    group.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated")
    group.add_argument("--camera-counts", default="1,8,32", help="comma-separated")
    group.add_argument("--frames-per-run", type=int, default=192,
                       help="frames per measurement, split over the cameras")  # fmt: skip
    group.add_argument("--frame-size", default="640x360", help="WIDTHxHEIGHT of the frames")
    group.add_argument("--claude-cameras", type=int, default=8,
                       help="cameras of the Claude scenario (0: skip it)")  # fmt: skip
    group.add_argument("--claude-minutes", type=float, default=10.0,
                       help="simulated minutes per camera in the Claude scenario")  # fmt: skip
    group.add_argument("--claude-interval-s", type=float, default=0.5,
                       help="simulated seconds between a camera's frames (at most 1)")  # fmt: skip


def _options(args: argparse.Namespace) -> argparse.Namespace:
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    defaults.add_argument("--repeat", type=int, default=3)
    return argparse.Namespace(**(vars(defaults.parse_args([])) | vars(args)))


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every backend at every camera count on a private stack (``bench.run`` API)."""
    options = _options(args)
    backends = [b.strip() for b in options.backends.split(",") if b.strip()]
    if set(backends) - set(BACKENDS):
        raise SystemExit(f"--backends: choose from {list(BACKENDS)}")
    async with private_stack("analyzer") as (info, workdir):
        return await _run_on(info, workdir, options, backends)


def render(result: dict[str, Any], path: Path) -> str:
    """The docs' analyzer block for the results file ``path``."""
    return report.render(result, relative(path))


async def _stack(info: StackInfo) -> PipelineStack:
    analyzer_url = service_env(info, "analyzer")["VIGIL_DATABASE_URL"]
    return PipelineStack(
        owner_pool=await create_pool(info.database_url, min_size=1, max_size=2),
        analyzer_pool=await create_pool(analyzer_url, min_size=1, max_size=4),
        redis=aioredis.Redis.from_url(info.redis_url),
        server_pids=server_pids(info),
    )


@dataclass
class _Tally:
    """What the results file says of the frames."""

    jpeg_bytes: int = 0


async def _run_on(info: StackInfo, workdir: Path, options: argparse.Namespace,
                  backends: list[str]) -> dict[str, Any]:  # fmt: skip
    size = _size(options.frame_size)
    stack = await _stack(info)
    results: dict[str, Any] = {}
    tally = _Tally()
    detectors: dict[str, Detector] = {}
    try:
        for backend in backends:
            detector, model = load_backend(backend, workdir)
            detectors[backend] = detector
            per_count = {
                str(cameras): await _measure(stack, detector, backend, cameras, options, tally)
                for cameras in _ints(options.camera_counts)
            }
            results[backend] = {"model": model, "cameras": per_count}
        claude = await _claude(stack, detectors, workdir, options)
    finally:
        await stack.owner_pool.close()
        await stack.analyzer_pool.close()
        await stack.redis.aclose()
    parameters = {
        "backends": backends,
        "camera_counts": _ints(options.camera_counts),
        "frames_per_run": options.frames_per_run,
        "frame_size": f"{size[0]}x{size[1]}",
        "jpeg_kib": round(tally.jpeg_bytes / 1024, 1),
        "frame_interval_s": INTERVAL_S,
        "consumer_batch": analyzer_settings().consumer_batch,
        "repeat": options.repeat,
        "durable_stack": True,
    }
    return {"parameters": parameters, "results": results,
            "summary": report.summarize(results, claude)}  # fmt: skip


async def _claude(stack: PipelineStack, detectors: dict[str, Detector], workdir: Path,
                  options: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    """The Claude scenario with the darknet backend (loaded here if not benchmarked)."""
    if not analyst_available():
        return not_measured("no Claude analyst in this tree")
    if options.claude_cameras <= 0 or options.claude_minutes <= 0:
        return not_measured("skipped (--claude-cameras 0)")
    if not 0 < options.claude_interval_s <= 1:
        raise SystemExit("--claude-interval-s: more than 0, at most 1")
    detector = detectors.get("darknet") or load_backend("darknet", workdir)[0]
    print(f"claude scenario: {options.claude_cameras} cameras x {options.claude_minutes} "
          "simulated minutes", file=sys.stderr)  # fmt: skip
    return await run_scenario(stack, detector, camera_count=options.claude_cameras,
                              minutes=options.claude_minutes,
                              interval_s=options.claude_interval_s)  # fmt: skip


async def _measure(stack: PipelineStack, detector: Detector, backend: str, cameras: int,
                   options: argparse.Namespace, tally: _Tally) -> dict[str, Any]:  # fmt: skip
    """Bare loop (main thread, then a worker thread) and pipeline, ``--repeat`` times each
    on fresh frames, alternating which goes first (neither always runs after the other)."""
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "bare_worker": [], "pipeline": []}
    for rep in range(options.repeat):
        frames = _frames(backend, cameras, rep, options.frames_per_run, _size(options.frame_size))
        if rep == 0:
            warm_up(detector, frames)
        if rep % 2:
            runs["pipeline"].append(await run_pipeline(stack, detector, frames))
        runs["bare"].append(run_bare(detector, frames))
        runs["bare_worker"].append(run_bare(detector, frames, worker=True))
        if rep % 2 == 0:
            runs["pipeline"].append(await run_pipeline(stack, detector, frames))
        tally.jpeg_bytes = frames.jpeg_bytes
        bare, piped = runs["bare"][-1]["frames_per_s"], runs["pipeline"][-1]["frames_per_s"]
        print(f"{backend} x{cameras} #{rep}: bare {bare}, pipeline {piped} frames/s",
              file=sys.stderr)  # fmt: skip
    return runs


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def _frames(backend: str, cameras: int, rep: int, total: int,
            size: tuple[int, int]) -> FrameSet:  # fmt: skip
    """This measurement's frames: its own camera ids, timestamps ending now."""
    per_camera = max(2, total // cameras)
    start = datetime.now(UTC) - timedelta(seconds=per_camera * INTERVAL_S)
    prefix = f"bench-{backend}-{cameras}-{rep}-"
    return build_frames(models_dir(), cameras, per_camera, size=size, start=start,
                        prefix=prefix, interval_s=INTERVAL_S)  # fmt: skip
