"""How sure the heuristic is: 0.9 with everything known, less for each unknown input.

Deductions (floored at 0.05): unknown purpose 0.15, no snapshot health 0.15, unknown lighting
0.1, no encoder options 0.1, no imaging options 0.1, plates without a traffic speed 0.1,
unknown scene 0.05, and 0.03 per value the camera's options moved or dropped (at most 0.15).
:func:`confidence` returns the value and the reasons, which the explanation lists.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.facts import Facts

__all__ = ["confidence"]

BASE = 0.9
FLOOR = 0.05
PER_ADJUSTMENT, MAX_ADJUSTMENTS = 0.03, 0.15


def _missing(facts: Facts) -> list[tuple[str, float]]:
    return [
        (reason, cost)
        for reason, cost, missing in (
            ("unknown purpose", 0.15, facts.purpose is None),
            ("no snapshot health", 0.15, not facts.has_health),
            ("unknown lighting", 0.1, facts.lighting is None),
            ("no encoder options", 0.1, facts.options is None),
            ("no imaging options", 0.1, facts.imaging is None),
            ("unknown traffic speed", 0.1, facts.purpose == "plates" and not facts.speed_kmh),
            ("unknown scene", 0.05, facts.scene is None),
        )
        if missing
    ]


def confidence(facts: Facts, adjustments: int) -> tuple[float, list[str]]:
    """The confidence in [0.05, 0.9] and why it is lower than 0.9."""
    missing = _missing(facts)
    value = BASE - sum(cost for _, cost in missing)
    reasons = [reason for reason, _ in missing]
    if adjustments:
        value -= min(MAX_ADJUSTMENTS, PER_ADJUSTMENT * adjustments)
        reasons.append(f"{adjustments} value(s) adjusted to the camera's options")
    return round(max(FLOOR, value), 3), reasons
