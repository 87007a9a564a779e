"""The picture measurements: never a crash, always in range, on any small image.

Hypothesis draws grey and colour images from 1×1 to 48×48 pixels; the flat extremes (1×1,
all black, all white, all grey) are pinned as examples. Decoding refuses bytes that are no
image with a ValueError.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from vigil_optimizer.health import assess, decode_image, measure
from vigil_optimizer.health.metrics import BLUR_LONG_EDGE

NOISE_MAX = math.sqrt(math.pi / 2) * 16 * 255 / 6
"""Immerkær's σ when every mask response is ±16·255 (a 0/255 checkerboard)."""


@st.composite
def images(draw: st.DrawFn) -> npt.NDArray[np.uint8]:
    height = draw(st.integers(1, 48))
    width = draw(st.integers(1, 48))
    shape = (height, width) if draw(st.booleans()) else (height, width, 3)
    image: npt.NDArray[np.uint8] = draw(arrays(np.uint8, shape))
    return image


def _flat(value: int, height: int = 8, width: int = 8) -> npt.NDArray[np.uint8]:
    return np.full((height, width, 3), value, dtype=np.uint8)


@settings(max_examples=300, deadline=None)
@given(images())
@example(np.zeros((1, 1), dtype=np.uint8))
@example(np.full((1, 1, 3), 255, dtype=np.uint8))
@example(_flat(0))
@example(_flat(255))
@example(_flat(128))
@example(np.indices((16, 16)).sum(axis=0).astype(np.uint8) % 2 * 255)
def test_measurements_never_crash_and_stay_in_range(image: npt.NDArray[np.uint8]) -> None:
    m = measure(image)
    values = m.as_dict()
    assert all(math.isfinite(v) for v in values.values()), values
    assert (m.height, m.width) == image.shape[:2]
    assert 0.0 <= m.mean_brightness <= 255.0
    assert 0.0 <= m.dark_share <= 1.0
    assert 0.0 <= m.bright_share <= 1.0
    assert m.dark_share + m.bright_share <= 1.0
    assert 0.0 <= m.noise_sigma <= NOISE_MAX + 1e-6
    assert 0.0 <= m.rms_contrast <= 127.5 + 1e-6
    assert m.laplacian_variance >= 0.0
    assert m.blur_score >= 0.0
    if np.all(image == image.flat[0]):
        assert m.noise_sigma == m.rms_contrast == m.blur_score == 0.0
    health = assess(m).health
    assert health.level in {"ok", "warning", "critical"}
    assert all(a["severity"] in {"medium", "high"} for a in health.anomalies)


def test_flat_pictures_read_as_what_they_are() -> None:
    black, white, grey = measure(_flat(0)), measure(_flat(255)), measure(_flat(128))
    assert (black.mean_brightness, black.dark_share, black.bright_share) == (0.0, 1.0, 0.0)
    assert (white.mean_brightness, white.dark_share, white.bright_share) == (255.0, 0.0, 1.0)
    assert (grey.mean_brightness, grey.dark_share, grey.bright_share) == (128.0, 0.0, 0.0)
    assert assess(black).health.anomaly_types() == {"too_dark", "blurred"}
    assert assess(white).health.anomaly_types() == {"too_bright", "blurred"}


def test_noise_estimate_recovers_added_gaussian_noise() -> None:
    rng = np.random.default_rng(3)
    flat = np.full((480, 640), 120.0)
    for sigma in (2.0, 5.0, 10.0, 20.0):
        noisy = np.clip(flat + rng.normal(0.0, sigma, flat.shape), 0, 255).astype(np.uint8)
        assert measure(noisy).noise_sigma == pytest.approx(sigma, rel=0.1)


def test_blur_is_measured_at_a_fixed_size_so_resolution_does_not_change_it() -> None:
    rng = np.random.default_rng(5)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (480, 640), dtype=np.uint8), (0, 0), 1.5)
    low, high = float(texture.min()), float(texture.max())
    base = np.round((texture - low) * 255.0 / (high - low)).astype(np.uint8)
    larger = np.asarray(cv2.resize(base, (1920, 1440), interpolation=cv2.INTER_CUBIC), np.uint8)
    assert max(base.shape) == BLUR_LONG_EDGE
    assert measure(larger).blur_score == pytest.approx(measure(base).blur_score, rel=0.25)
    darker = np.round(base.astype(np.float32) * 0.25).astype(np.uint8)
    assert measure(darker).blur_score == pytest.approx(measure(base).blur_score, rel=0.15)


def test_decode_reads_jpeg_and_png_and_refuses_the_rest() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 20, 30)).save(buffer, "PNG")
    assert decode_image(buffer.getvalue()).shape == (3, 4, 3)
    for garbage in (b"", b"<html>no</html>", b"\xff\xd8\xff\xe0" + b"\x00" * 32):
        with pytest.raises(ValueError):
            decode_image(garbage)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), dtype=np.float32),
        np.zeros((0, 4), dtype=np.uint8),
        np.zeros((4, 4, 2), dtype=np.uint8),
        np.zeros((2, 2, 2, 2), dtype=np.uint8),
    ],
)
def test_measure_refuses_what_is_no_8_bit_picture(bad: npt.NDArray[np.generic]) -> None:
    with pytest.raises(ValueError):
        measure(bad)  # type: ignore[arg-type]
