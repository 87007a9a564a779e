"""Shutter rules: the longest exposure a purpose, its motion, blur and mains flicker allow.

Each rule sets ``draft.exposure_limit_us`` (only ever shorter than before, except that
``shutter.flicker`` may lengthen the general limit to one flicker period inside the general
band: 1/120 s instead of 1/125 s at 60 Hz) and, when the
camera's current longest shutter is longer (or unknown), recommends AUTO exposure with that
maximum (a MANUAL camera keeps MANUAL with its fixed shutter shortened). Order, which is also
precedence: purpose (plates, faces, general) → blur → flicker. Numbers and sources:
docs/optimizer-rules.md.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.draft import Draft
from vigil_optimizer.heuristic.facts import Facts
from vigil_optimizer.heuristic.levels import shutter_at_most, shutter_label
from vigil_optimizer.heuristic.rules.base import Rule, rule

__all__ = ["RULES", "apply_limit"]

ISSUE = "issue 9 reference numbers"
PLATES_FACTOR = 11.0
"""Longest shutter for plates = 1 / (11 × km/h) seconds."""
DEFAULT_PLATE_SPEED_KMH = 45.0
FACES_US = 4000.0
GENERAL_US = {"high": 8000.0, "low": 1_000_000 / 60, None: 10000.0}
"""General monitoring: 1/125 s for high motion, 1/60 s for low, 1/100 s when unknown."""


def apply_limit(facts: Facts, draft: Draft, limit_us: float) -> None:
    """Make ``limit_us`` the longest shutter and recommend it where the camera's is longer."""
    if draft.exposure_limit_us is not None and limit_us > draft.exposure_limit_us:
        return
    draft.exposure_limit_us = limit_us
    if draft.value("exposure", "mode") == "MANUAL":
        fixed = draft.value("exposure", "exposure_us")
        if fixed is None or fixed > limit_us:
            draft.set("exposure", "exposure_us", limit_us)
        return
    longest = draft.value("exposure", "max_exposure_us")
    if longest is None or longest > limit_us:
        draft.set("exposure", "mode", "AUTO")
        draft.set("exposure", "max_exposure_us", limit_us)
    shortest = draft.value("exposure", "min_exposure_us")
    if shortest is not None and shortest > limit_us:
        span = facts.imaging.exposure_time_us if facts.imaging is not None else None
        draft.set("exposure", "min_exposure_us", span.min if span and span.min > 0 else 100.0)


@rule("shutter.plates", ISSUE + " (1/500 s ≈ 45 km/h, 1/1000 s ≈ 90 km/h)")
def plates(facts: Facts, draft: Draft) -> str | None:
    """Plates: longest shutter 1/(11 × km/h) s, rounded down to a standard step."""
    if facts.purpose != "plates":
        return None
    speed = facts.speed_kmh
    if speed is None:
        speed = DEFAULT_PLATE_SPEED_KMH
        draft.warn(f"traffic speed unknown: assuming {speed:g} km/h for the plates' shutter")
    limit = shutter_at_most(1_000_000 / (PLATES_FACTOR * speed))
    apply_limit(facts, draft, limit)
    return f"longest shutter at most {shutter_label(limit)} to read plates at {speed:g} km/h"


@rule("shutter.faces", ISSUE + " (faces ≥ 1/250 s)")
def faces(facts: Facts, draft: Draft) -> str | None:
    """Faces: longest shutter 1/250 s."""
    if facts.purpose != "facial":
        return None
    apply_limit(facts, draft, FACES_US)
    return f"longest shutter at most {shutter_label(FACES_US)} for faces"


@rule("shutter.general", ISSUE + " (general monitoring 1/60–1/125 s)")
def general(facts: Facts, draft: Draft) -> str | None:
    """Other purposes: 1/125 s for high motion, 1/60 s for low motion, 1/100 s if unknown."""
    if facts.purpose in {"plates", "facial"}:
        return None
    limit = GENERAL_US[facts.motion]
    apply_limit(facts, draft, limit)
    return f"longest shutter at most {shutter_label(limit)} for {facts.motion or 'unknown'} motion"


@rule("shutter.blur", "Vigil's design: motion blur = speed × exposure")
def blur(facts: Facts, draft: Draft) -> str | None:
    """Blurred snapshot: the longest shutter one step (about half) shorter."""
    if "blurred" not in facts.anomalies:
        return None
    base = draft.exposure_limit_us
    current = draft.current.exposure.max_exposure_us if draft.current.exposure else None
    if current is not None and (base is None or current < base):
        base = current
    if base is None:
        return None
    limit = shutter_at_most(base / 2)
    apply_limit(facts, draft, limit)
    draft.warn("the snapshot is blurred: if the scene is static, check the focus too")
    return f"blurred picture: longest shutter shortened to {shutter_label(limit)}"


@rule("shutter.flicker", "issue 9; mains lighting flickers at twice the mains frequency")
def flicker(facts: Facts, draft: Draft) -> str | None:
    """Artificial light: shutter a whole number of flicker periods (1/100 s at 50 Hz)."""
    if facts.lighting not in {"artificial", "mixed"} or draft.exposure_limit_us is None:
        return None
    period = 1_000_000 / (2 * facts.mains_hz)
    limit = draft.exposure_limit_us
    general = facts.purpose not in {"plates", "facial"} and "blurred" not in facts.anomalies
    if general and limit < period <= GENERAL_US["low"]:
        limit = period  # 1/120 s for high motion's 1/125 s: still in the 1/60–1/125 s band
    if limit < period:
        draft.warn(
            f"the purpose's shutter {shutter_label(limit)} is shorter than the "
            f"{shutter_label(period)} flicker period of {facts.mains_hz} Hz lighting: "
            "banding is possible; the purpose's limit wins"
        )
        return f"shutter kept at {shutter_label(limit)} despite {facts.mains_hz} Hz flicker"
    matched = period * int(limit // period)
    draft.exposure_limit_us = matched
    if draft.value("exposure", "mode") == "MANUAL":
        fixed = draft.value("exposure", "exposure_us")
        if fixed is None or fixed > matched or fixed < period:
            draft.set("exposure", "exposure_us", matched)
    else:
        draft.set("exposure", "mode", "AUTO")
        draft.set("exposure", "max_exposure_us", matched)
        draft.set("exposure", "min_exposure_us", period)
    return (
        f"shutter {shutter_label(matched)}, a multiple of the {shutter_label(period)} "
        f"flicker period of {facts.mains_hz} Hz lighting"
    )


RULES: tuple[Rule, ...] = (plates, faces, general, blur, flicker)
