"""camsim's scenes rendered as frames, for the Claude scenario (:mod:`bench.analyzer.scenario`).

Each camera is one :class:`vigil_tools.camsim.scene.CameraScene` at ``1 / interval_s`` fps:
objects enter, cross the view (same track, camsim's sizes and speeds) and leave, and now and
then the scene changes (camsim clears its tracks; here the lights change: the background's
brightness steps to another level). Every frame is drawn: camera ``c``'s background is
camsim's background photograph ``c mod n`` (:func:`~vigil_tools.camsim.photos.background_photos`)
with camsim's brightness flicker, and each visible object is a cut-out of a real photograph
pasted at its box: camsim's own sprites (scikit-image's astronaut and cat) are not found by
YOLOv3-tiny at camsim's sizes, so persons are the people of ``bus.jpg`` and a dog, bicycle,
car or truck the subjects of ``dog.jpg`` (the pinned test photographs, boxes where
YOLOv3-tiny finds them). :class:`SceneCamera` also counts what it showed (tracks by class),
the ground truth next to what the analyzer made of it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from vigil_analyzer.model_files import BUS_JPG, DOG_JPG
from vigil_tools.camsim.photos import background_photos
from vigil_tools.camsim.scene import CameraScene

Image = npt.NDArray[np.uint8]
JPEG_QUALITY: Final = 80
LIGHT_LEVELS: Final = (1.0, 0.55, 1.25)
"""Background brightness after each scene change, in turn."""
# (photograph, box as fractions x, y, w, h): where YOLOv3-tiny finds the subject
_BUS_PEOPLE: Final = ((0.056, 0.371, 0.202, 0.451), (0.249, 0.395, 0.164, 0.349))
_DOG_SUBJECTS: Final = {
    "dog": (0.168, 0.324, 0.313, 0.574),
    "bicycle": (0.267, 0.266, 0.483, 0.511),
    "car": (0.606, 0.128, 0.276, 0.171),
}
_STAND_INS: Final = {"truck": "car", "cat": "dog"}


def _crop(image: Image, box: tuple[float, float, float, float]) -> Image:
    height, width = image.shape[:2]
    x, y, w, h = box
    return image[round(y * height) : round((y + h) * height),
                 round(x * width) : round((x + w) * width)].copy()  # fmt: skip


def _read(path: Path) -> Image:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path}: not a readable photograph (run `make models`)")
    return np.asarray(image, dtype=np.uint8)


@dataclass(frozen=True, slots=True)
class Sprites:
    """Cut-outs by class (a list per class: a track keeps the one its id picks)."""

    by_class: dict[str, list[Image]]

    @classmethod
    def load(cls, models_dir: Path) -> Sprites:
        """The cut-outs of the pinned photographs."""
        bus, dog = _read(models_dir / BUS_JPG.relpath), _read(models_dir / DOG_JPG.relpath)
        by_class = {"person": [_crop(bus, box) for box in _BUS_PEOPLE]}
        by_class |= {name: [_crop(dog, box)] for name, box in _DOG_SUBJECTS.items()}
        return cls(by_class)

    def of(self, class_name: str, track_id: int) -> Image | None:
        """The cut-out drawn for this track (None for a class with no photograph)."""
        choices = self.by_class.get(_STAND_INS.get(class_name, class_name))
        return choices[track_id % len(choices)] if choices else None


def paste(frame: Image, sprite: Image, bbox: list[int]) -> None:
    """Draw ``sprite`` scaled to ``bbox`` (x, y, w, h, already clipped to the frame)."""
    x, y, w, h = bbox
    if w < 2 or h < 2:
        return
    frame[y : y + h, x : x + w] = cv2.resize(sprite, (w, h), interpolation=cv2.INTER_AREA)


@dataclass
class SceneCamera:
    """One camera: camsim's scene drawn over its background (see the module docstring)."""

    camera_id: str
    background: Image
    sprites: Sprites
    scene: CameraScene
    rng: random.Random
    light: int = 0
    shown: Counter[str] = field(default_factory=Counter)
    """Tracks shown, by class (each counted once)."""
    scene_changes: int = 0
    _seen: set[int] = field(default_factory=set)

    def render(self, ts: datetime, number: int) -> Image:
        """The next frame: the scene advanced one step and drawn."""
        event = self.scene.next_event(ts, number)
        if event["event_type"] == "scene_change":
            self.light = (self.light + 1) % len(LIGHT_LEVELS)
            self.scene_changes += 1
        gain = LIGHT_LEVELS[self.light] * self.rng.uniform(0.96, 1.04)  # camsim's flicker
        frame = np.asarray(cv2.convertScaleAbs(self.background, alpha=gain), dtype=np.uint8)
        for obj in event.get("objects", ()):
            sprite = self.sprites.of(obj["class"], obj["track_id"])
            if sprite is not None:
                paste(frame, sprite, obj["bbox"])
            if obj["track_id"] not in self._seen:
                self._seen.add(obj["track_id"])
                self.shown[obj["class"]] += 1
        return frame


def cameras(models_dir: Path, count: int, *, prefix: str, size: tuple[int, int],
            interval_s: float, seed: int = 0) -> list[SceneCamera]:  # fmt: skip
    """``count`` cameras (ids ``{prefix}{c:03d}``), each its own seeded scene."""
    sprites = Sprites.load(models_dir)
    photos = [cv2.resize(_read(path), size, interpolation=cv2.INTER_AREA)
              for path in background_photos()]  # fmt: skip
    out = []
    for c in range(count):
        camera_id = f"{prefix}{c:03d}"
        rng = random.Random(seed * 1000 + c)
        scene = CameraScene(camera_id, rng, fps=1.0 / interval_s, resolution=size)
        background = np.asarray(photos[c % len(photos)], dtype=np.uint8)
        out.append(SceneCamera(camera_id, background, sprites, scene, random.Random(~c)))
    return out


def encode(image: Image) -> bytes:
    """JPEG at camsim's quality."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV could not encode a frame")
    return bytes(data.tobytes())


def timestamps(start: datetime, count: int, interval_s: float) -> list[datetime]:
    """``count`` frame times from ``start``, ``interval_s`` apart."""
    return [start + timedelta(seconds=i * interval_s) for i in range(count)]
