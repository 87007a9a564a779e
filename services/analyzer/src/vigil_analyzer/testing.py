"""Test helpers: a tiny ONNX "YOLO" whose detections are known in advance.

:func:`build_yolo_onnx` writes a model in ultralytics' export format (input ``[B, 3, S, S]``
float32, output ``[B, 4 + classes, anchors]``, per anchor ``cx, cy, w, h`` in input pixels
then the class scores) built with ``onnx.helper`` (``onnx`` is the analyzer's ``test``
extra, imported only here). Its output ignores the picture except in two ways:

- every frame gets the same :class:`PlantedBox` es (one anchor each), the ``boxes`` given;
- with ``mean_box``, one more anchor whose class score is the mean of the frame's
  letterboxed input blob (RGB 0..1, grey 114/255 padding included), so a batch whose frames
  differ must give each frame its own result (a white frame scores high, a black one low).

The batch axis is dynamic (named ``batch``) unless ``static_batch`` is given. ``names``
writes ultralytics' ``names`` metadata (``{0: 'person', ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["BUS_MEAN_CAR", "BUS_PLANTED", "DEFAULT_BOXES", "PlantedBox", "build_yolo_onnx"]

OPSET = 17


@dataclass(frozen=True, slots=True)
class PlantedBox:
    """One anchor of the fake model: a centre box in input pixels, its class and score."""

    cx: float
    cy: float
    w: float
    h: float
    class_id: int
    score: float = 0.9


DEFAULT_BOXES = (
    PlantedBox(160, 320, 64, 128, class_id=0, score=0.9),  # a person, left of centre
    PlantedBox(480, 320, 192, 96, class_id=2, score=0.8),  # a car, right of centre
)
"""Two boxes for a 640 px input: a person on the left half, a car on the right half."""

BUS_PLANTED = (
    PlantedBox(150, 320, 60, 200, class_id=0, score=0.92),
    PlantedBox(250, 330, 60, 200, class_id=0, score=0.88),
    PlantedBox(450, 330, 60, 200, class_id=0, score=0.85),
    PlantedBox(340, 250, 400, 200, class_id=5, score=0.8),
)
"""Input pixels (640): bus.jpg (810×1080) spans x 80..560 there, scaled by 640/1080. So the
persons' centres fall at x 0.146, 0.354 (left half) and 0.771 (right half) of the frame,
the bus's at 0.542."""
BUS_MEAN_CAR = PlantedBox(320, 560, 100, 60, class_id=2)
"""Plus a car scored by the frame's mean brightness: each frame of a batch has its own."""


def _columns(boxes: Sequence[PlantedBox], classes: int) -> npt.NDArray[np.float32]:
    """``[1, 4 + classes, len(boxes)]``: each box's coordinates, then a one-hot score."""
    out = np.zeros((1, 4 + classes, len(boxes)), dtype=np.float32)
    for k, b in enumerate(boxes):
        if not 0 <= b.class_id < classes:
            raise ValueError(f"class_id {b.class_id} outside 0..{classes - 1}")
        out[0, :4, k] = (b.cx, b.cy, b.w, b.h)
        out[0, 4 + b.class_id, k] = b.score
    return out


def _nodes(classes: int, mean_box: PlantedBox | None) -> tuple[list[onnx.NodeProto], list[str]]:
    """The graph: planted columns broadcast over the batch, plus the mean-scored column."""
    nodes = [
        # in two steps: one float32 sum over a whole frame drifts by ~1e-3
        helper.make_node("ReduceMean", ["images"], ["rows"], axes=[3], keepdims=1),
        helper.make_node("ReduceMean", ["rows"], ["mean4"], axes=[1, 2], keepdims=1),
        helper.make_node("Reshape", ["mean4", "col_shape"], ["mean"]),  # [B, 1, 1]
        helper.make_node("Mul", ["mean", "zero"], ["zeros"]),
        helper.make_node("Add", ["zeros", "planted"], ["fixed"]),  # [B, 4 + C, K]
    ]
    parts = ["fixed"]
    if mean_box is not None:
        nodes += [
            helper.make_node("Mul", ["mean", "onehot"], ["mean_scores"]),
            helper.make_node("Add", ["mean_scores", "mean_coords"], ["dynamic"]),
        ]
        parts.append("dynamic")
    return nodes, parts


def _initializers(
    boxes: Sequence[PlantedBox], classes: int, mean_box: PlantedBox | None
) -> list[onnx.TensorProto]:
    tensors: dict[str, npt.NDArray[np.generic]] = {
        "col_shape": np.array([-1, 1, 1], dtype=np.int64),
        "zero": np.zeros((1, 1, 1), dtype=np.float32),
        "planted": _columns(boxes, classes),
    }
    if mean_box is not None:
        coords = _columns([mean_box], classes)
        onehot = np.zeros_like(coords)
        onehot[0, 4 + mean_box.class_id, 0] = 1.0
        coords[0, 4:, 0] = 0.0
        tensors |= {"onehot": onehot, "mean_coords": coords}
    return [numpy_helper.from_array(v, name=k) for k, v in tensors.items()]


def build_yolo_onnx(
    path: Path,
    *,
    classes: int = 80,
    input_size: int = 640,
    boxes: Sequence[PlantedBox] = DEFAULT_BOXES,
    mean_box: PlantedBox | None = None,
    static_batch: int | None = None,
    names: Mapping[int, str] | None = None,
) -> Path:
    """Write the fake model to ``path`` (checked by ``onnx.checker``) and return ``path``."""
    if not boxes and mean_box is None:
        raise ValueError("the model needs at least one anchor")
    nodes, parts = _nodes(classes, mean_box)
    anchors = len(boxes) + (mean_box is not None)
    nodes.append(helper.make_node("Concat", parts, ["output0"], axis=2))
    batch: int | str = static_batch or "batch"
    graph = helper.make_graph(
        nodes,
        "planted_yolo",
        [
            helper.make_tensor_value_info(
                "images", TensorProto.FLOAT, [batch, 3, input_size, input_size]
            )
        ],
        [
            helper.make_tensor_value_info(
                "output0", TensorProto.FLOAT, [batch, 4 + classes, anchors]
            )
        ],
        initializer=_initializers(boxes, classes, mean_box),
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    if names is not None:
        helper.set_model_props(model, {"names": repr(dict(names))})
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
