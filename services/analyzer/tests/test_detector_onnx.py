"""The onnx backend on a built model with planted boxes (vigil_analyzer.testing).

Expected boxes are worked out by hand from the letterbox: a 1280×640 frame in a 640 input
is scaled by 0.5 and sits 160 px below the top; a 480×960 one is scaled by 2/3 and sits
160 px right of the left edge.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from vigil_analyzer.detectors import DetectOptions, load_detector
from vigil_analyzer.detectors.base import BoxDetection, DetectorError, Image
from vigil_analyzer.detectors.coco import COCO_NAMES
from vigil_analyzer.detectors.onnx import OnnxDetector, choose_providers
from vigil_analyzer.settings import AnalyzerSettings
from vigil_analyzer.testing import PlantedBox, build_yolo_onnx

WIDE = np.zeros((640, 1280, 3), np.uint8)
TALL = np.zeros((960, 480, 3), np.uint8)
MEAN_BOX = PlantedBox(320, 320, 64, 64, class_id=5)


def _xywh(box: BoxDetection) -> tuple[float, float, float, float]:
    return box.x, box.y, box.w, box.h


def _summary(boxes: list[BoxDetection]) -> list[tuple[str, float]]:
    return [(b.class_name, round(b.confidence, 4)) for b in boxes]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default person + car, and a bus scored by the frame's mean brightness."""
    path = tmp_path_factory.mktemp("onnx") / "planted.onnx"
    return build_yolo_onnx(path, mean_box=MEAN_BOX)


def test_the_model_says_its_batch_size_classes_and_names(tmp_path: Path, planted: Path) -> None:
    detector = OnnxDetector(planted, DetectOptions(input_size=320, max_batch=5, device="cpu"))
    assert (detector.backend, detector.model, detector.size) == ("onnx", "planted", 640)
    assert detector.max_batch == 5  # a dynamic batch axis takes detector_max_batch
    assert tuple(detector.class_names) == COCO_NAMES
    named = build_yolo_onnx(tmp_path / "named.onnx", classes=3, boxes=[PlantedBox(9, 9, 4, 4, 1)],
                            names={0: "cat", 1: "hat", 2: "bat"}, static_batch=2)  # fmt: skip
    detector = OnnxDetector(named)
    assert tuple(detector.class_names) == ("cat", "hat", "bat")
    assert detector.max_batch == 2  # a static batch wins
    unnamed = build_yolo_onnx(
        tmp_path / "unnamed.onnx", classes=2, boxes=[PlantedBox(9, 9, 4, 4, 1)]
    )
    assert tuple(OnnxDetector(unnamed).class_names) == ("class0", "class1")


def test_planted_boxes_come_back_in_frame_coordinates(planted: Path) -> None:
    detector = OnnxDetector(planted)
    wide, tall = detector.detect([WIDE, TALL])
    # the black frames' mean (half grey padding) is under 0.25: no bus
    assert _summary(wide) == _summary(tall) == [("person", 0.9), ("car", 0.8)]
    # person cx 160 cy 320 w 64 h 128; car cx 480 cy 320 w 192 h 96 (input pixels)
    assert _xywh(wide[0]) == pytest.approx((256 / 1280, 192 / 640, 128 / 1280, 256 / 640))
    assert _xywh(wide[1]) == pytest.approx((768 / 1280, 224 / 640, 384 / 1280, 192 / 640))
    assert _xywh(tall[0]) == pytest.approx((0.0, 384 / 960, 32 * 1.5 / 480, 192 / 960))
    # the car: x (384 - 160) * 1.5 = 336 px, 288 px wide, so clipped at the right edge
    assert _xywh(tall[1]) == pytest.approx((336 / 480, 408 / 960, 144 / 480, 144 / 960))


def test_the_mean_scored_box_follows_the_frame(planted: Path) -> None:
    [boxes] = OnnxDetector(planted).detect([np.full((640, 1280, 3), 255, np.uint8)])
    bus = next(b for b in boxes if b.class_name == "bus")
    padding = 114 / 255
    assert bus.confidence == pytest.approx((1 + padding) / 2, abs=1e-4)
    assert _xywh(bus) == pytest.approx((576 / 1280, 256 / 640, 128 / 1280, 128 / 640))
    assert [b.confidence for b in boxes] == sorted((b.confidence for b in boxes), reverse=True)


