"""Frames as the analyzer reads them from ``vigil:frames``, and their JPEG decoding.

:func:`read_frame` turns a stream entry (an :class:`~vigil_schema.streams.Envelope` of a
:class:`~vigil_schema.messages.FrameMessage` with the JPEG bytes in the ``jpeg`` field) into
an :class:`IncomingFrame`, or raises :class:`BadFrame` with a reason code and a detail an
operator can read (the pipeline dead-letters such an entry at once: retrying cannot fix it).

Decoding costs most of a frame's CPU outside the detector, so it is split: a frame refused by
the rate cap is never decoded; the motion gate reads a reduced grayscale decode
(:func:`decode_small`, libjpeg's DCT scaling: about a quarter of a full decode's cost); only a
frame that goes to the detector is decoded in full colour (:func:`decode_full`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from vigil_analyzer.detectors.base import Image
from vigil_runtime.streams import StreamEntry
from vigil_schema.messages import JPEG_FIELD, FrameMessage
from vigil_schema.streams import Envelope, EnvelopeError

__all__ = ["BadFrame", "IncomingFrame", "decode_full", "decode_small", "read_frame"]

Gray = npt.NDArray[np.uint8]
SMALL_SCALE: Final = 4
"""The reduced decode's scale (1/4 per side): 1280×720 → 320×180, for the motion gate and
the heatmap grid (seed 002's 1080p / 4)."""
_SMALL_FLAG: Final = cv2.IMREAD_REDUCED_GRAYSCALE_4


class BadFrame(ValueError):
    """A frame entry that can never be analysed; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(slots=True)
class IncomingFrame:
    """One frame entry: its stream id, header and JPEG bytes."""

    entry_id: bytes
    message: FrameMessage
    jpeg: bytes
    small: Gray | None = None
    """The reduced grayscale decode, once the motion gate made it."""
    late: bool = False
    """Older than its camera's newest analysed frame (see :mod:`vigil_analyzer.sampler`)."""

    @property
    def camera_id(self) -> str:
        """The frame's camera."""
        return self.message.header.camera_id

    @property
    def ts(self) -> datetime:
        """The frame's capture time (the camera's clock)."""
        return self.message.header.ts

    @property
    def frame_number(self) -> int:
        """The camera's frame counter."""
        return self.message.header.frame_number


def read_frame(entry: StreamEntry) -> IncomingFrame:
    """The frame in ``entry``; raises :class:`BadFrame` when it is not a readable frame."""
    try:
        envelope = Envelope.from_fields(entry.fields)
        message = envelope.unwrap(FrameMessage)
    except EnvelopeError as exc:
        raise BadFrame("bad_envelope", str(exc)) from None
    jpeg = envelope.attachments.get(JPEG_FIELD)
    if not jpeg:
        raise BadFrame("no_jpeg", f"entry has no {JPEG_FIELD!r} field")
    return IncomingFrame(entry.id, message, jpeg)


def _buffer(jpeg: bytes) -> npt.NDArray[np.uint8]:
    return np.frombuffer(jpeg, dtype=np.uint8)


def decode_small(jpeg: bytes) -> Gray:
    """A 1/:data:`SMALL_SCALE` grayscale decode; raises :class:`BadFrame` if not a JPEG."""
    image = cv2.imdecode(_buffer(jpeg), _SMALL_FLAG)
    if image is None:
        raise BadFrame("undecodable", "the jpeg field is not a decodable image")
    return image.astype(np.uint8, copy=False)


def decode_full(jpeg: bytes) -> Image:
    """The full-resolution BGR decode; raises :class:`BadFrame` if not a JPEG."""
    image = cv2.imdecode(_buffer(jpeg), cv2.IMREAD_COLOR)
    if image is None:
        raise BadFrame("undecodable", "the jpeg field is not a decodable image")
    return image.astype(np.uint8, copy=False)
