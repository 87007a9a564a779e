"""The bare backend loop: what the detector alone does with the same frames.

For each run of ``max_batch`` frames in publishing order: decode each JPEG in full colour
(:func:`vigil_analyzer.frames.decode_full`, as the pipeline's worker does) and call
``detector.detect`` on the batch. Nothing else: no stream, no gating, no tracking, no rows.
Its frames per second is the ceiling the pipeline is compared with.

The loop runs in the calling (main) thread, or with ``worker`` in one worker thread as the
pipeline runs its detector: measured here, where a backend runs in a thread other than the
main one changes its speed by up to ±10 % on this box (OpenCV's DNN gains, onnxruntime
loses), so both are recorded and the ratio against each tells how much of the pipeline's gap
is the thread it runs in.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.analyzer.frames import FrameSet
from vigil_analyzer.detectors import Detector
from vigil_analyzer.frames import decode_full


def warm_up(detector: Detector, frames: FrameSet) -> None:
    """One batch through the detector, so neither measurement pays first-call costs."""
    batch = frames.frames[: detector.max_batch]
    detector.detect([decode_full(frame.jpeg) for frame in batch])


def run_bare(detector: Detector, frames: FrameSet, *, worker: bool = False) -> dict[str, Any]:
    """Decode + detect every frame in batches of ``max_batch`` (in a worker thread if
    ``worker``); frames/s and objects found."""
    if not worker:
        return _loop(detector, frames)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bare") as executor:
        return executor.submit(_loop, detector, frames).result()


def _loop(detector: Detector, frames: FrameSet) -> dict[str, Any]:
    jpegs = [frame.jpeg for frame in frames.frames]
    objects = 0
    started_cpu, started = time.process_time(), time.perf_counter()  # the whole process's CPU
    for start in range(0, len(jpegs), detector.max_batch):
        images = [decode_full(jpeg) for jpeg in jpegs[start : start + detector.max_batch]]
        objects += sum(len(boxes) for boxes in detector.detect(images))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - started_cpu
    return {
        "frames": len(jpegs),
        "seconds": round(elapsed, 3),
        "frames_per_s": round(len(jpegs) / elapsed, 2),
        "objects": objects,
        "cpu_s": round(cpu, 2),
    }
