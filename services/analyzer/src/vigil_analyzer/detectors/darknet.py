"""The ``darknet`` backend: YOLOv3-tiny (or any Darknet YOLO ``.cfg`` + ``.weights``) on
OpenCV's DNN module, on the CPU.

Frames are letterboxed to ``input_size`` (a multiple of 32; :mod:`.postprocess`) and run as
one ``[B, 3, S, S]`` blob per :meth:`DarknetDetector.detect` chunk of at most ``max_batch``
frames. OpenCV's YOLO layers give, per candidate, ``cx, cy, w, h`` relative to the input
square, an objectness, and class scores already multiplied by it; scores below the
layer's own floor (about 0.2: OpenCV zeroes them) never reach the confidence filter.

Letterbox, not a plain resize: measured on the pinned YOLOv3-tiny at 416 px, letterboxing
finds on bus.jpg 4 persons (0.97–0.37) and the bus (0.33) where a resize finds 3 persons
(0.98–0.70) and no bus; on dog.jpg a bicycle at 0.59 (resize: 0.38), a car, a truck, a dog.

Class names come from ``coco.names`` beside the weights (or the cfg's ``classes`` count);
an 80-class COCO list is reported in ultralytics' spelling (:mod:`.coco`) so rows read the
same whichever backend runs. ``max_batch``: OpenCV batches Darknet nets, but on this CPU
a batch is barely faster per frame than single frames (numbers in ``DARKNET_MAX_BATCH``'s
comment), so the backend caps it there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from vigil_analyzer.detectors.base import BoxDetection, DetectorError, Image
from vigil_analyzer.detectors.coco import COCO_NAMES
from vigil_analyzer.detectors.postprocess import (
    DetectOptions,
    class_filter,
    detect_in_chunks,
    letterbox_blob,
    select_boxes,
)

__all__ = ["DARKNET_MAX_BATCH", "DarknetDetector", "read_class_names"]

DARKNET_MAX_BATCH = 8
"""Most frames per forward pass (OpenCV's DNN gains little from larger batches on a CPU)."""


def read_class_names(names_file: Path | None, cfg: Path) -> tuple[str, ...]:
    """Class names from a ``.names`` file, else generic names for the cfg's class count."""
    if names_file is not None and names_file.is_file():
        names = tuple(line.strip() for line in names_file.read_text().splitlines() if line.strip())
    else:
        counts = re.findall(r"^\s*classes\s*=\s*(\d+)", cfg.read_text(), flags=re.MULTILINE)
        if not counts:
            raise DetectorError(f"{cfg} names no classes= and there is no .names file beside it")
        names = tuple(f"class{i}" for i in range(int(counts[-1])))
    return COCO_NAMES if len(names) == len(COCO_NAMES) else names


class DarknetDetector:
    """A Darknet YOLO model run by ``cv2.dnn``; see the module docstring."""

    backend = "darknet"

    def __init__(
        self,
        weights: Path,
        cfg: Path,
        names_file: Path | None = None,
        options: DetectOptions | None = None,
    ) -> None:
        self.options = options or DetectOptions()
        if self.options.input_size % 32:
            raise DetectorError(
                f"detector_input_size {self.options.input_size} must be a multiple of 32"
            )
        if self.options.device == "cuda":
            raise DetectorError(
                "the darknet backend runs on the CPU (pip's OpenCV has no CUDA); "
                "use detector_device=auto or cpu, or the onnx backend for a GPU"
            )
        for path in (weights, cfg):
            if not path.is_file():
                raise DetectorError(f"{path} does not exist: run `make models`")
        try:
            self._net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
        except cv2.error as exc:
            raise DetectorError(f"OpenCV cannot read {cfg} + {weights}: {exc}") from exc
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        self._outputs = self._net.getUnconnectedOutLayersNames()
        self.model = weights.stem
        self.class_names: Sequence[str] = read_class_names(names_file, cfg)
        self.max_batch = max(1, min(self.options.max_batch, DARKNET_MAX_BATCH))
        self._keep = class_filter(self.class_names, self.options.classes)

    def detect(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        """Boxes per frame, in input order; empty frames give no boxes."""
        return detect_in_chunks(images, self.max_batch, self._run)

    def _run(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        size = self.options.input_size
        blob, geometry = letterbox_blob(images, size)
        self._net.setInput(blob)
        outs = [np.asarray(o, dtype=np.float32) for o in self._net.forward(self._outputs)]
        # one frame: [rows, 5 + C] per YOLO layer; a batch: [B, rows, 5 + C]
        per_frame = np.concatenate([o.reshape(len(images), -1, o.shape[-1]) for o in outs], 1)
        return [
            select_boxes(
                rows[:, :4] * size, rows[:, 5:], box, self.options, self.class_names, self._keep
            )
            for rows, box in zip(per_frame, geometry, strict=True)
        ]
