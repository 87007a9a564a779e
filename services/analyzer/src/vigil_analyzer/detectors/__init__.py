"""Detector backends, one module each; see :mod:`vigil_analyzer.detectors.base`.

:func:`load_detector` builds the backend ``settings.detector_backend`` names, importing only
that backend's module (``ultralytics`` pulls torch):

- ``darknet``: ``detector_model`` (a ``.weights`` with its ``.cfg`` beside it), default
  ``<models_dir>/darknet/yolov3-tiny.weights`` from ``make models``; class names from
  ``coco.names`` (or ``<stem>.names``) beside it.
- ``onnx``: ``detector_model`` (``VIGIL_ANALYZER_MODEL``), an ultralytics ``.onnx`` export.
- ``ultralytics``: ``detector_model``, a ``.pt`` file (or a model ``.yaml``).

A relative ``detector_model`` that does not exist from the working directory is looked up
under ``models_dir`` (default: the repository's ``models/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from vigil_analyzer.detectors.base import BoxDetection, Detector, DetectorError, Image
from vigil_analyzer.detectors.postprocess import DetectOptions
from vigil_analyzer.model_files import default_models_dir

if TYPE_CHECKING:
    from vigil_analyzer.settings import AnalyzerSettings

__all__ = [
    "BoxDetection",
    "DetectOptions",
    "Detector",
    "DetectorError",
    "Image",
    "detect_options",
    "load_detector",
]

DARKNET_DEFAULT = Path("darknet/yolov3-tiny.weights")


def detect_options(settings: AnalyzerSettings) -> DetectOptions:
    """The backends' options from the analyzer's ``detector_*`` settings."""
    return DetectOptions(
        confidence=settings.detector_confidence,
        nms_iou=settings.detector_nms_iou,
        input_size=settings.detector_input_size,
        max_batch=settings.detector_max_batch,
        classes=frozenset(settings.detector_classes),
        device=settings.detector_device,
    )


def _model_path(settings: AnalyzerSettings, models_dir: Path) -> Path:
    """``detector_model`` as given, or under ``models_dir`` when relative and not found."""
    path = settings.detector_model
    if path is None:
        if settings.detector_backend != "darknet":
            raise DetectorError(
                f"the {settings.detector_backend} backend needs a model file: "
                "set VIGIL_ANALYZER_MODEL (a .onnx export for onnx, a .pt file for ultralytics)"
            )
        return models_dir / DARKNET_DEFAULT
    if not path.is_absolute() and not path.exists() and (models_dir / path).exists():
        return models_dir / path
    return path


def _darknet_names(weights: Path) -> Path | None:
    for candidate in (weights.with_suffix(".names"), weights.parent / "coco.names"):
        if candidate.is_file():
            return candidate
    return None


def load_detector(settings: AnalyzerSettings) -> Detector:
    """The configured backend, loaded; :class:`DetectorError` with what to do otherwise."""
    models_dir = settings.models_dir or default_models_dir()
    path = _model_path(settings, models_dir)
    options = detect_options(settings)
    if settings.detector_backend == "darknet":
        from vigil_analyzer.detectors.darknet import DarknetDetector

        cfg = path.with_suffix(".cfg")
        return DarknetDetector(path, cfg, _darknet_names(path), options)
    if settings.detector_backend == "onnx":
        from vigil_analyzer.detectors.onnx import OnnxDetector

        return OnnxDetector(path, options)
    from vigil_analyzer.detectors.ultralytics import UltralyticsDetector

    return UltralyticsDetector(path, options)
