"""Degrade a real photograph the way a badly set camera would: dark, noisy, blurred.

:func:`degrade` is deterministic for a given ``seed``. ``darkness`` (0–1) scales the
intensities by ``1 - darkness`` (0.85 turns a daylight scene into an under-exposed night
one); ``noise`` is the standard deviation of added Gaussian sensor noise in 8-bit grey levels;
``blur`` is the Gaussian blur radius in pixels (Pillow's ``GaussianBlur``, about one
standard deviation). The ONVIF simulator serves its snapshots through it and the snapshot
health tests feed it real photographs; both therefore agree on what "dark" means.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

__all__ = ["degrade", "degrade_jpeg"]


def degrade(
    image: Image.Image, *, darkness: float = 0.0, noise: float = 0.0, blur: float = 0.0,
    seed: int = 0,
) -> Image.Image:  # fmt: skip
    """``image`` (RGB) darkened, blurred, then noised (see the module docstring)."""
    if not 0.0 <= darkness <= 1.0 or noise < 0 or blur < 0:
        raise ValueError("darkness must lie in [0, 1]; noise and blur must not be negative")
    out = image.convert("RGB")
    if blur > 0:
        out = out.filter(ImageFilter.GaussianBlur(radius=blur))
    pixels = np.asarray(out, dtype=np.float32) * (1.0 - darkness)
    if noise > 0:
        pixels += np.random.default_rng(seed).normal(0.0, noise, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def degrade_jpeg(
    image: Image.Image, *, darkness: float = 0.0, noise: float = 0.0, blur: float = 0.0,
    seed: int = 0, quality: int = 90,
) -> bytes:  # fmt: skip
    """:func:`degrade`, encoded as a JPEG."""
    buffer = io.BytesIO()
    degraded = degrade(image, darkness=darkness, noise=noise, blur=blur, seed=seed)
    degraded.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
