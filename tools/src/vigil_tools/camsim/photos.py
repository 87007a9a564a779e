"""Real photographs that ship inside installed packages, found without any download.

Two sources, looked up by file location (the packages are never imported, so this costs no
start-up time):

* ``ultralytics/assets``: ``bus.jpg`` and ``zidane.jpg`` (street and people scenes), present
  once the analyzer's dependencies are installed;
* ``skimage/data`` (the scikit-image wheel, a dependency of vigil-tools): ``rocket.jpg``,
  ``motorcycle_left.png`` and ``coffee.png`` as backgrounds, ``chelsea.png`` (a cat) and
  ``astronaut.png`` (a person) as moving objects.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ULTRALYTICS_BACKGROUNDS: Final = ("bus.jpg", "zidane.jpg")
SKIMAGE_BACKGROUNDS: Final = ("rocket.jpg", "motorcycle_left.png", "coffee.png")


@dataclass(frozen=True, slots=True)
class Sprite:
    """A region of a photograph used as a moving object: ``box`` is (left, top, right, bottom)."""

    path: Path
    box: tuple[int, int, int, int]
    label: str


class PhotosUnavailableError(RuntimeError):
    """No package with real photographs is installed."""


def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _existing(folder: Path | None, names: tuple[str, ...]) -> list[Path]:
    if folder is None:
        return []
    return [folder / name for name in names if (folder / name).is_file()]


def background_photos() -> list[Path]:
    """Scene photographs to use as camera backgrounds (ultralytics first, then skimage)."""
    ultralytics = _package_dir("ultralytics")
    skimage = _package_dir("skimage")
    found = _existing(ultralytics / "assets" if ultralytics else None, ULTRALYTICS_BACKGROUNDS)
    found += _existing(skimage / "data" if skimage else None, SKIMAGE_BACKGROUNDS)
    if not found:
        raise PhotosUnavailableError(
            "no photographs found: install vigil-tools with its dependencies (scikit-image "
            "ships the photos used for frames) or ultralytics"
        )
    return found


def sprite_photos() -> list[Sprite]:
    """Cut-outs of photographed subjects that move across the backgrounds."""
    skimage = _package_dir("skimage")
    data = skimage / "data" if skimage else None
    sprites = []
    if data is not None and (data / "chelsea.png").is_file():
        sprites.append(Sprite(data / "chelsea.png", (130, 20, 330, 300), "cat"))
    if data is not None and (data / "astronaut.png").is_file():
        sprites.append(Sprite(data / "astronaut.png", (120, 0, 400, 512), "person"))
    return sprites
