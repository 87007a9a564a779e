"""The ``ultralytics`` backend: ``.pt`` weights (or a model ``.yaml``: random weights, for
tests) through the optional ``ultralytics`` package (extra ``vigil-analyzer[ultralytics]``).

The package is imported only when this backend is loaded; without it, loading raises
:class:`DetectorError` saying which extra to install. ``YOLO_OFFLINE=1`` is set before the
import, and the model must be an existing file: ultralytics downloads a bare model name
(``yolo11n.pt``) from the internet, which Vigil never lets it do. Frames go to
``YOLO.predict`` as one batch of at most ``max_batch``; its boxes (``xyxyn``) become
:class:`BoxDetection` s. ``detector_device``: ``auto`` lets ultralytics choose (CUDA when
torch sees a GPU), ``cpu`` / ``cuda`` pin it. The model name in rows is the file's stem.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vigil_analyzer.detectors.base import BoxDetection, DetectorError, Image
from vigil_analyzer.detectors.postprocess import DetectOptions, class_filter, detect_in_chunks

__all__ = ["UltralyticsDetector", "import_yolo"]

INSTALL_HINT = (
    "the ultralytics backend needs the optional extra: "
    "pip install 'vigil-analyzer[ultralytics]' (ultralytics-opencv-headless, torch, torchvision)"
)


def import_yolo() -> Any:
    """ultralytics' ``YOLO`` class, offline; DetectorError when the package is missing."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    try:
        from ultralytics import YOLO
    except ImportError as exc:
        raise DetectorError(f"{INSTALL_HINT} ({exc})") from exc
    return YOLO


class UltralyticsDetector:
    """A YOLO model run by the ultralytics package; see the module docstring."""

    backend = "ultralytics"

    def __init__(self, path: Path, options: DetectOptions | None = None) -> None:
        self.options = options or DetectOptions()
        if not path.is_file():
            raise DetectorError(
                f"ultralytics model {path} is not a file (VIGIL_ANALYZER_MODEL); a bare model "
                "name would make ultralytics download it, which Vigil does not allow"
            )
        yolo = import_yolo()
        try:
            self._model = yolo(str(path), task="detect")
        except Exception as exc:  # ultralytics raises many kinds on a bad file
            raise DetectorError(f"ultralytics cannot load {path}: {exc}") from exc
        names = self._model.names
        self.class_names: Sequence[str] = tuple(str(names[i]) for i in sorted(names))
        self.model = path.stem
        self.max_batch = self.options.max_batch
        keep = class_filter(self.class_names, self.options.classes)
        self._classes = sorted(keep) if keep is not None else None
        self._device = None if self.options.device == "auto" else self.options.device

    def detect(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        """Boxes per frame, in input order; empty frames give no boxes."""
        return detect_in_chunks(images, self.max_batch, self._run)

    def _run(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        predictions = self._model.predict(
            list(images),
            imgsz=self.options.input_size,
            conf=self.options.confidence,
            iou=self.options.nms_iou,
            classes=self._classes,
            device=self._device,
            batch=len(images),
            verbose=False,
        )
        return [self._boxes(p) for p in predictions]

    def _boxes(self, prediction: Any) -> list[BoxDetection]:
        boxes = prediction.boxes
        xyxyn = boxes.xyxyn.cpu().numpy().clip(0.0, 1.0)
        out = [
            BoxDetection(
                class_id=int(c),
                class_name=self.class_names[int(c)],
                confidence=float(s),
                x=float(b[0]),
                y=float(b[1]),
                w=float(b[2] - b[0]),
                h=float(b[3] - b[1]),
            )
            for b, c, s in zip(
                xyxyn, boxes.cls.cpu().numpy(), boxes.conf.cpu().numpy(), strict=True
            )
        ]
        return sorted(out, key=lambda d: -d.confidence)
