"""The backends under test, loaded once per run and shared by the bare loop and the pipeline.

``darknet``: the pinned YOLOv3-tiny from ``make models`` (``VIGIL_MODELS_DIR`` or the
repository's ``models/``). ``onnx``: :mod:`bench.analyzer.onnx_model`'s random-weight model,
written to the run's folder. Both through :func:`vigil_analyzer.detectors.load_detector` at
the analyzer's default detector settings (416 px, batch 8, confidence 0.25), so the
benchmark measures what the service would load.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.analyzer.onnx_model import write_model
from vigil_analyzer.detectors import Detector, load_detector
from vigil_analyzer.model_files import default_models_dir
from vigil_analyzer.settings import AnalyzerSettings

BACKENDS = ("darknet", "onnx")


def models_dir() -> Path:
    """Where ``make models`` put the pinned files."""
    return Path(os.environ.get("VIGIL_MODELS_DIR") or default_models_dir())


def analyzer_settings(**overrides: Any) -> AnalyzerSettings:
    """The analyzer's settings with ``overrides`` (no env file; the environment still counts
    for what is not overridden, as in the service)."""
    return AnalyzerSettings(_env_file=None, **overrides)


def load_backend(backend: str, workdir: Path) -> tuple[Detector, dict[str, Any]]:
    """The loaded detector and what the results file says about its model."""
    if backend == "darknet":
        settings = analyzer_settings(detector_backend="darknet", models_dir=models_dir())
        detector = load_detector(settings)
        return detector, {"model": detector.model, "max_batch": detector.max_batch,
                          "input_size": settings.detector_input_size,
                          "weights": "pretrained (COCO)"}  # fmt: skip
    path = workdir / "bench-random-yolo.onnx"
    flops = write_model(path)
    settings = analyzer_settings(detector_backend="onnx", detector_device="cpu",
                                 VIGIL_ANALYZER_MODEL=str(path))  # by alias  # fmt: skip
    detector = load_detector(settings)
    return detector, {"model": detector.model, "max_batch": detector.max_batch,
                      "input_size": settings.detector_input_size,
                      "weights": "random (bench/analyzer/onnx_model.py)",
                      "gflops_per_frame": round(flops / 1e9, 2)}  # fmt: skip
