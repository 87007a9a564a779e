"""The detector interface every backend implements (one module per backend in this folder).

A backend turns decoded frames (BGR ``uint8`` arrays, ``H×W×3``, as ``cv2.imdecode`` gives)
into boxes. Boxes are **normalised** to the frame (``0 ≤ x, y, w, h ≤ 1``, origin top-left,
``x, y`` the top-left corner), the convention of ``DetectedObject.bbox`` and of zone
polygons, so zones and heatmaps never depend on the resolution. ``detect`` takes a batch:
backends that gain from batching (``max_batch > 1``) run it as one inference call; the
others loop. A backend is synchronous and not thread-safe; the pipeline runs it in one
worker thread. Errors in loading raise :class:`DetectorError` with a message an operator can
act on (missing file, wrong shape, missing optional package).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""A decoded frame: BGR, ``H×W×3``, ``uint8``."""


class DetectorError(RuntimeError):
    """A backend cannot be loaded or run as configured."""


@dataclass(frozen=True, slots=True)
class BoxDetection:
    """One object found by a detector, its box normalised to the frame."""

    class_id: int
    class_name: str
    confidence: float
    x: float
    y: float
    w: float
    h: float

    @property
    def center(self) -> tuple[float, float]:
        """The box centre, normalised (what zones test)."""
        return self.x + self.w / 2, self.y + self.h / 2


class Detector(Protocol):
    """What the pipeline needs from a backend."""

    backend: str
    """Backend name: ``darknet``, ``onnx``, ``ultralytics``."""
    model: str
    """Model name and version stored in ``detections.model``, e.g. ``yolov3-tiny``."""
    max_batch: int
    """Most frames per :meth:`detect` call that run as one inference (1: no gain)."""
    class_names: Sequence[str]

    def detect(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        """Boxes per image, in input order, after confidence filtering and NMS."""
        ...
