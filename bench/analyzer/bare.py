"""The bare backend loop: what the detector alone does with the same frames.

For each run of ``max_batch`` frames in publishing order: decode each JPEG in full colour
(:func:`vigil_analyzer.frames.decode_full`, as the pipeline's worker does) and call
``detector.detect`` on the batch. Nothing else: no stream, no gating, no tracking, no rows.
Its frames per second is the ceiling the pipeline is compared with.
"""

from __future__ import annotations

import time
from typing import Any

from bench.analyzer.frames import FrameSet
from vigil_analyzer.detectors import Detector
from vigil_analyzer.frames import decode_full


def warm_up(detector: Detector, frames: FrameSet) -> None:
    """One batch through the detector, so neither measurement pays first-call costs."""
    batch = frames.frames[: detector.max_batch]
    detector.detect([decode_full(frame.jpeg) for frame in batch])


def run_bare(detector: Detector, frames: FrameSet) -> dict[str, Any]:
    """Decode + detect every frame in batches of ``max_batch``; frames/s and objects found."""
    jpegs = [frame.jpeg for frame in frames.frames]
    objects = 0
    started_cpu, started = time.process_time(), time.perf_counter()
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
