"""JPEG preparation for Claude: at most 1568 px on the long edge, and its token estimate.

:func:`prepare_image` returns the frame's own bytes when its long edge is within
:data:`MAX_LONG_EDGE` (no re-encode, no quality loss); a larger frame is resized with OpenCV
(aspect ratio kept, ``INTER_AREA``) and re-encoded. :func:`image_block` is the prepared JPEG
as a Messages API base64 image block. :func:`jpeg_size` reads the size from the JPEG header
without decoding. :func:`image_tokens` is the API's documented ≈ w·h / 750 (an upper bound:
the API may shrink an image further before counting); :func:`image_tokens_bound` is that of
a JPEG as it will be sent (an unreadable one counts as a full-size square).
"""

from __future__ import annotations

import base64
import math
from typing import Any, Final

import cv2
import numpy as np

from vigil_schema.mqtt import jpeg_dimensions

__all__ = [
    "MAX_LONG_EDGE",
    "image_block",
    "image_tokens",
    "image_tokens_bound",
    "jpeg_size",
    "prepare_image",
]

MAX_LONG_EDGE: Final = 1568
JPEG_QUALITY: Final = 85
PIXELS_PER_TOKEN: Final = 750


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's start-of-frame segment (the schema's
    :func:`~vigil_schema.mqtt.jpeg_dimensions`, which the ingest uses too); ValueError if
    the bytes are not a JPEG."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG (no SOI marker)")
    size = jpeg_dimensions(jpeg)
    if size is None:
        raise ValueError("corrupt JPEG: no start-of-frame segment")
    return size


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


def image_tokens_bound(jpeg: bytes) -> int:
    """The tokens this JPEG costs once resized as :func:`prepare_image` would."""
    try:
        width, height = jpeg_size(jpeg)
    except ValueError:
        width = height = MAX_LONG_EDGE
    scale = min(1.0, MAX_LONG_EDGE / max(width, height, 1))
    return image_tokens(math.ceil(width * scale), math.ceil(height * scale))


def image_block(jpeg: bytes) -> dict[str, Any]:
    """The JPEG (resized by :func:`prepare_image`) as a base64 ``image`` content block;
    ValueError when it is not a readable JPEG."""
    prepared, _, _ = prepare_image(jpeg)
    source = {"type": "base64", "media_type": "image/jpeg",
              "data": base64.b64encode(prepared).decode()}  # fmt: skip
    return {"type": "image", "source": source}
