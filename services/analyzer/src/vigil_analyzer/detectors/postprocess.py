"""What the YOLO backends share: options, letterboxed input blobs, decoding, NMS, un-mapping.

- :func:`letterbox_blob` scales each frame to fit ``size×size`` keeping its aspect ratio,
  centres it on grey (114) padding, and makes one NCHW float32 RGB 0..1 blob
  (``cv2.dnn.blobFromImages``). The letterbox itself is written here rather than taken from
  ``cv2.dnn.blobFromImagesWithParams(DNN_PMODE_LETTERBOX)``: OpenCV truncates a thin frame's
  short side to 0 rows and fails, and its ``blobRectsToImageRects`` rounds boxes to whole
  pixels; here each side is at least one pixel and :class:`Letterbox` keeps the exact
  per-axis scale that maps boxes back.
- :func:`select_boxes` turns one frame's candidates (``cx, cy, w, h`` in input pixels plus
  per-class scores) into :class:`BoxDetection` s: best class per candidate, confidence
  filter, class filter (applied to the best class, as ultralytics does), class-wise NMS
  (``cv2.dnn.NMSBoxesBatched``), then un-mapping to the frame, normalised and clipped to
  ``[0, 1]``, sorted by confidence (highest first); a box wholly in the letterbox padding
  (nothing of it left on the frame after clipping) is dropped.
- :func:`usable` says whether a frame can be run at all (an empty array cannot);
  :func:`detect_in_chunks` runs the usable frames in chunks of a backend's batch size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from vigil_analyzer.detectors.base import BoxDetection, DetectorError, Image

__all__ = [
    "PAD_VALUE",
    "DetectOptions",
    "Letterbox",
    "class_filter",
    "detect_in_chunks",
    "letterbox_blob",
    "select_boxes",
    "usable",
]

PAD_VALUE = 114
"""Letterbox padding grey (ultralytics' value)."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class DetectOptions:
    """The knobs every backend takes (from :class:`AnalyzerSettings`' ``detector_*``)."""

    confidence: float = 0.25
    nms_iou: float = 0.45
    input_size: int = 416
    max_batch: int = 8
    classes: frozenset[str] = field(default_factory=frozenset)
    """Only these class names are kept (empty: all)."""
    device: Literal["cpu", "cuda", "auto"] = "auto"


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How one frame was placed in the square input: ``input = frame * scale + offset``."""

    width: int
    height: int
    scale_x: float
    scale_y: float
    left: int
    top: int

    @classmethod
    def fit(cls, width: int, height: int, size: int) -> Letterbox:
        """Fit a ``width×height`` frame into ``size×size``, centred."""
        ratio = min(size / width, size / height)
        new_w = min(size, max(1, round(width * ratio)))
        new_h = min(size, max(1, round(height * ratio)))
        return cls(
            width=width,
            height=height,
            scale_x=new_w / width,
            scale_y=new_h / height,
            left=(size - new_w) // 2,
            top=(size - new_h) // 2,
        )

    @property
    def new_size(self) -> tuple[int, int]:
        """The resized frame's ``(width, height)`` inside the input."""
        return round(self.width * self.scale_x), round(self.height * self.scale_y)


def usable(image: Image) -> bool:
    """True for a non-empty ``H×W×3`` frame; False for an empty one (no inference, no boxes).

    Raises :class:`DetectorError` for an array that is not a frame at all."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise DetectorError(f"a frame must be H×W×3 BGR uint8, got shape {image.shape}")
    return bool(image.shape[0] > 0 and image.shape[1] > 0)


def detect_in_chunks(
    images: Sequence[Image],
    max_batch: int,
    run: Callable[[Sequence[Image]], list[list[BoxDetection]]],
) -> list[list[BoxDetection]]:
    """Boxes per frame, in input order: ``run`` on the usable frames, ``max_batch`` at a
    time; unusable (empty) frames give no boxes."""
    results: list[list[BoxDetection]] = [[] for _ in images]
    live = [i for i, image in enumerate(images) if usable(image)]
    for start in range(0, len(live), max_batch):
        chunk = live[start : start + max_batch]
        for i, boxes in zip(chunk, run([images[i] for i in chunk]), strict=True):
            results[i] = boxes
    return results


def _place(image: Image, box: Letterbox, size: int) -> Image:
    """The frame resized and padded onto a ``size×size`` grey canvas."""
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    new_w, new_h = box.new_size
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas[box.top : box.top + new_h, box.left : box.left + new_w] = resized
    return canvas


def letterbox_blob(images: Sequence[Image], size: int) -> tuple[FloatArray, list[Letterbox]]:
    """One ``[len(images), 3, size, size]`` float32 RGB 0..1 blob and each frame's geometry."""
    boxes = [Letterbox.fit(img.shape[1], img.shape[0], size) for img in images]
    canvases = [_place(img, box, size) for img, box in zip(images, boxes, strict=True)]
    blob = cv2.dnn.blobFromImages(canvases, scalefactor=1 / 255.0, swapRB=True, crop=False)
    return np.asarray(blob, dtype=np.float32), boxes


def class_filter(class_names: Sequence[str], wanted: frozenset[str]) -> frozenset[int] | None:
    """Class ids for the wanted names (None: keep all); unknown names raise DetectorError."""
    if not wanted:
        return None
    unknown = sorted(wanted - set(class_names))
    if unknown:
        raise DetectorError(
            f"detector_classes {unknown} are not classes of this model "
            f"(it knows {', '.join(class_names)})"
        )
    return frozenset(i for i, name in enumerate(class_names) if name in wanted)


def _unmap(xywh: FloatArray, box: Letterbox) -> FloatArray:
    """Top-left ``x, y, w, h`` in input pixels → normalised to the frame, clipped to it."""
    x0 = (xywh[:, 0] - box.left) / box.scale_x / box.width
    y0 = (xywh[:, 1] - box.top) / box.scale_y / box.height
    x1 = x0 + xywh[:, 2] / box.scale_x / box.width
    y1 = y0 + xywh[:, 3] / box.scale_y / box.height
    x0, y0, x1, y1 = (np.clip(v, 0.0, 1.0) for v in (x0, y0, x1, y1))
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.float32)


