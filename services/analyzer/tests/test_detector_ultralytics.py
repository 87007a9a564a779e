"""The ultralytics backend: a randomly initialised YOLO11n built from ultralytics' own YAML.

The tests that run the model need the optional ``ultralytics`` package (extra
``vigil-analyzer[ultralytics]``: torch, several GB) and skip, saying so, without it. The
model is never fetched: ``YOLO_OFFLINE=1``, and the detector is given the package's
``yolo11.yaml`` copied as ``yolo11n.yaml`` (scale ``n`` from the name), never a bare model
name. A random model's boxes mean nothing, so these tests check the contract: shapes,
normalised boxes, thresholds, class filter, batch == single calls, empty frames.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from vigil_analyzer.detectors import DetectOptions, load_detector
from vigil_analyzer.detectors.base import BoxDetection, DetectorError, Image
from vigil_analyzer.detectors.ultralytics import UltralyticsDetector
from vigil_analyzer.settings import AnalyzerSettings

os.environ.setdefault("YOLO_OFFLINE", "1")
HAVE_ULTRALYTICS = importlib.util.find_spec("ultralytics") is not None
LOW = 0.001
"""A random model's class scores start near 0 (ultralytics' bias init): keep its boxes."""


@pytest.fixture(scope="module")
def yolo11n_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's YOLO11 model YAML as ``yolo11n.yaml`` (random weights when loaded)."""
    ultralytics = pytest.importorskip(
        "ultralytics", reason="the optional ultralytics extra (torch) is not installed"
    )
    source = Path(ultralytics.__file__).parent / "cfg" / "models" / "11" / "yolo11.yaml"
    assert source.is_file(), source
    return Path(shutil.copy(source, tmp_path_factory.mktemp("yolo") / "yolo11n.yaml"))


def _frames(bus_jpg: Image, dog_jpg: Image) -> list[Image]:
    return [bus_jpg, np.zeros((0, 0, 3), np.uint8), dog_jpg, np.ascontiguousarray(bus_jpg[::3])]


def _assert_boxes(boxes: list[BoxDetection], confidence: float) -> None:
    for b in boxes:
        assert min(b.x, b.y) >= 0, b
        assert min(b.w, b.h) >= 0, b
        assert max(b.x + b.w, b.y + b.h) <= 1 + 1e-6, b
        assert b.confidence >= confidence - 1e-6, b
    assert [b.confidence for b in boxes] == sorted((b.confidence for b in boxes), reverse=True)


def test_a_random_yolo11n_loads_with_its_classes(yolo11n_yaml: Path) -> None:
    detector = UltralyticsDetector(yolo11n_yaml, DetectOptions(device="cpu", max_batch=3))
    assert (detector.backend, detector.model, detector.max_batch) == ("ultralytics", "yolo11n", 3)
    assert len(detector.class_names) == 80


def test_boxes_are_normalised_filtered_and_sorted(
    yolo11n_yaml: Path, bus_jpg: Image, dog_jpg: Image
) -> None:
    detector = UltralyticsDetector(yolo11n_yaml, DetectOptions(device="cpu", confidence=LOW))
    frames = _frames(bus_jpg, dog_jpg)
    results = detector.detect(frames)
    assert len(results) == len(frames)
    assert results[1] == []
    for boxes in results:
        _assert_boxes(boxes, LOW)
    assert detector.detect([]) == []
    first = detector.class_names[0]
    only = UltralyticsDetector(
        yolo11n_yaml, DetectOptions(device="cpu", confidence=LOW, classes=frozenset({first}))
    )
    assert {b.class_name for boxes in only.detect(frames) for b in boxes} <= {first}
    with pytest.raises(DetectorError, match="unicorn"):
        UltralyticsDetector(yolo11n_yaml, DetectOptions(classes=frozenset({"unicorn"})))


def test_a_batch_gives_the_boxes_of_single_calls(
    yolo11n_yaml: Path, bus_jpg: Image, dog_jpg: Image
) -> None:
    detector = UltralyticsDetector(
        yolo11n_yaml, DetectOptions(device="cpu", confidence=LOW, max_batch=2)
    )
    frames = _frames(bus_jpg, dog_jpg)
    batched = detector.detect(frames)  # two chunks of two live frames
    for frame, many in zip(frames, batched, strict=True):
        [one] = detector.detect([frame])
        # the surest boxes: near the threshold, batch-size-dependent float noise may flip some
        for a, b in zip(one[:5], many[:5], strict=False):
            assert a.class_id == b.class_id
            assert a.confidence == pytest.approx(b.confidence, abs=1e-3)
            assert (a.x, a.y, a.w, a.h) == pytest.approx((b.x, b.y, b.w, b.h), abs=1e-3)


def test_load_detector_builds_the_ultralytics_backend(
    yolo11n_yaml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_ANALYZER_MODEL", str(yolo11n_yaml))
    settings = AnalyzerSettings(
        _env_file=None, detector_backend="ultralytics", detector_device="cpu"
    )
    detector = load_detector(settings)
    assert (detector.backend, detector.model) == ("ultralytics", "yolo11n")


def test_a_bare_model_name_is_refused_rather_than_downloaded(tmp_path: Path) -> None:
    with pytest.raises(DetectorError, match="download"):
        UltralyticsDetector(tmp_path / "yolo11n.pt")


@pytest.mark.skipif(HAVE_ULTRALYTICS, reason="ultralytics is installed here")
def test_without_the_package_loading_says_which_extra_to_install(tmp_path: Path) -> None:
    weights = tmp_path / "yolo11n.pt"
    weights.write_bytes(b"not used")
    with pytest.raises(DetectorError, match=r"vigil-analyzer\[ultralytics\]"):
        UltralyticsDetector(weights)
