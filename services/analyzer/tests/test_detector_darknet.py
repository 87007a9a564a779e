"""The darknet backend on real photographs: accuracy, batching, odd frames, configuration."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from vigil_analyzer.detectors import DetectOptions, load_detector
from vigil_analyzer.detectors.base import BoxDetection, DetectorError, Image
from vigil_analyzer.detectors.darknet import DarknetDetector
from vigil_analyzer.model_files import DARKNET_CFG, DARKNET_NAMES, DARKNET_WEIGHTS
from vigil_analyzer.settings import AnalyzerSettings


def _classes(boxes: list[BoxDetection]) -> Counter[str]:
    return Counter(b.class_name for b in boxes)


def _assert_normalised(boxes: list[BoxDetection]) -> None:
    for b in boxes:
        assert min(b.x, b.y) >= 0, b
        assert min(b.w, b.h) > 0, b
        assert max(b.x + b.w, b.y + b.h) <= 1 + 1e-6, b


def _same(a: list[BoxDetection], b: list[BoxDetection]) -> None:
    assert [d.class_name for d in a] == [d.class_name for d in b]
    for x, y in zip(a, b, strict=True):
        assert x.confidence == pytest.approx(y.confidence, abs=1e-4)
        assert (x.x, x.y, x.w, x.h) == pytest.approx((y.x, y.y, y.w, y.h), abs=1e-4)


def test_bus_has_at_least_three_persons(darknet_detector: DarknetDetector, bus_jpg: Image):
    [boxes] = darknet_detector.detect([bus_jpg])
    persons = [b for b in boxes if b.class_name == "person"]
    assert len(persons) >= 3, boxes
    assert max(p.confidence for p in persons) > 0.9
    _assert_normalised(boxes)
    # the surest person stands at the left edge (x 0.06..0.26 of the 810 px width)
    best = max(persons, key=lambda p: p.confidence)
    assert best.center[0] < 0.3
    assert 0.4 < best.center[1] < 0.8


def test_dog_has_a_vehicle_a_bicycle_and_a_dog(darknet_detector: DarknetDetector, dog_jpg: Image):
    [boxes] = darknet_detector.detect([dog_jpg])
    found = _classes(boxes)
    assert found["car"] + found["truck"] >= 1, boxes
    assert found["bicycle"] >= 1, boxes
    assert found["dog"] >= 1, boxes
    _assert_normalised(boxes)
    by_class = {b.class_name: b for b in boxes}  # highest confidence first
    dog, bicycle = by_class["dog"], by_class["bicycle"]
    assert dog.center[0] < 0.45
    assert dog.center[1] > 0.5
    assert 0.35 < bicycle.center[0] < 0.65  # the middle
    vehicle = by_class.get("truck") or by_class["car"]
    assert vehicle.center[0] > 0.6
    assert vehicle.center[1] < 0.35
    assert [b.confidence for b in boxes] == sorted((b.confidence for b in boxes), reverse=True)


def test_a_batch_gives_the_boxes_of_single_calls(
    darknet_detector: DarknetDetector, bus_jpg: Image, dog_jpg: Image
):
    frames = [bus_jpg, dog_jpg, bus_jpg[:, ::-1].copy(), dog_jpg[100:500, 50:700].copy()] * 3
    assert len(frames) > darknet_detector.max_batch  # more than one chunk
    batched = darknet_detector.detect(frames)
    assert len(batched) == len(frames)
    for frame, boxes in zip(frames, batched, strict=True):
        _same(boxes, darknet_detector.detect([frame])[0])


def test_empty_and_odd_sized_frames(darknet_detector: DarknetDetector, bus_jpg: Image):
    frames = [
        np.zeros((0, 0, 3), np.uint8),
        bus_jpg,
        np.zeros((0, 640, 3), np.uint8),
        np.full((1, 1, 3), 200, np.uint8),
        np.full((1, 3001, 3), 90, np.uint8),
        np.full((2999, 3, 3), 90, np.uint8),
        np.ascontiguousarray(bus_jpg[::7, ::3]),  # 155×270, odd
    ]
    results = darknet_detector.detect(frames)
    assert len(results) == len(frames)
    assert results[0] == []
    assert results[2] == []
    _same(results[1], darknet_detector.detect([bus_jpg])[0])
    for boxes in results:
        _assert_normalised(boxes)
    assert darknet_detector.detect([]) == []


def test_a_non_frame_is_an_error(darknet_detector: DarknetDetector):
    with pytest.raises(DetectorError, match="H×W×3"):
        darknet_detector.detect([np.zeros((10, 10), np.uint8)])


def test_class_filter_and_threshold(models_dir: Path, dog_jpg: Image):
    files = (models_dir / f.relpath for f in (DARKNET_WEIGHTS, DARKNET_CFG, DARKNET_NAMES))
    weights, cfg, names = files
    dogs = DarknetDetector(weights, cfg, names, DetectOptions(classes=frozenset({"dog"})))
    [boxes] = dogs.detect([dog_jpg])
    assert boxes
    assert {b.class_name for b in boxes} == {"dog"}
    strict = DarknetDetector(weights, cfg, names, DetectOptions(confidence=0.9))
    assert all(b.confidence >= 0.9 for b in strict.detect([dog_jpg])[0])
    with pytest.raises(DetectorError, match="unicorn"):
        DarknetDetector(weights, cfg, names, DetectOptions(classes=frozenset({"unicorn"})))
    with pytest.raises(DetectorError, match="multiple of 32"):
        DarknetDetector(weights, cfg, names, DetectOptions(input_size=400))


def test_load_detector_defaults_to_yolov3_tiny(models_dir: Path):
    detector = load_detector(AnalyzerSettings(models_dir=models_dir))
    assert (detector.backend, detector.model) == ("darknet", "yolov3-tiny")
    assert len(detector.class_names) == 80
    assert detector.class_names[3] == "motorcycle"
    assert 1 <= detector.max_batch <= 8


def test_missing_weights_say_make_models(tmp_path: Path):
    with pytest.raises(DetectorError, match="make models"):
        load_detector(AnalyzerSettings(models_dir=tmp_path))
