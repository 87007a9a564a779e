"""Fixtures of the analyzer's tests: the pinned model files and test photographs.

``models_dir`` (session) is ``$VIGIL_MODELS_DIR`` or the repository's ``models/`` and fails
the test, saying to run ``make models``, when a pinned file is missing or wrong (they are
git-ignored: ``make venv`` / ``make test`` fetch them). ``bus_jpg`` / ``dog_jpg`` are the
decoded photographs (BGR); ``darknet_detector`` is YOLOv3-tiny with the default settings,
loaded once per session; ``planted_onnx_detector`` is the onnx backend on a built model
(:mod:`vigil_analyzer.testing`) whose boxes on ``bus.jpg`` are ``BUS_PLANTED`` there.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from vigil_analyzer.detectors.base import Image
from vigil_analyzer.detectors.darknet import DarknetDetector
from vigil_analyzer.detectors.onnx import OnnxDetector
from vigil_analyzer.detectors.postprocess import DetectOptions
from vigil_analyzer.model_files import (
    BUS_JPG,
    DARKNET_CFG,
    DARKNET_NAMES,
    DARKNET_WEIGHTS,
    DOG_JPG,
    default_models_dir,
    missing_model_files,
)
from vigil_analyzer.testing import BUS_MEAN_CAR, BUS_PLANTED, build_yolo_onnx


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Where ``make models`` put the weights and photographs, all verified."""
    root = Path(os.environ.get("VIGIL_MODELS_DIR") or default_models_dir())
    missing = missing_model_files(root)
    if missing:
        names = ", ".join(f.relpath for f in missing)
        pytest.fail(f"model files missing or wrong under {root} ({names}): run `make models`")
    return root


def _read(path: Path) -> Image:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.asarray(image, dtype=np.uint8)


@pytest.fixture(scope="session")
def bus_jpg(models_dir: Path) -> Image:
    """ultralytics' bus.jpg (810×1080): persons and a bus."""
    return _read(models_dir / BUS_JPG.relpath)


@pytest.fixture(scope="session")
def dog_jpg(models_dir: Path) -> Image:
    """darknet's dog.jpg (768×576): a bicycle, a dog, a truck/car."""
    return _read(models_dir / DOG_JPG.relpath)


@pytest.fixture(scope="session")
def darknet_detector(models_dir: Path) -> DarknetDetector:
    """YOLOv3-tiny at the default options (confidence 0.25, NMS 0.45, 416 px, batch 8)."""
    return DarknetDetector(
        models_dir / DARKNET_WEIGHTS.relpath,
        models_dir / DARKNET_CFG.relpath,
        models_dir / DARKNET_NAMES.relpath,
    )


@pytest.fixture(scope="session")
def planted_onnx_detector(tmp_path_factory: pytest.TempPathFactory) -> OnnxDetector:
    """The onnx backend (CPU) on a 640 px model with :data:`BUS_PLANTED` and the mean car."""
    path = tmp_path_factory.mktemp("models") / "planted.onnx"
    build_yolo_onnx(path, boxes=BUS_PLANTED, mean_box=BUS_MEAN_CAR)
    return OnnxDetector(path, DetectOptions(device="cpu"))