def select_boxes(
    cxcywh: FloatArray,
    scores: FloatArray,
    box: Letterbox,
    options: DetectOptions,
    class_names: Sequence[str],
    keep: frozenset[int] | None,
) -> list[BoxDetection]:
    """One frame's detections from ``N×4`` centre boxes (input pixels) and ``N×C`` scores."""
    if scores.shape[0] == 0:
        return []
    class_ids = scores.argmax(axis=1)
    confidences = scores[np.arange(scores.shape[0]), class_ids]
    mask = confidences >= options.confidence
    if keep is not None:
        mask &= np.isin(class_ids, list(keep))
    if not mask.any():
        return []
    centre, ids, confs = cxcywh[mask], class_ids[mask], confidences[mask]
    xywh = np.concatenate([centre[:, :2] - centre[:, 2:] / 2, centre[:, 2:]], axis=1)
    picked = cv2.dnn.NMSBoxesBatched(
        xywh.tolist(),
        confs.tolist(),
        ids.tolist(),
        options.confidence,
        options.nms_iou,
    )
    order = sorted(np.asarray(picked, dtype=np.int64).reshape(-1), key=lambda i: -confs[i])
    normalised = _unmap(xywh[order].astype(np.float32), box)
    inside = [(i, n) for i, n in zip(order, normalised, strict=True) if n[2] > 0 and n[3] > 0]
    return [
        BoxDetection(
            class_id=int(ids[i]),
            class_name=class_names[int(ids[i])],
            confidence=float(confs[i]),
            x=float(n[0]),
            y=float(n[1]),
            w=float(n[2]),
            h=float(n[3]),
        )
        for i, n in inside
    ]
