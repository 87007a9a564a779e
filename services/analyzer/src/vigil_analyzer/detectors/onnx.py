"""The ``onnx`` backend: YOLOv8 / YOLO11 models as ultralytics exports them, on onnxruntime.

The export format: one input ``[B, 3, H, W]`` float32 (or float16) RGB 0..1, letterboxed
(:mod:`.postprocess`); one output ``[B, 4 + C, anchors]``: per anchor ``cx, cy, w, h`` in
input pixels, then ``C`` class scores (no objectness). Read from the model itself:

- batch: a static ``B`` (ultralytics' default export, ``B = 1``) sets ``max_batch = B`` and a
  shorter batch is padded with blank frames; a dynamic one (``dynamic=True``) takes
  ``detector_max_batch``.
- input size: a static ``H = W`` wins over ``detector_input_size``; a dynamic one uses it.
- class names: the ``names`` metadata ultralytics writes (``{0: 'person', ...}``), else
  COCO-80 when ``C = 80``, else ``class0..``; a ``C`` that disagrees with ``names`` is an
  error at load time (e.g. an ``nms=True`` export, whose output is ``[B, 300, 6]``).

Execution providers: ``detector_device`` ``cpu`` → CPU; ``cuda`` → CUDA (an error when this
onnxruntime has none); ``auto`` → CUDA, else OpenVINO, where present, then CPU.
The model name in rows is the file's stem (``yolo11n``).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from vigil_analyzer.detectors.base import BoxDetection, DetectorError, Image
from vigil_analyzer.detectors.coco import COCO_NAMES
from vigil_analyzer.detectors.postprocess import (
    DetectOptions,
    class_filter,
    detect_in_chunks,
    letterbox_blob,
    select_boxes,
)

__all__ = ["OnnxDetector", "choose_providers", "class_names_for", "parse_names"]

AUTO_PROVIDERS = ("CUDAExecutionProvider", "OpenVINOExecutionProvider")


def choose_providers(device: str, available: Sequence[str]) -> list[str]:
    """onnxruntime providers for ``detector_device``, best first, CPU last."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise DetectorError(
                "detector_device=cuda but this onnxruntime has no CUDA provider "
                f"(it has {', '.join(available)}); install onnxruntime-gpu or use auto/cpu"
            )
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in AUTO_PROVIDERS if p in available] + ["CPUExecutionProvider"]


def parse_names(raw: str | None) -> tuple[str, ...] | None:
    """Class names from ultralytics' ``names`` metadata (a dict or list literal), if any."""
    if not raw:
        return None
    try:
        value: Any = ast.literal_eval(raw)
    except (ValueError, SyntaxError) as exc:
        raise DetectorError(f"the model's names metadata is not readable: {exc}") from exc
    if isinstance(value, dict):
        return tuple(str(value[k]) for k in sorted(value))
    return tuple(str(v) for v in value)


def class_names_for(raw: str | None, count: int) -> tuple[str, ...]:
    """The names of ``count`` classes: the metadata's (which must agree), else defaults."""
    names = parse_names(raw)
    if names is None:
        return COCO_NAMES if count == len(COCO_NAMES) else tuple(f"class{i}" for i in range(count))
    if len(names) != count:
        raise DetectorError(
            f"the model names {len(names)} classes but its output has {count} class "
            "scores; export it without nms= (output [B, 4 + classes, anchors])"
        )
    return names


def _dim(value: object) -> int | None:
    """A static dimension, or None for a dynamic one (a name or None)."""
    return value if isinstance(value, int) and value > 0 else None


class OnnxDetector:
    """An ultralytics-format YOLO ONNX model; see the module docstring."""

    backend = "onnx"

    def __init__(self, path: Path, options: DetectOptions | None = None) -> None:
        self.options = options or DetectOptions()
        if not path.is_file():
            raise DetectorError(f"ONNX model {path} does not exist (VIGIL_ANALYZER_MODEL)")
        providers = choose_providers(self.options.device, ort.get_available_providers())
        try:
            self._session = ort.InferenceSession(str(path), providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise DetectorError(f"onnxruntime cannot load {path}: {exc}") from exc
        inp = self._session.get_inputs()[0]
        out = self._session.get_outputs()[0]
        if len(inp.shape) != 4 or len(out.shape) != 3:
            raise DetectorError(
                f"{path}: input {inp.shape} / output {out.shape} is not the ultralytics "
                "export format [B, 3, S, S] → [B, 4 + classes, anchors]"
            )
        if _dim(inp.shape[1]) not in (None, 3):
            raise DetectorError(
                f"{path}: input {inp.shape} does not take 3 colour channels (RGB) "
                "as the ultralytics export [B, 3, S, S] does"
            )
        self._input, self._output = inp.name, out.name
        self._dtype = np.float16 if inp.type == "tensor(float16)" else np.float32
        self._static_batch = _dim(inp.shape[0])
        self.max_batch = self._static_batch or self.options.max_batch
        self.size = self._input_size(inp.shape[2], inp.shape[3], path)
        self.model = path.stem
        self.class_names: Sequence[str] = self._class_names(out.shape[1])
        self._keep = class_filter(self.class_names, self.options.classes)
        self.providers: list[str] = list(self._session.get_providers())

    def _input_size(self, height: object, width: object, path: Path) -> int:
        h, w = _dim(height), _dim(width)
        if h is None and w is None:
            return self.options.input_size
        if h != w:
            raise DetectorError(f"{path}: input {h}×{w} is not square; export with imgsz=S")
        assert h is not None
        return h

    def _class_names(self, channels: object) -> tuple[str, ...]:
        raw = self._session.get_modelmeta().custom_metadata_map.get("names")
        count = _dim(channels)
        if count is None:  # a dynamic channel dimension: run a blank frame to learn it
            count = self._probe_channels()
        if count <= 4:
            raise DetectorError(f"output has {count} channels; need 4 box + class scores")
        return class_names_for(raw, count - 4)

    def _probe_channels(self) -> int:
        batch = self._static_batch or 1
        blank = np.zeros((batch, 3, self.size, self.size), dtype=self._dtype)
        return int(self._session.run([self._output], {self._input: blank})[0].shape[1])

    def detect(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        """Boxes per frame, in input order; empty frames give no boxes."""
        return detect_in_chunks(images, self.max_batch, self._run)

    def _run(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        blob, geometry = letterbox_blob(images, self.size)
        if self._static_batch is not None and len(images) < self._static_batch:
            pad = np.zeros((self._static_batch - len(images), *blob.shape[1:]), blob.dtype)
            blob = np.concatenate([blob, pad])
        raw = self._session.run([self._output], {self._input: blob.astype(self._dtype)})[0]
        out = np.asarray(raw, dtype=np.float32)[: len(images)].transpose(0, 2, 1)
        return [
            select_boxes(rows[:, :4], rows[:, 4:], box, self.options, self.class_names, self._keep)
            for rows, box in zip(out, geometry, strict=True)
        ]