def test_a_box_wholly_in_the_padding_is_dropped(tmp_path: Path) -> None:
    boxes = [PlantedBox(320, 40, 64, 64, class_id=0), PlantedBox(320, 150, 64, 64, class_id=1)]
    detector = OnnxDetector(build_yolo_onnx(tmp_path / "pad.onnx", boxes=boxes))
    [[bicycle]] = detector.detect([WIDE])  # the frame spans input rows 160..480
    assert bicycle.class_name == "bicycle"
    assert _xywh(bicycle) == pytest.approx((576 / 1280, 0.0, 128 / 1280, 44 / 640))
    assert len(detector.detect([np.zeros((640, 640, 3), np.uint8)])[0]) == 2


def test_confidence_threshold_and_class_filter(planted: Path) -> None:
    assert _summary(OnnxDetector(planted, DetectOptions(confidence=0.85)).detect([WIDE])[0]) == [
        ("person", 0.9)
    ]
    cars = OnnxDetector(planted, DetectOptions(classes=frozenset({"car", "bus"})))
    assert _summary(cars.detect([WIDE])[0]) == [("car", 0.8)]
    with pytest.raises(DetectorError, match="unicorn"):
        OnnxDetector(planted, DetectOptions(classes=frozenset({"unicorn"})))


def test_nms_is_class_wise(tmp_path: Path) -> None:
    boxes = [
        PlantedBox(100, 100, 100, 100, class_id=0, score=0.9),
        PlantedBox(105, 100, 100, 100, class_id=0, score=0.7),  # IoU ~0.9 with the first
        PlantedBox(100, 105, 100, 100, class_id=16, score=0.6),  # same place, a dog
        PlantedBox(400, 400, 100, 100, class_id=0, score=0.5),  # apart
    ]
    path = build_yolo_onnx(tmp_path / "nms.onnx", boxes=boxes)
    square = np.zeros((640, 640, 3), np.uint8)
    found = OnnxDetector(path).detect([square])[0]
    assert _summary(found) == [("person", 0.9), ("dog", 0.6), ("person", 0.5)]
    loose = OnnxDetector(path, DetectOptions(nms_iou=0.95)).detect([square])[0]
    assert _summary(loose) == [("person", 0.9), ("person", 0.7), ("dog", 0.6), ("person", 0.5)]


def _frames() -> list[Image]:
    return [
        np.full((640, 1280, 3), 255, np.uint8),
        np.zeros((0, 0, 3), np.uint8),
        np.full((300, 200, 3), 128, np.uint8),
        TALL,
        np.full((1, 3001, 3), 250, np.uint8),
        np.full((480, 640, 3), 200, np.uint8),
        WIDE,
        np.full((200, 200, 3), 230, np.uint8),
    ]


@pytest.mark.parametrize("static_batch", [None, 2])
def test_a_batch_gives_the_boxes_of_single_calls(tmp_path: Path, static_batch: int | None) -> None:
    path = build_yolo_onnx(tmp_path / "b.onnx", mean_box=MEAN_BOX, static_batch=static_batch)
    detector = OnnxDetector(path, DetectOptions(max_batch=3))
    frames = _frames()
    batched = detector.detect(frames)  # 7 live frames: a short last chunk (padded when static)
    assert len(batched) == len(frames)
    assert batched[1] == []
    singles = [detector.detect([frame])[0] for frame in frames]
    for one, many in zip(singles, batched, strict=True):
        assert _summary(one) == _summary(many)
        for a, b in zip(one, many, strict=True):
            assert _xywh(a) == pytest.approx(_xywh(b), abs=1e-6)
    # the frames differ, so the bus (scored by each frame's mean) must differ too
    buses = {b.confidence for boxes in batched for b in boxes if b.class_name == "bus"}
    assert len(buses) >= 3
    assert detector.detect([]) == []


