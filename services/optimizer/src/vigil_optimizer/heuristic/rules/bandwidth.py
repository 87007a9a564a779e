"""Bandwidth rule: fit the stream into the camera's share of its site's budget.

The share is ``context.bandwidth_kbps`` (from :func:`~vigil_optimizer.heuristic.allocation.
allocate_bandwidth`). When the stream needs more than its share, in this order: the bit rate
is lowered (down to 75 % of the table's value for the stream), then the frame rate steps down
(never below the purpose's minimum), then, for overview and detection cameras only, the
resolution; faces and plates keep theirs. If the purpose's needs still do not fit, the bit
rate is set to the share and a warning says what the purpose needs.
Numbers and sources: docs/optimizer-rules.md.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.bitrate import needed_kbps
from vigil_optimizer.heuristic.draft import Draft
from vigil_optimizer.heuristic.facts import Facts
from vigil_optimizer.heuristic.rules.base import Rule, rule
from vigil_schema.camera_settings import Resolution

__all__ = ["RULES"]

MIN_SHARE = 0.75
"""The bit rate may go down to 75 % of the table's value before frames are given up."""
FPS_STEPS = (30.0, 15.0, 10.0, 5.0)
MIN_FPS = {"plates": 15.0, "facial": 10.0}
DEFAULT_MIN_FPS = 5.0
SHRINKABLE = {None, "overview", "detection"}


def _fits(need: int | None, share: int) -> bool:
    return need is None or need * MIN_SHARE <= share


def _lower_fps(facts: Facts, draft: Draft, size: Resolution, rate: float, share: int) -> float:
    floor = MIN_FPS.get(facts.purpose or "", DEFAULT_MIN_FPS)
    encoding = draft.value("stream", "encoding")
    for step in [s for s in FPS_STEPS if floor <= s < rate]:
        rate_before, rate = rate, step
        gop = draft.value("stream", "gop")
        if gop is not None:
            draft.set("stream", "gop", max(1, round(gop * rate / rate_before)))
        draft.set("stream", "fps", rate)
        if _fits(needed_kbps(size, rate, encoding), share):
            break
    return rate


def _lower_resolution(
    facts: Facts, draft: Draft, size: Resolution, rate: float, share: int
) -> Resolution:
    listed = facts.options.resolutions if facts.options is not None else []
    encoding = draft.value("stream", "encoding")
    for smaller in sorted((r for r in listed if r.pixels < size.pixels), key=lambda r: -r.pixels):
        size = smaller
        draft.set("stream", "resolution", size)
        if _fits(needed_kbps(size, rate, encoding), share):
            break
    return size


@rule("bandwidth.fit", "seed 001 §2.4 (per-camera allocation of a site budget); issue 9's table")
def fit(facts: Facts, draft: Draft) -> str | None:
    """Fit the camera's share: bit rate, then frame rate, then (overview) resolution."""
    share = facts.bandwidth_kbps
    if share is None:
        return None
    size, rate = draft.value("stream", "resolution"), draft.value("stream", "fps")
    encoding = draft.value("stream", "encoding")
    need = needed_kbps(size, rate, encoding) if size is not None and rate else None
    current = draft.value("stream", "bitrate_kbps")
    if size is None or rate is None or need is None or need <= share:
        if current is None or current <= share:
            return None
        draft.set("stream", "bitrate_kbps", share)
        return f"bit rate capped at the camera's share of {share} kbit/s"
    if not _fits(need, share):
        rate = _lower_fps(facts, draft, size, rate, share)
    if not _fits(needed_kbps(size, rate, encoding), share) and facts.purpose in SHRINKABLE:
        size = _lower_resolution(facts, draft, size, rate, share)
    need = needed_kbps(size, rate, encoding) or share
    if not _fits(need, share):
        draft.warn(
            f"{facts.purpose or 'this camera'} needs about {need} kbit/s at {size} and "
            f"{rate:g} fps but its share of the site budget is {share} kbit/s"
        )
        offered = {e.upper() for e in facts.options.encodings} if facts.options else set()
        if (encoding or "").upper() == "H264" and "H265" in offered:
            draft.warn("the camera offers H.265, which needs about half the bit rate")
    draft.set("stream", "bitrate_kbps", min(need, share))
    return f"{size} at {rate:g} fps, {min(need, share)} kbit/s to fit a share of {share} kbit/s"


RULES: tuple[Rule, ...] = (fit,)
