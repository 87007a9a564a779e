"""JPEG preparation for Claude: at most 1568 px on the long edge, and its token estimate.

:func:`prepare_image` returns the frame's own bytes when its long edge is within
:data:`MAX_LONG_EDGE` (no re-encode, no quality loss); a larger frame is resized with OpenCV
(aspect ratio kept, ``INTER_AREA``) and re-encoded. :func:`jpeg_size` reads the size from the
JPEG header without decoding. :func:`image_tokens` is the API's documented ≈ w·h / 750
(an upper bound: the API may shrink an image further before counting).
"""

from __future__ import annotations

import math
import struct
from typing import Final

import cv2
import numpy as np

__all__ = ["MAX_LONG_EDGE", "image_tokens", "jpeg_size", "prepare_image"]

MAX_LONG_EDGE: Final = 1568
JPEG_QUALITY: Final = 85
PIXELS_PER_TOKEN: Final = 750
# start-of-frame markers: baseline, extended, progressive, lossless (and arithmetic variants)
_SOF: Final = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE})


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's start-of-frame header; ValueError if there is none."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI marker)")
    pos = 2
    while pos + 4 <= len(jpeg):
        if jpeg[pos] != 0xFF:
            raise ValueError(f"corrupt JPEG: no marker at byte {pos}")
        marker = jpeg[pos + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        if marker in _SOF and pos + 9 <= len(jpeg):
            height, width = struct.unpack(">HH", jpeg[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    raise ValueError("corrupt JPEG: no start-of-frame marker")


def prepare_image(jpeg: bytes) -> tuple[bytes, int, int]:
    """The JPEG to send and its size: unchanged when small enough, else resized."""
    width, height = jpeg_size(jpeg)
    if max(width, height) <= MAX_LONG_EDGE:
        return jpeg, width, height
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("JPEG could not be decoded")
    scale = MAX_LONG_EDGE / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", resized, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("JPEG could not be re-encoded")
    return encoded.tobytes(), size[0], size[1]


def image_tokens(width: int, height: int) -> int:
    """The tokens an image of this size costs, ⌈w·h / 750⌉."""
    return math.ceil(width * height / PIXELS_PER_TOKEN)
