"""Share one site's bandwidth budget among its cameras (seed 001 §2.4).

Seed 001 §2.4 keeps a global budget and a per-camera allocation (``max_bitrate_kbps``,
``target_fps``, ``resolution``, a quality level). :func:`allocate_bandwidth` computes those
allocations: every camera first gets a floor (``FLOOR_KBPS``, or an equal split when the
budget cannot give every camera its floor); the rest is shared in proportion to a weight,
the purpose's (plates and faces 1.5, detection 1, overview 0.75, unknown 1) times the bit
rate the camera's stream needs (:func:`~vigil_optimizer.heuristic.bitrate.needed_kbps`, so
larger resolutions weigh more), and no camera gets more than it needs (what it would leave
unused goes to the others). Results are whole kbit/s; their sum never exceeds the budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vigil_optimizer.heuristic.bitrate import needed_kbps
from vigil_optimizer.heuristic.facts import PURPOSES
from vigil_schema.camera_settings import Resolution

__all__ = ["FLOOR_KBPS", "PURPOSE_WEIGHT", "CameraDemand", "allocate_bandwidth"]

FLOOR_KBPS = 256
"""No camera's allocation is below this (unless the budget cannot give it to all)."""
PURPOSE_WEIGHT = {"plates": 1.5, "facial": 1.5, "detection": 1.0, "overview": 0.75}
DEFAULT_RESOLUTION = Resolution(width=1920, height=1080)
DEFAULT_FPS = 15.0


@dataclass(frozen=True)
class CameraDemand:
    """One camera of a site as the allocation sees it (its main stream)."""

    camera_id: str
    purpose: str | None = None
    resolution: Resolution | None = None
    fps: float | None = None
    encoding: str | None = None

    def need_kbps(self) -> float:
        """What the camera's stream needs by the table (1080p at 15 fps if unknown)."""
        fps = self.fps if self.fps is not None and math.isfinite(self.fps) else DEFAULT_FPS
        need = needed_kbps(self.resolution or DEFAULT_RESOLUTION, fps, self.encoding)
        return float(need or needed_kbps(self.resolution or DEFAULT_RESOLUTION, DEFAULT_FPS) or 1)

    def weight(self) -> float:
        """The purpose's weight times the need."""
        purpose = PURPOSES.get((self.purpose or "").strip().lower(), "")
        return PURPOSE_WEIGHT.get(purpose, 1.0) * self.need_kbps()


def _validate(budget: float, cameras: Sequence[CameraDemand]) -> None:
    if isinstance(budget, bool) or not isinstance(budget, int | float):
        raise TypeError(f"site_budget_kbps must be a number, not {type(budget).__name__}")
    if not math.isfinite(budget) or budget < 0:
        raise ValueError(f"site_budget_kbps must be a finite number >= 0, not {budget}")
    ids = [c.camera_id for c in cameras]
    if len(set(ids)) != len(ids):
        raise ValueError("each camera may appear only once in a site's allocation")


def _share(rest: float, alloc: dict[str, float], cameras: Sequence[CameraDemand]) -> None:
    open_ = [c for c in cameras if alloc[c.camera_id] < c.need_kbps()]
    while rest > 1e-9 and open_:
        total = sum(c.weight() for c in open_)
        full = [c for c in open_ if alloc[c.camera_id] + rest * c.weight() / total >= c.need_kbps()]
        if not full:
            for c in open_:
                alloc[c.camera_id] += rest * c.weight() / total
            return
        for c in full:  # these reach their need: give it, share what remains anew
            rest -= c.need_kbps() - alloc[c.camera_id]
            alloc[c.camera_id] = c.need_kbps()
        open_ = [c for c in open_ if c not in full]


def allocate_bandwidth(site_budget_kbps: float, cameras: Sequence[CameraDemand]) -> dict[str, int]:
    """Each camera's share (kbit/s) of ``site_budget_kbps`` (see the module docstring).

    Raises ValueError for a negative or non-finite budget or a camera listed twice.
    """
    _validate(site_budget_kbps, cameras)
    if not cameras:
        return {}
    floor = min(float(FLOOR_KBPS), site_budget_kbps / len(cameras))
    alloc = {c.camera_id: floor for c in cameras}
    _share(site_budget_kbps - floor * len(cameras), alloc, cameras)
    return {camera: math.floor(kbps) for camera, kbps in alloc.items()}
