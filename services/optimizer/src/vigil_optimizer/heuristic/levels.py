"""Small arithmetic the rules share: standard shutter steps and steps within a range.

:func:`shutter_at_most` rounds a longest-shutter limit down to the standard step at or below
it (1/1000 s for the 1010 µs that 90 km/h gives), so that recommendations read as the
shutter values cameras show. :func:`stepped` moves a level by a fraction of the camera's range
from its current value (the range's middle when the current value is unknown), rounded to
three decimals.
"""

from __future__ import annotations

from vigil_schema.camera_settings import Range

__all__ = ["SHUTTER_STEPS", "shutter_at_most", "shutter_label", "stepped"]

SHUTTER_STEPS = (25, 30, 50, 60, 100, 120, 125, 250, 500, 1000, 2000, 4000, 8000, 10000)
"""Standard shutter denominators (1/x s)."""


def shutter_at_most(limit_us: float) -> float:
    """The longest standard shutter (µs) not longer than ``limit_us`` (itself if shorter)."""
    for denominator in SHUTTER_STEPS:
        step = 1_000_000 / denominator
        if step <= limit_us:
            return step
    return limit_us


def shutter_label(exposure_us: float) -> str:
    """``1/1000 s`` for 1000 µs."""
    if exposure_us <= 0:
        return f"{exposure_us:g} µs"
    return f"1/{round(1_000_000 / exposure_us)} s"


def stepped(span: Range | None, current: float | None, fraction: float) -> float | None:
    """``current`` (or the middle of ``span``) moved by ``fraction`` of ``span``, inside it."""
    if span is None or span.max <= span.min:
        return None
    start = current if current is not None else (span.min + span.max) / 2
    return span.clamp(round(start + fraction * (span.max - span.min), 3))
