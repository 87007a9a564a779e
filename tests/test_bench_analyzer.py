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

from bench.analyzer.claude import Counts
from bench.analyzer.claude import delta as claude_delta
from bench.analyzer.claude import snapshot as claude_snapshot
from bench.analyzer.claude import summarize as claude_summary
from bench.analyzer.frames import build_frames
from bench.analyzer.onnx_model import write_model
from bench.analyzer.report import render, summarize
from bench.analyzer.scene import cameras as scene_cameras
from vigil_analyzer.claude import metrics as claude_metrics
from vigil_analyzer.detectors import load_detector
from vigil_analyzer.detectors.onnx import OnnxDetector
from vigil_analyzer.frames import decode_full
from vigil_analyzer.model_files import default_models_dir, missing_model_files
from vigil_analyzer.settings import AnalyzerSettings

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


LIMITS = {"camera_calls_per_minute": 2, "camera_calls_per_hour": 30, "calls_per_minute": 30,
          "calls_per_hour": 600, "daily_token_budget": 2_000_000}  # fmt: skip


def _claude_counts() -> Counts:
    return {
        "calls": {"direct/ok": 30.0, "direct/invalid": 2.0, "batch/ok": 8.0},
        "selected": {"new_track": 200.0, "scene_change": 20.0},
        "skipped": {"rate_limited": 180.0},
        "tokens": {
            "input": 20_000.0,
            "output": 4_000.0,
            "cache_read": 14_000.0,
            "cache_creation": 2_000.0,
        },
        "cost_usd": {"": 0.5},
    }


def test_claude_summary_is_per_camera_hour_of_simulated_time_beside_the_limits() -> None:
    rows = {"rows": 40, "errors": 2}
    summary = claude_summary(_claude_counts(), rows, cameras=4, span_s=1800, limits=LIMITS)
    hour = summary["per_camera_hour"]
    assert summary["camera_hours"] == 2.0
    assert (summary["calls"], hour["calls"]) == (40, 20.0)
    assert hour["calls_by_mode"] == {"batch": 4.0, "direct": 16.0}
    assert hour["selected_by_reason"] == {"new_track": 100.0, "scene_change": 10.0}
    assert hour["skipped_by_reason"] == {"rate_limited": 90.0}
    assert hour["tokens"]["cache_read"] == 7000.0
    assert hour["cost_usd"] == 0.25
    assert summary["tokens_per_call"] == 1000  # every billed token, cache included
    assert summary["budget_calls_per_camera_hour_bound"] == round(2000 / 24 / 4, 1)
    assert summary["steady_calls_per_camera_hour_bound"] == 30
    assert not summary["hour_window_full"]
    many = claude_summary(_claude_counts(), rows, cameras=40, span_s=3600, limits=LIMITS)
    assert many["steady_calls_per_camera_hour_bound"] == 15  # the global 600/h shared by 40
    assert many["hour_window_full"]
    assert not claude_summary({}, rows, cameras=4, span_s=0, limits=LIMITS)["measured"]


def test_claude_counts_are_what_the_analysts_counters_added() -> None:
    before = claude_snapshot()
    claude_metrics.CALLS.labels("batch", "ok").inc(3)
    claude_metrics.SKIPPED.labels("budget").inc()
    claude_metrics.COST.inc(0.25)
    added = claude_delta(before, claude_snapshot())
    assert added["calls"] == {"batch/ok": 3.0}
    assert added["skipped"] == {"budget": 1.0}
    assert added["cost_usd"] == {"": pytest.approx(0.25)}  # a delta of a running float sum
    assert added.get("selected", {}) == {}


def test_the_docs_block_shows_the_claude_scenario() -> None:
    summary = claude_summary(_claude_counts(), {"rows": 40, "errors": 2}, cameras=4,
                             span_s=1800, limits=LIMITS)  # fmt: skip
    summary["parameters"] = {"cameras": 4, "minutes": 30, "interval_s": 0.5,
                             "backend": "darknet", "model": "claude-sonnet-4-5"}  # fmt: skip
    result = {"parameters": {"frame_size": "640x360", "jpeg_kib": 40, "frames_per_run": 192,
                             "repeat": 1}, "results": {},
              "summary": {"targets": {"pipeline_vs_bare": 0.85, "lowest_ratio": None,
                                      "met": False}, "claude": summary},
              "at": START.isoformat()}  # fmt: skip
    text = render(result, "bench/results/analyzer/x.json")
    assert "| 20 | batch 4, direct 16 | new_track 100, scene_change 10 | rate_limited 90 |" in text
    assert "10,000 / 7,000 / 1,000 | 2,000 | 0.2500 |" in text
    assert "bound calls at 30 per camera-hour" in text
    assert "shorter than the hour's window" in text


def test_camsim_scenes_are_drawn_with_people_the_darknet_backend_finds(models_dir: Path) -> None:
    camera = scene_cameras(models_dir, 1, prefix="s", size=(640, 360), interval_s=0.5)[0]
    settings = AnalyzerSettings(_env_file=None, detector_backend="darknet",
                                models_dir=models_dir)  # fmt: skip
    detector = load_detector(settings)
    found = drawn = 0
    for number in range(240):
        frame = camera.render(START + timedelta(seconds=number / 2), number)
        people = [t for t in camera.scene._tracks
                  if t.class_name == "person" and t.x >= 0 and t.x + t.w <= 640]  # fmt: skip
        if not people or number % 4:
            continue
        drawn += 1
        boxes = detector.detect([frame])[0]
        found += any(b.class_name == "person" for b in boxes)
    assert camera.shown["person"] >= 3
    assert drawn >= 5
    assert found >= drawn * 0.6
