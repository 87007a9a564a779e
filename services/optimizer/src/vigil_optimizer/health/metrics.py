"""Picture-quality measurements of one decoded snapshot, with OpenCV and numpy.

:func:`decode_image` turns JPEG (or any image OpenCV reads) bytes into a BGR array, raising
:class:`ValueError` for bytes that are no image. :func:`measure` computes on the grey image
(``cv2.COLOR_BGR2GRAY``, 0–255) and returns :class:`Measurements`:

* ``mean_brightness``: mean grey level, 0–255;
* ``dark_share`` / ``bright_share``: the share of pixels ≤ 5 (crushed shadows) and ≥ 250
  (blown highlights), 0–1;
* ``noise_sigma``: the standard deviation of the sensor noise in grey levels, by J. Immerkær,
  "Fast Noise Variance Estimation", Computer Vision and Image Understanding 64(2):300–302,
  1996: σ = √(π/2) · Σ|I ∗ N| / (6 (W−2)(H−2)) with the mask N = [[1,−2,1],[−2,4,−2],[1,−2,1]]
  (the difference of two Laplacians, which cancels image structure up to second order),
  computed at full resolution, since downscaling averages the noise away;
* ``laplacian_variance``: the variance of the Laplacian (Pech-Pacheco et al., "Diatom
  autofocusing in brightfield microscopy: a comparative study", ICPR 2000) on a fixed-size
  copy whose long edge is :data:`BLUR_LONG_EDGE` pixels (smaller images are left as they are),
  so that the number does not depend on the camera's resolution;
* ``blur_score``: ``100 · laplacian_variance / variance of that grey copy``. The raw
  Laplacian variance falls with the square of the exposure (a picture darkened to 15 % has
  2 % of it, and would read as blurred); dividing by the picture's own variance makes the
  score independent of exposure and gain, and it still falls a hundredfold when the picture
  is defocused. 0 for a flat picture;
* ``rms_contrast``: the RMS contrast, the standard deviation of the grey levels (0–127.5).

Every value is finite and within its range for any image of at least 1×1 pixel (grey or
colour, 8-bit); a flat picture has zero noise, contrast and blur score.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "BLUR_LONG_EDGE",
    "CLIP_HIGH",
    "CLIP_LOW",
    "Measurements",
    "decode_image",
    "measure",
]

BLUR_LONG_EDGE: Final = 640
"""The long edge, in pixels, of the copy the Laplacian is computed on."""
CLIP_LOW: Final = 5
"""Grey levels at or below this count as crushed shadows."""
CLIP_HIGH: Final = 250
"""Grey levels at or above this count as blown highlights."""

_IMMERKAER_MASK: Final = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)

_LEVELS: Final = np.arange(256, dtype=np.float64)

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Measurements:
    """The raw measurements of one picture (see the module docstring for each)."""

    width: int
    height: int
    mean_brightness: float
    dark_share: float
    bright_share: float
    noise_sigma: float
    laplacian_variance: float
    blur_score: float
    rms_contrast: float

    def as_dict(self) -> dict[str, float | int]:
        """The measurements by field name (for logs and the raw part of a result)."""
        return asdict(self)


def decode_image(data: bytes) -> Image:
    """The picture in ``data`` as a BGR array; ValueError if it is no decodable image."""
    if not data:
        raise ValueError("the image is empty")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ValueError("the bytes are not an image OpenCV can decode")
    return np.asarray(image, dtype=np.uint8)


def _grey(image: Image) -> Image:
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return np.ascontiguousarray(image[:, :, 0])
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)
    raise ValueError(f"an image must be H×W or H×W×(1|3|4), got shape {image.shape}")


def _noise_sigma(grey: Image) -> float:
    height, width = grey.shape
    if height < 3 or width < 3:
        return 0.0
    residual = cv2.filter2D(grey.astype(np.float32), cv2.CV_32F, _IMMERKAER_MASK)
    total = float(cv2.norm(residual[1:-1, 1:-1], cv2.NORM_L1))
    return float(math.sqrt(math.pi / 2.0) * total / (6.0 * (width - 2) * (height - 2)))


def _downscaled(grey: Image) -> Image:
    height, width = grey.shape
    scale = BLUR_LONG_EDGE / max(height, width)
    if scale >= 1.0:
        return grey
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _blur(grey: Image) -> tuple[float, float]:
    small = _downscaled(grey)
    laplacian_variance = float(cv2.Laplacian(small, cv2.CV_64F).var())
    variance = float(small.astype(np.float64).var())
    score = 100.0 * laplacian_variance / variance if variance > 1e-6 else 0.0
    return laplacian_variance, score


def measure(image: Image) -> Measurements:
    """Measure one picture (BGR, BGRA or grey, 8-bit); see the module docstring."""
    if image.dtype != np.uint8:
        raise ValueError(f"an image must be 8-bit, got {image.dtype}")
    grey = _grey(image)
    if grey.size == 0:
        raise ValueError("the image has no pixels")
    height, width = grey.shape
    laplacian_variance, blur_score = _blur(grey)
    # from the histogram: exact counts, so a flat picture has exactly zero contrast
    counts = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    mean = float(counts @ _LEVELS) / grey.size
    variance = float(counts @ (_LEVELS - mean) ** 2) / grey.size
    return Measurements(
        width=int(width),
        height=int(height),
        mean_brightness=mean,
        dark_share=float(counts[: CLIP_LOW + 1].sum()) / grey.size,
        bright_share=float(counts[CLIP_HIGH:].sum()) / grey.size,
        noise_sigma=_noise_sigma(grey),
        laplacian_variance=laplacian_variance,
        blur_score=blur_score,
        rms_contrast=math.sqrt(variance),
    )
