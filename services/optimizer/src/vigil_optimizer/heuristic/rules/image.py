"""Image rules: how the recommendation reacts to the measured health of the latest snapshot.

Order, which is also precedence: noise caps the gain first; darkness then raises the longest
shutter up to the purpose's limit (``draft.exposure_limit_us``, never beyond: the purpose's
shutter beats darkness), or, when the shutter is already there, the gain up to the noise cap,
or, when that is spent too, the brightness; one step per recommendation, since the next
snapshot shows its effect. Levels move by a tenth of the camera's own range.
Numbers and sources: docs/optimizer-rules.md.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.draft import Draft
from vigil_optimizer.heuristic.facts import Facts
from vigil_optimizer.heuristic.levels import shutter_label, stepped
from vigil_optimizer.heuristic.rules.base import Rule, rule

__all__ = ["RULES"]

LEVEL_STEP = 0.1
"""Brightness/contrast move by a tenth of the camera's range."""
NOISE_GAIN_FRACTION = 0.5
"""With high noise the gain is capped at the middle of the camera's gain range."""


def _exposure_field(draft: Draft) -> str:
    manual = draft.value("exposure", "mode") == "MANUAL"
    return "exposure_us" if manual else "max_exposure_us"


@rule("image.noise", "Vigil's design on issue 9's measured health (cap gain)")
def noise(facts: Facts, draft: Draft) -> str | None:
    """High noise: cap the gain at the middle of its range (the shutter stays within limits)."""
    if "high_noise" not in facts.anomalies:
        return None
    span = facts.imaging.gain if facts.imaging is not None else None
    if span is None or span.max <= span.min:
        draft.warn("the picture is noisy but the camera reports no gain range to cap")
        return None
    cap = round(span.min + NOISE_GAIN_FRACTION * (span.max - span.min), 3)
    current = draft.value("exposure", "max_gain")
    draft.gain_cap = cap
    if current is None or current > cap:
        draft.set("exposure", "max_gain", cap)
    return f"high noise: gain capped at {cap:g}"


def _raise_shutter(draft: Draft) -> str | None:
    limit = draft.exposure_limit_us
    name = _exposure_field(draft)
    longest = draft.value("exposure", name)
    if limit is None or (longest is not None and longest >= limit):
        return None
    draft.set("exposure", name, limit)
    if name == "max_exposure_us":
        draft.set("exposure", "mode", "AUTO")
    return f"too dark: longest shutter raised to {shutter_label(limit)}, the purpose's limit"


def _raise_gain(facts: Facts, draft: Draft) -> str | None:
    span = facts.imaging.gain if facts.imaging is not None else None
    if span is None or span.max <= span.min:
        return None
    target = draft.gain_cap if draft.gain_cap is not None else span.max
    name = "gain" if draft.value("exposure", "mode") == "MANUAL" else "max_gain"
    current = draft.value("exposure", name)
    if current is not None and current >= target:
        return None
    draft.set("exposure", name, target)
    return f"too dark: {name.replace('_', ' ')} raised to {target:g}"


def _raise_brightness(facts: Facts, draft: Draft) -> str | None:
    span = facts.imaging.brightness if facts.imaging is not None else None
    current = draft.value("image", "brightness")
    level = stepped(span, current, LEVEL_STEP)
    if level is None or (current is not None and level <= current):
        return None
    draft.set("image", "brightness", level)
    return f"too dark: brightness raised to {level:g}"


@rule("image.too_dark", "Vigil's design: max exposure within the purpose's limit, then gain")
def too_dark(facts: Facts, draft: Draft) -> str | None:
    """Too dark: longest shutter up to the purpose's limit, else gain, else brightness."""
    if "too_dark" not in facts.anomalies:
        return None
    if facts.purpose in {"plates", "facial"}:
        draft.warn(
            "the picture is dark but the shutter stays short for "
            f"{facts.purpose}: add light or IR illumination"
        )
    note = _raise_shutter(draft) or _raise_gain(facts, draft) or _raise_brightness(facts, draft)
    if note is None:
        draft.warn(
            "the picture is dark and the camera has no exposure, gain or brightness "
            "left to give: add light or IR illumination"
        )
    return note


@rule("image.too_bright", "issue 9 (measured health); Vigil's step of a tenth of the range")
def too_bright(facts: Facts, draft: Draft) -> str | None:
    """Too bright: brightness a tenth of its range lower."""
    if "too_bright" not in facts.anomalies:
        return None
    span = facts.imaging.brightness if facts.imaging is not None else None
    current = draft.value("image", "brightness")
    level = stepped(span, current, -LEVEL_STEP)
    if level is None or (current is not None and level >= current):
        return None
    draft.set("image", "brightness", level)
    return f"too bright: brightness lowered to {level:g}"


@rule("image.low_contrast", "issue 9 (measured health); Vigil's step of a tenth of the range")
def low_contrast(facts: Facts, draft: Draft) -> str | None:
    """Low contrast: contrast a tenth of its range higher."""
    if "low_contrast" not in facts.anomalies:
        return None
    span = facts.imaging.contrast if facts.imaging is not None else None
    current = draft.value("image", "contrast")
    level = stepped(span, current, LEVEL_STEP)
    if level is None or (current is not None and level <= current):
        return None
    draft.set("image", "contrast", level)
    return f"low contrast: contrast raised to {level:g}"


@rule("image.night_ir", "Vigil's design; ONVIF Imaging IrCutFilter modes")
def night_ir(facts: Facts, draft: Draft) -> str | None:
    """Low light: IR-cut filter AUTO, so the camera switches to night mode by itself."""
    if facts.lighting != "low_light" or draft.value("low_light", "ir_cut_filter") == "AUTO":
        return None
    draft.set("low_light", "ir_cut_filter", "AUTO")
    return "low light: IR-cut filter AUTO (day/night switching)"


RULES: tuple[Rule, ...] = (noise, too_dark, too_bright, low_contrast, night_ir)
