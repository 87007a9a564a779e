"""The benchmark's frames: N cameras' JPEGs cut from real photographs, prepared before timing.

Each camera looks at one of the pinned test photographs (``bus.jpg``, ``dog.jpg`` under the
models folder: :mod:`vigil_analyzer.model_files`), scaled so that a ``width × height`` window
fits with room to move, and each frame is that window shifted a few pixels from the last
(camera ``c``, frame ``i``), so consecutive frames differ as a slowly panning camera's do
and real objects (persons, a bus, a bicycle, a dog) stay in view. Frames are JPEG-encoded
once, at quality 80 (camsim's), and the same :class:`FrameSet` feeds both the bare loop and
the pipeline. Frame timestamps are ``interval_s`` apart per camera, all cameras at the same
instants, published in time order (frame 0 of every camera, then frame 1 ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vigil_analyzer.model_files import BUS_JPG, DOG_JPG

PHOTOS = (BUS_JPG, DOG_JPG)
JPEG_QUALITY = 80
STEP_PX = (7, 5)
"""How far (x, y) a camera's window moves per frame."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of one camera."""

    camera_id: str
    number: int
    ts: datetime
    jpeg: bytes


@dataclass(frozen=True, slots=True)
class FrameSet:
    """Every frame of a run, in publishing order."""

    frames: tuple[Frame, ...]
    cameras: int
    width: int
    height: int

    @property
    def jpeg_bytes(self) -> int:
        """Mean JPEG size."""
        return sum(len(f.jpeg) for f in self.frames) // max(1, len(self.frames))


def _scaled(path: Path, width: int, height: int) -> npt.NDArray[np.uint8]:
    """The photograph, scaled so a window of ``width × height`` fits with 25 % to spare."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: not a readable photograph (run `make models`)")
    scale = 1.25 * max(width / image.shape[1], height / image.shape[0])
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _window(photo: npt.NDArray[np.uint8], camera: int, number: int, width: int,
            height: int) -> npt.NDArray[np.uint8]:  # fmt: skip
    """Camera ``camera``'s ``number``-th window: a bounce back and forth over the slack."""
    slack_x, slack_y = photo.shape[1] - width, photo.shape[0] - height

    def bounce(position: int, slack: int) -> int:
        period = 2 * max(1, slack)
        offset = position % period
        return offset if offset <= slack else period - offset

    x = bounce(camera * 13 + number * STEP_PX[0], slack_x)
    y = bounce(camera * 29 + number * STEP_PX[1], slack_y)
    return photo[y : y + height, x : x + width]


def _encode(image: npt.NDArray[np.uint8]) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV could not encode a frame")
    return bytes(data.tobytes())


def build_frames(
    models_dir: Path,
    cameras: int,
    per_camera: int,
    *,
    prefix: str,
    size: tuple[int, int] = (640, 360),
    start: datetime,
    interval_s: float = 0.2,
) -> FrameSet:
    """``per_camera`` frames of each of ``cameras`` cameras (ids ``{prefix}{c:03d}``)."""
    width, height = size
    photos = [_scaled(models_dir / photo.relpath, width, height) for photo in PHOTOS]
    frames = []
    for number in range(per_camera):
        ts = start + timedelta(seconds=number * interval_s)
        for camera in range(cameras):
            window = _window(photos[camera % len(photos)], camera, number, width, height)
            frames.append(Frame(f"{prefix}{camera:03d}", number, ts, _encode(window)))
    return FrameSet(tuple(frames), cameras, width, height)
