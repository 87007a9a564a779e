"""The analyzer benchmark's pure parts: its frames, its random ONNX model, its summary.

No benchmark runs here (`make bench-analyzer` runs it); these check that what it measures
is what it says: moving frames of the pinned photographs, a model the onnx backend loads as
an ultralytics export, and ratios and the target computed from the runs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.analyzer.frames import build_frames
from bench.analyzer.onnx_model import write_model
from bench.analyzer.report import render, summarize
from vigil_analyzer.detectors.onnx import OnnxDetector
from vigil_analyzer.frames import decode_full
from vigil_analyzer.model_files import default_models_dir, missing_model_files

START = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def models_dir() -> Path:
    root = Path(os.environ.get("VIGIL_MODELS_DIR") or default_models_dir())
    if missing_model_files(root):
        pytest.fail(f"model files missing under {root}: run `make models`")
    return root


def test_frames_move_per_camera_and_come_in_time_order(models_dir: Path) -> None:
    frames = build_frames(models_dir, 3, 2, prefix="c", start=START, interval_s=0.2)
    assert [(f.camera_id, f.number) for f in frames.frames] == [
        ("c000", 0), ("c001", 0), ("c002", 0), ("c000", 1), ("c001", 1), ("c002", 1),
    ]  # fmt: skip
    assert frames.frames[3].ts - frames.frames[0].ts == timedelta(seconds=0.2)
    first, second = (decode_full(f.jpeg) for f in (frames.frames[0], frames.frames[3]))
    assert first.shape == (360, 640, 3)
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 5  # the window moved


def test_random_onnx_model_loads_as_an_ultralytics_export(tmp_path: Path) -> None:
    path = tmp_path / "random.onnx"
    flops = write_model(path, size=128)
    detector = OnnxDetector(path)
    assert (detector.size, len(detector.class_names), detector.class_names[0]) == (
        128, 80, "person",
    )  # fmt: skip
    assert detector.max_batch == 8  # dynamic batch: the analyzer's detector_max_batch
    blank = np.full((90, 160, 3), 127, np.uint8)
    assert len(detector.detect([blank, blank, blank])) == 3
    assert flops > 100_000_000  # 128 px: (128 / 416)² of the ~3.6 GFLOPs at 416


def _runs(rates: list[float], ok: bool = True) -> list[dict[str, Any]]:
    return [{"frames_per_s": rate, "ok": ok} for rate in rates]


def test_summary_ratio_is_of_the_fastest_runs_and_the_target_needs_every_run_verified() -> None:
    runs = {"bare": _runs([30, 20, 25]), "bare_worker": _runs([30, 29, 28]),
            "pipeline": _runs([27, 26, 10])}  # fmt: skip
    model = {"model": "yolov3-tiny", "weights": "pretrained"}
    results: dict[str, Any] = {"darknet": {"model": model, "cameras": {"8": runs}}}
    claude = {"measured": False, "reason": "no analyst"}
    summary = summarize(results, claude)
    row = summary["darknet"]["8"]
    assert (row["bare_frames_per_s"], row["pipeline_frames_per_s"]) == (30.0, 27.0)
    assert (row["median_bare_frames_per_s"], row["median_pipeline_frames_per_s"]) == (25, 26)
    assert row["pipeline_vs_bare"] == 0.9
    assert summary["targets"]["met"]
    results["darknet"]["cameras"]["8"]["pipeline"] = _runs([27, 28, 29], ok=False)
    assert not summarize(results, claude)["targets"]["met"]
    result = {"parameters": {"frame_size": "640x360", "jpeg_kib": 40, "frames_per_run": 192,
                             "repeat": 3}, "summary": summary, "results": results,
              "at": START.isoformat()}  # fmt: skip
    text = render(result, "bench/results/analyzer/x.json")
    assert "| 8 | 30.0 | 30.0 | 27.0 | 0.900 | 0.900 |" in text
    assert "not measured (no analyst)" in text
