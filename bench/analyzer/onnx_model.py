"""A random-weight ONNX detector of the ultralytics export shape, with a small YOLO's compute.

No pretrained ONNX model can be downloaded here, so the benchmark builds one with onnx's
helper API: input ``images`` ``[B, 3, S, S]`` (dynamic batch, static ``S``), output
``[B, 4 + 80, anchors]`` as ultralytics exports YOLOv8/YOLO11 (``cx, cy, w, h`` in input
pixels, then 80 class scores), with ``names`` metadata. The body is a plain strided 3×3
convolution backbone (ReLU) with heads at strides 8, 16 and 32, so the anchors are those of
a YOLOv8 at the same size (3,549 at 416 px) and the cost is of the same order:
:func:`conv_flops` counts it (about 4 GFLOPs per frame at 416 px with :data:`STAGES`; a
YOLOv8n is 8.7 GFLOPs at 640 px, about 3.7 at 416). The weights are random (He-scaled, so
activations stay finite) and the class logits are biased down so that, as on a real scene,
only a few anchors pass the confidence threshold: the post-processing cost is that of a few
candidates, not of thousands. What it finds is meaningless; only its cost matters here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vigil_analyzer.detectors.coco import COCO_NAMES

STAGES: tuple[tuple[int, int], ...] = ((24, 1), (48, 2), (96, 3), (192, 3), (384, 2))
"""(channels, 3×3 convolutions) per stage; each stage's first convolution has stride 2."""
HEAD_STAGES = (2, 3, 4)
"""Stages whose output feeds a head: strides 8, 16, 32."""
CLASS_BIAS = -2.5
"""Added to the class logits so that few anchors pass a 0.25 confidence."""
OPSET = 17


class _Graph:
    def __init__(self, seed: int) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.flops = 0
        self._rng = np.random.default_rng(seed)
        self._n = 0

    def name(self, stem: str) -> str:
        self._n += 1
        return f"{stem}{self._n}"

    def const(self, array: np.ndarray) -> str:
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int, side: int,
             bias: float = 0.0, gain: float = 2.0) -> tuple[str, int]:  # fmt: skip
        """A k×k convolution; returns its output and side length."""
        std = np.sqrt(gain / (cin * k * k))
        w = self.const((self._rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32))
        b = self.const(np.full((cout,), bias, dtype=np.float32))
        out = self.name("conv")
        node = helper.make_node("Conv", [x, w, b], [out], kernel_shape=[k, k],
                                strides=[stride, stride], pads=[k // 2] * 4)  # fmt: skip
        self.nodes.append(node)
        side = -(-side // stride)
        self.flops += 2 * side * side * cin * cout * k * k
        return out, side

    def op(self, kind: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out


def _head(g: _Graph, x: str, cin: int, size: int) -> str:
    """``[B, 84, side²]``: sigmoid boxes scaled to input pixels, sigmoid class scores."""
    box, _ = g.conv(x, cin, 4, 1, 1, 1, gain=0.1)
    cls, _ = g.conv(x, cin, len(COCO_NAMES), 1, 1, 1, bias=CLASS_BIAS, gain=1.0)
    box = g.op("Mul", [g.op("Sigmoid", [box]), g.const(np.array(size, dtype=np.float32))])
    both = g.op("Concat", [box, g.op("Sigmoid", [cls])], axis=1)
    shape = g.const(np.array([0, 4 + len(COCO_NAMES), -1], dtype=np.int64))
    return g.op("Reshape", [both, shape])


def build_model(size: int = 416, seed: int = 0) -> tuple[onnx.ModelProto, int]:
    """The model and its multiply-add FLOPs per frame (2 per multiply-add)."""
    g = _Graph(seed)
    x, cin, side, heads = "images", 3, size, []
    for index, (channels, convs) in enumerate(STAGES):
        for layer in range(convs):
            x, side = g.conv(x, cin, channels, 3, 2 if layer == 0 else 1, side)
            x, cin = g.op("Relu", [x]), channels
        if index in HEAD_STAGES:
            heads.append(_head(g, x, cin, size))
    g.op("Concat", heads, axis=2)
    g.nodes[-1].output[0] = "output0"
    graph = helper.make_graph(
        g.nodes, "bench-random-yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 84, None])],
        initializer=g.inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    names = dict(enumerate(COCO_NAMES))
    helper.set_model_props(model, {"names": repr(names), "imgsz": f"[{size}, {size}]"})
    onnx.checker.check_model(model)
    return model, g.flops


def write_model(path: Path, size: int = 416) -> int:
    """Write the model to ``path``; its FLOPs per frame."""
    model, flops = build_model(size)
    onnx.save(model, str(path))
    return flops
