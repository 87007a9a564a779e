"""A pool of JPEG frames composed from real photographs, encoded once at start.

Each background photograph becomes a short clip: the photo fitted to the camera resolution,
with cut-outs of photographed subjects (a cat, a person) walking across it and a little
sensor noise in brightness. Publishing then only picks the next pre-encoded JPEG, so frames
cost no CPU per message.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from vigil_tools.camsim.photos import Sprite, background_photos, sprite_photos


@dataclass(frozen=True, slots=True)
class FrameClip:
    """The encoded frames of one background, played in a loop."""

    background: str
    frames: tuple[bytes, ...]
    width: int
    height: int


def _fit(path: Path, size: tuple[int, int]) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)


def _cutout(sprite: Sprite, height: int) -> tuple[Image.Image, Image.Image]:
    """The sprite scaled to ``height`` pixels and a soft elliptical mask for blending."""
    with Image.open(sprite.path) as image:
        region = image.convert("RGB").crop(sprite.box)
    width = max(1, round(region.width * height / region.height))
    region = region.resize((width, height), Image.Resampling.LANCZOS)
    mask = Image.new("L", region.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, width - 1, height - 1), fill=255)
    return region, mask.filter(ImageFilter.GaussianBlur(max(1, height // 20)))


def _compose(
    background: Image.Image,
    cutouts: list[tuple[Image.Image, Image.Image]],
    phase: float,
    rng: random.Random,
) -> Image.Image:
    frame = background.copy()
    for index, (image, mask) in enumerate(cutouts):
        lane = (index + 1) / (len(cutouts) + 1)
        progress = (phase + index * 0.37) % 1.0
        direction = 1 if index % 2 == 0 else -1
        span = frame.width + image.width
        x = round(progress * span) - image.width
        if direction < 0:
            x = frame.width - x - image.width
        y = round(lane * (frame.height - image.height))
        frame.paste(image, (x, y), mask)
    return ImageEnhance.Brightness(frame).enhance(rng.uniform(0.96, 1.04))


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=False)
    return buffer.getvalue()


def build_clips(
    resolution: tuple[int, int],
    frames_per_clip: int,
    *,
    quality: int = 80,
    max_clips: int = 3,
    seed: int = 0,
) -> list[FrameClip]:
    """Compose and encode one clip per background photograph (at most ``max_clips``)."""
    rng = random.Random(seed)
    width, height = resolution
    cutouts = [_cutout(sprite, max(8, height // 3)) for sprite in sprite_photos()]
    clips = []
    for path in background_photos()[:max_clips]:
        background = _fit(path, resolution)
        frames = tuple(
            _encode(_compose(background, cutouts, step / frames_per_clip, rng), quality)
            for step in range(frames_per_clip)
        )
        clips.append(FrameClip(path.name, frames, width, height))
    return clips
