"""Dynamic range rules: WDR for backlit scenes and clipped highlights, HLC for vehicles.

ONVIF has no highlight compensation (HLC) setting: where a vehicle entrance calls for it, the
rule uses BacklightCompensation if the camera lists it, and always says so in a warning (HLC
itself is set in the vendor's own interface). Levels are in the camera's own WDR/backlight
range. Numbers and sources: docs/optimizer-rules.md.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.draft import Draft
from vigil_optimizer.heuristic.facts import Facts
from vigil_optimizer.heuristic.levels import stepped
from vigil_optimizer.heuristic.rules.base import Rule, rule

__all__ = ["RULES"]

WDR_LEVEL_FRACTION = 2 / 3
"""A backlit scene's WDR level: two thirds of the camera's range."""
WDR_STEP = 1 / 6


def _wdr_on(facts: Facts, draft: Draft) -> bool:
    """WDR on at two thirds of its range at least; whether anything changed."""
    changed: bool = draft.value("low_light", "wdr") != "ON"
    draft.set("low_light", "wdr", "ON")
    span = facts.imaging.wdr_level if facts.imaging is not None else None
    if span is not None and span.max > span.min:
        level = round(span.min + WDR_LEVEL_FRACTION * (span.max - span.min), 3)
        current = draft.value("low_light", "wdr_level")
        if current is None or current < level:
            draft.set("low_light", "wdr_level", level)
            changed = True
    return changed


@rule("dynamic_range.wdr_backlit", "issue 9 (WDR for backlit entrances)")
def wdr_backlit(facts: Facts, draft: Draft) -> str | None:
    """Backlit scene (a bright doorway behind the subject): WDR on, level 2/3 of the range."""
    if facts.lighting != "backlit":
        return None
    return "backlit scene: WDR on" if _wdr_on(facts, draft) else None


@rule(
    "dynamic_range.hlc_vehicle", "issue 9 (HLC for vehicle entrances); ONVIF Imaging Service spec"
)
def hlc_vehicle(facts: Facts, draft: Draft) -> str | None:
    """Vehicle entrance (not in daylight): backlight compensation, ONVIF's nearest to HLC."""
    if not facts.vehicle_entrance or facts.lighting == "daylight":
        return None
    if draft.value("low_light", "backlight_compensation") == "ON":
        return None
    modes = {m.upper() for m in facts.imaging.backlight_modes} if facts.imaging else set()
    if "ON" not in modes:
        draft.warn(
            "headlights at a vehicle entrance call for HLC, which ONVIF cannot set and "
            "this camera offers no BacklightCompensation for: set HLC in its own UI"
        )
        return "vehicle entrance: HLC needed (not settable over ONVIF)"
    draft.set("low_light", "backlight_compensation", "ON")
    draft.warn(
        "ONVIF has no HLC setting: BacklightCompensation is used instead; for headlight "
        "masking enable HLC in the camera's own interface"
    )
    return "vehicle entrance: BacklightCompensation on in place of HLC"


@rule("dynamic_range.highlights", "issue 9 (measured health); Vigil's WDR step")
def highlights(facts: Facts, draft: Draft) -> str | None:
    """Clipped highlights: WDR on, or its level a sixth of the range higher if already on."""
    if "overexposed_highlights" not in facts.anomalies:
        return None
    if draft.value("low_light", "wdr") != "ON":
        _wdr_on(facts, draft)
        return "clipped highlights: WDR on"
    span = facts.imaging.wdr_level if facts.imaging is not None else None
    level = stepped(span, draft.value("low_light", "wdr_level"), WDR_STEP)
    if level is None:
        return None
    draft.set("low_light", "wdr_level", level)
    return "clipped highlights: WDR level raised"


RULES: tuple[Rule, ...] = (wdr_backlit, hlc_vehicle, highlights)