def test_dynamic_input_size_and_channels_are_learnt(tmp_path: Path) -> None:
    path = build_yolo_onnx(tmp_path / "dyn.onnx", classes=7, boxes=[PlantedBox(16, 16, 8, 8, 6)])
    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "height"
    model.graph.input[0].type.tensor_type.shape.dim[3].dim_param = "width"
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "channels"
    onnx.save(model, str(path))
    detector = OnnxDetector(path, DetectOptions(input_size=64))
    assert detector.size == 64
    assert len(detector.class_names) == 7
    [[box]] = detector.detect([np.zeros((64, 64, 3), np.uint8)])
    assert box.class_name == "class6"
    assert _xywh(box) == pytest.approx((0.1875, 0.1875, 0.125, 0.125))


def _reducing_model(path: Path, input_shape: list[int | str], axes: list[int], keep: int) -> Path:
    """images → ReduceMean(axes): a model whose output is not a YOLO head."""
    node = helper.make_node("ReduceMean", ["images"], ["out"], axes=axes, keepdims=keep)
    graph = helper.make_graph(
        [node], "wrong",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_wrong_shaped_models_fail_at_load_saying_why(tmp_path: Path) -> None:
    four_d = _reducing_model(tmp_path / "a.onnx", ["b", 3, 64, 64], [1], 1)
    with pytest.raises(DetectorError, match=r"not the ultralytics export format"):
        OnnxDetector(four_d)
    few = _reducing_model(tmp_path / "b.onnx", ["b", 3, 64, 64], [3], 0)  # [B, 3, 64]
    with pytest.raises(DetectorError, match="need 4 box"):
        OnnxDetector(few)
    grey = _reducing_model(tmp_path / "c.onnx", ["b", 1, 64, 64], [3], 0)
    with pytest.raises(DetectorError, match="3 colour channels"):
        OnnxDetector(grey)
    oblong = _reducing_model(tmp_path / "d.onnx", ["b", 3, 64, 96], [3], 0)
    with pytest.raises(DetectorError, match="not square"):
        OnnxDetector(oblong)
    # names of 80 classes but 2 scores: e.g. an nms=True export
    nms = build_yolo_onnx(tmp_path / "e.onnx", classes=2, boxes=[PlantedBox(9, 9, 4, 4, 1)],
                          names=dict(enumerate(COCO_NAMES)))  # fmt: skip
    with pytest.raises(DetectorError, match="without nms="):
        OnnxDetector(nms)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(DetectorError, match="onnxruntime cannot load"):
        OnnxDetector(tmp_path / "junk.onnx")
    with pytest.raises(DetectorError, match="does not exist"):
        OnnxDetector(tmp_path / "missing.onnx")


def test_providers_follow_detector_device(planted: Path) -> None:
    assert OnnxDetector(planted, DetectOptions(device="cpu")).providers == ["CPUExecutionProvider"]
    assert (
        OnnxDetector(planted, DetectOptions(device="auto")).providers[-1] == "CPUExecutionProvider"
    )
    assert choose_providers("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]
    assert choose_providers(
        "auto", ["CPUExecutionProvider", "OpenVINOExecutionProvider", "CUDAExecutionProvider"]
    ) == ["CUDAExecutionProvider", "OpenVINOExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("auto", ["AzureExecutionProvider", "CPUExecutionProvider"]) == [
        "CPUExecutionProvider"
    ]
    with pytest.raises(DetectorError, match="onnxruntime-gpu"):
        choose_providers("cuda", ["CPUExecutionProvider"])


def test_load_detector_finds_the_model_under_models_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_yolo_onnx(tmp_path / "onnx" / "tiny.onnx")
    monkeypatch.setenv("VIGIL_ANALYZER_MODEL", "onnx/tiny.onnx")
    settings = AnalyzerSettings(_env_file=None, models_dir=tmp_path, detector_backend="onnx",
                                detector_device="cpu")  # fmt: skip
    detector = load_detector(settings)
    assert (detector.backend, detector.model) == ("onnx", "tiny")
    monkeypatch.delenv("VIGIL_ANALYZER_MODEL")
    with pytest.raises(DetectorError, match="VIGIL_ANALYZER_MODEL"):
        load_detector(AnalyzerSettings(_env_file=None, detector_backend="onnx"))
