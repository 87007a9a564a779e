"""Stream rules: resolution for the purpose's pixel density, frame rate, GOP and bit rate.

Resolution follows IEC 62676-4's pixel densities: with the scene's width known
(``context.extra["scene_width_m"]``) the smallest resolution the encoder lists that reaches
the purpose's density (raised only, never lowered here); without it, faces and plates get the
highest resolution the encoder lists. Frame rate and GOP follow motion; the bit rate is the
reference table's (:mod:`vigil_optimizer.heuristic.bitrate`) for the resulting stream.
Numbers and sources: docs/optimizer-rules.md.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.bitrate import needed_kbps
from vigil_optimizer.heuristic.draft import Draft
from vigil_optimizer.heuristic.facts import Facts
from vigil_optimizer.heuristic.rules.base import Rule, rule
from vigil_schema.camera_settings import Resolution

__all__ = ["DENSITY_PX_PER_M", "RULES"]

IEC = "IEC 62676-4:2014 (detect 25, observe 62, recognise 125, identify 250 px/m)"
DENSITY_PX_PER_M = {"detection": 25.0, "overview": 62.0, "facial": 250.0, "plates": 250.0}
"""The purpose's pixel density: detect, observe, identify; plates as identify (see docs)."""
FPS = {"high": 30.0, "low": 15.0}
GOP_SECONDS = {"high": (1.0, 2.0), "low": (3.0, 5.0)}
BITRATE_TOLERANCE = 0.1
"""A current bit rate within 10 % of the table's is left as it is."""


def _largest(resolutions: list[Resolution]) -> Resolution:
    return max(resolutions, key=lambda r: r.pixels)


@rule("stream.resolution", IEC)
def resolution(facts: Facts, draft: Draft) -> str | None:
    """The purpose's pixel density: the smallest listed resolution that reaches it."""
    listed = facts.options.resolutions if facts.options is not None else []
    density = DENSITY_PX_PER_M.get(facts.purpose or "")
    if not listed or density is None:
        return None
    current = draft.value("stream", "resolution")
    if facts.scene_width_m is None:
        if facts.purpose not in {"facial", "plates"}:
            return None
        best = _largest(listed)
        if current is not None and current.pixels >= best.pixels:
            return None
        draft.set("stream", "resolution", best)
        return f"{facts.purpose}: the highest resolution the camera offers ({best})"
    needed = density * facts.scene_width_m
    if current is not None and current.width >= needed:
        return None
    enough = sorted((r for r in listed if r.width >= needed), key=lambda r: r.pixels)
    chosen = enough[0] if enough else _largest(listed)
    if not enough:
        draft.warn(
            f"{facts.purpose} needs {density:g} px/m over {facts.scene_width_m:g} m "
            f"({needed:.0f} px wide); the camera's best is {chosen}"
        )
    draft.set("stream", "resolution", chosen)
    return f"{chosen} for {density:g} px/m over {facts.scene_width_m:g} m"


@rule("stream.fps", "issue 9 bit rate table's frame rates; Vigil's choice per motion")
def fps(facts: Facts, draft: Draft) -> str | None:
    """Frame rate by motion: 30 fps for high motion (plates), 15 fps for low."""
    target = FPS.get(facts.motion or "")
    if target is None or draft.value("stream", "fps") == target:
        return None
    draft.set("stream", "fps", target)
    return f"{target:g} fps for {facts.motion} motion"


@rule("stream.gop", "issue 9 reference numbers (GOP 1–2 s high motion, 3–5 s low motion)")
def gop(facts: Facts, draft: Draft) -> str | None:
    """GOP length 1–2 s for high motion, 3–5 s for low motion (nearest bound if outside)."""
    band = GOP_SECONDS.get(facts.motion or "")
    rate = draft.value("stream", "fps")
    if band is None or rate is None or rate <= 0:
        return None
    current = draft.value("stream", "gop")
    seconds = current / rate if current is not None else None
    if seconds is not None and band[0] <= seconds <= band[1]:
        return None
    edge = band[0] if seconds is None or seconds < band[0] else band[1]
    frames = max(1, round(edge * rate))
    draft.set("stream", "gop", frames)
    return f"GOP {frames} frames ({edge:g} s) for {facts.motion} motion"


@rule("stream.bitrate", "issue 9 bit rate table; H.265 ≈ half: Ohm et al., IEEE TCSVT 2012")
def bitrate(facts: Facts, draft: Draft) -> str | None:
    """The table's bit rate for the stream's resolution, frame rate and codec."""
    size, rate = draft.value("stream", "resolution"), draft.value("stream", "fps")
    if size is None or rate is None:
        return None
    need = needed_kbps(size, rate, draft.value("stream", "encoding"))
    current = draft.value("stream", "bitrate_kbps")
    if need is None or (current is not None and abs(current - need) <= BITRATE_TOLERANCE * need):
        return None
    draft.set("stream", "bitrate_kbps", need)
    return f"{need} kbit/s for {size} at {rate:g} fps"


RULES: tuple[Rule, ...] = (resolution, fps, gop, bitrate)
