"""Keep only what changes: a recommended value equal to the current one is omitted.

Numbers compare with a tiny tolerance, names case-insensitively, resolutions by size. The
stream group keeps its ``profile_token`` while any other stream value remains; a group with
nothing left becomes None.
"""

from __future__ import annotations

import math
from typing import Any

from vigil_schema.camera_settings import CameraSettings

__all__ = ["only_changes"]

GROUPS = ("stream", "exposure", "low_light", "image")


def _same(wanted: Any, current: Any) -> bool:
    if current is None:
        return False
    if isinstance(wanted, str) and isinstance(current, str):
        return wanted.upper() == current.upper()
    if isinstance(wanted, int | float) and isinstance(current, int | float):
        return math.isclose(wanted, current, rel_tol=1e-9, abs_tol=1e-9)
    return bool(wanted == current)


def only_changes(settings: CameraSettings, current: CameraSettings) -> CameraSettings:
    """``settings`` without the values ``current`` already has (see the module docstring)."""
    groups: dict[str, dict[str, Any] | None] = {}
    for group in GROUPS:
        wanted, now = getattr(settings, group), getattr(current, group)
        if wanted is None:
            groups[group] = None
            continue
        kept = {
            name: value
            for name, value in vars(wanted).items()
            if value is not None and name != "profile_token"
            and not _same(value, getattr(now, name, None))
        }  # fmt: skip
        if kept and group == "stream":
            kept["profile_token"] = settings.stream.profile_token if settings.stream else None
        groups[group] = kept or None
    return CameraSettings.model_validate(groups)
