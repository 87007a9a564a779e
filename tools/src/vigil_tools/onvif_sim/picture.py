"""Snapshots: a real photograph degraded by the scene and the camera's imaging settings.

The scene knobs (``darkness``, ``noise``, ``blur``; :class:`camera.Scene`) describe the
picture at a reference exposure of 10 ms, no gain, mid brightness and mid sharpness. The
imaging settings then act on it through :func:`effective`, a deliberately simple model:

* light: ``L = (t / 10 ms) * g * 2 ** ((brightness - mid) / half_range)``, where ``t`` is
  the exposure time and ``g = 1 + 4 * (gain - min) / (max - min)`` the gain factor. In
  ``MANUAL`` exposure, ``t`` and gain are ``ExposureTime`` and ``Gain``; in ``AUTO`` the
  camera lengthens ``t`` up to ``MaxExposureTime`` (from ``MinExposureTime``) until the
  scene is lit (``L = 1 / (1 - darkness)``), then raises gain up to ``MaxGain``;
* ``darkness = clamp(1 - (1 - scene_darkness) * L, 0, 1)``: longer exposure, more gain or
  more brightness make the picture brighter;
* ``noise = scene_noise + 12 * (g - 1) / 4``: gain adds up to 12 grey levels of noise;
* ``blur = scene_blur * 2 ** (-(sharpness - mid) / half_range)``: sharpening hides blur.

:func:`snapshot_jpeg` renders the camera's photograph at the first profile's encoder
resolution through :func:`vigil_tools.photo_degrade.degrade_jpeg` (same seed per camera, so
the same settings give the same bytes; the last JPEG is cached per camera).
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from vigil_tools.camsim.photos import background_photos
from vigil_tools.onvif_sim.camera import SimCamera
from vigil_tools.photo_degrade import degrade_jpeg

__all__ = ["Degradation", "effective", "snapshot_jpeg"]

REFERENCE_EXPOSURE_US = 10_000.0


@dataclass(frozen=True)
class Degradation:
    """What :func:`vigil_tools.photo_degrade.degrade` is asked for."""

    darkness: float
    noise: float
    blur: float


def _number(values: dict[str, float | str], path: str, default: float) -> float:
    value = values.get(path, default)
    return value if isinstance(value, float) else default


def _range(cam: SimCamera, path: str, default: tuple[float, float]) -> tuple[float, float]:
    option = cam.vendor.imaging_options.get(path)
    if option is None or isinstance(option[0], str):
        return default
    return float(option[0]), float(option[1])


def _gain_factor(cam: SimCamera, gain: float) -> float:
    low, high = _range(cam, "Exposure/Gain", (0.0, 100.0))
    return 1.0 + 4.0 * (min(max(gain, low), high) - low) / ((high - low) or 1.0)


def _exposure(cam: SimCamera, needed: float) -> tuple[float, float]:
    """Exposure time factor and gain factor the camera uses for ``needed`` light."""
    values = cam.state.imaging
    if values.get("Exposure/Mode") == "MANUAL":
        time = _number(values, "Exposure/ExposureTime", REFERENCE_EXPOSURE_US)
        return time / REFERENCE_EXPOSURE_US, _gain_factor(cam, _number(values, "Exposure/Gain", 0))
    shortest = _number(values, "Exposure/MinExposureTime", 0.0)
    longest = _number(values, "Exposure/MaxExposureTime", REFERENCE_EXPOSURE_US)
    time = min(max(REFERENCE_EXPOSURE_US * needed, shortest), max(longest, shortest))
    time_factor = time / REFERENCE_EXPOSURE_US
    max_gain = _gain_factor(cam, _number(values, "Exposure/MaxGain", 0.0))
    min_gain = _gain_factor(cam, _number(values, "Exposure/MinGain", 0.0))
    gain = min(max(needed / time_factor, min_gain), max_gain)
    return time_factor, gain


def effective(cam: SimCamera) -> Degradation:
    """The degradation the camera's current scene and imaging settings produce."""
    scene, values = cam.scene, cam.state.imaging
    needed = 1.0 / max(1.0 - scene.darkness, 0.02)
    time_factor, gain = _exposure(cam, needed)
    low, high = _range(cam, "Brightness", (0.0, 100.0))
    half = (high - low) / 2 or 1.0
    brightness = _number(values, "Brightness", low + half)
    light = time_factor * gain * 2 ** ((brightness - low - half) / half)
    darkness = min(max(1.0 - (1.0 - scene.darkness) * light, 0.0), 1.0)
    noise = scene.noise + 12.0 * (gain - 1.0) / 4.0
    s_low, s_high = _range(cam, "Sharpness", (0.0, 100.0))
    s_half = (s_high - s_low) / 2 or 1.0
    sharpness = _number(values, "Sharpness", s_low + s_half)
    blur = scene.blur * 2 ** (-(sharpness - s_low - s_half) / s_half)
    return Degradation(round(darkness, 4), round(noise, 3), round(blur, 3))


@functools.lru_cache(maxsize=32)
def _photo(path: Path, size: tuple[int, int]) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB").resize(size)


def _snapshot_size(cam: SimCamera) -> tuple[int, int]:
    first = cam.profile_templates[0] if cam.profile_templates else None
    token = None
    if first is not None:
        encoder = first.find("{http://www.onvif.org/ver10/schema}VideoEncoderConfiguration")
        token = None if encoder is None else encoder.get("token")
    config = cam.state.encoders.get(str(token)) or next(iter(cam.state.encoders.values()))
    return config.width, config.height


def snapshot_jpeg(cam: SimCamera) -> bytes:
    """The camera's current snapshot as JPEG bytes."""
    photos = background_photos()
    seed = zlib.crc32(cam.name.encode())
    path = cam.spec.photo or photos[seed % len(photos)]
    size = _snapshot_size(cam)
    degradation = effective(cam)
    key = (path, size, degradation)
    cached = cam.snapshot_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    jpeg = degrade_jpeg(
        _photo(path, size), darkness=degradation.darkness, noise=degradation.noise,
        blur=degradation.blur, seed=seed, quality=85,
    )  # fmt: skip
    cam.snapshot_cache = (key, jpeg)
    return jpeg
