"""The heuristic recommendation engine: documented rules, clamped to the camera's options.

:class:`HeuristicEngine` implements :class:`~vigil_optimizer.recommendation.
RecommendationEngine`. For one context it normalises the facts, runs every rule in precedence
order (:mod:`vigil_optimizer.heuristic.rules`), clamps the result to the camera's
capabilities (:func:`vigil_optimizer.clamp.clamp`: never a value outside its options, one
warning per value moved or dropped; a whole group the camera reports no options for is left
out with one warning), omits every value equal to the current one, and returns
the ids of the rules that fired, an explanation listing them, a confidence lowered for each
unknown input, provider ``heuristic`` and the measured processing time.

It never raises for a camera's data: a rule that fails is skipped with a warning (and logged),
and an unexpected failure of the whole run gives an empty recommendation with confidence 0
and the error as a warning. :meth:`HeuristicEngine.recommend_sync` is the same without the
event loop, for the Claude engine's fallback and benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from vigil_optimizer.clamp import clamp
from vigil_optimizer.heuristic.changes import only_changes
from vigil_optimizer.heuristic.confidence import confidence
from vigil_optimizer.heuristic.draft import Draft
from vigil_optimizer.heuristic.facts import Facts, facts_from
from vigil_optimizer.heuristic.rules import RULES, Rule
from vigil_optimizer.recommendation import Recommendation, RecommendationContext
from vigil_runtime.logging import get_logger
from vigil_schema.camera_settings import CameraSettings

__all__ = ["HeuristicEngine"]

_log = get_logger(__name__)


def _elapsed_ms(started: float) -> int:
    return max(0, round((time.perf_counter() - started) * 1000))


def _explain(fired: list[tuple[str, str]], reasons: list[str], changed: bool) -> str:
    parts = ["Rules: " + "; ".join(f"{rid}: {note}" for rid, note in fired) + "."] if fired else []
    if not changed:
        parts.append("The current settings already follow the rules: nothing to change.")
    if reasons:
        parts.append("Confidence lowered: " + ", ".join(reasons) + ".")
    return " ".join(parts) or "No rule applies."


def _checkable(settings: CameraSettings, facts: Facts, draft: Draft) -> CameraSettings:
    """Without the options to check them against, whole groups are left out, with one warning
    each (rather than one per value from clamp)."""
    drop: dict[str, None] = {}
    if settings.stream is not None and facts.options is None:
        draft.warn("the camera reports no encoder options: stream settings not recommended")
        drop["stream"] = None
    imaging = (settings.exposure, settings.low_light, settings.image)
    if facts.imaging is None and any(group is not None for group in imaging):
        draft.warn(
            "the camera reports no imaging options: exposure, day/night and image "
            "settings not recommended"
        )
        drop.update(exposure=None, low_light=None, image=None)
    return settings.model_copy(update=drop) if drop else settings


class HeuristicEngine:
    """Recommends settings by the documented rules (see the module docstring)."""

    provider = "heuristic"

    def __init__(self, rules: Sequence[Rule] = RULES) -> None:
        self.rules = tuple(rules)

    async def recommend(self, context: RecommendationContext) -> Recommendation:
        """Settings within ``context.capabilities``; never raises for a camera's data."""
        return self.recommend_sync(context)

    def recommend_sync(self, context: RecommendationContext) -> Recommendation:
        """:meth:`recommend` without the event loop."""
        started = time.perf_counter()
        try:
            return self._recommend(context, started)
        except Exception as exc:  # a bug must not stop the camera's review: report it
            _log.exception("heuristic recommendation failed", camera_id=context.camera_id)
            return Recommendation(
                settings=CameraSettings(), confidence=0.0, provider="heuristic",
                explanation="The heuristic engine failed; nothing is recommended.",
                warnings=[f"heuristic engine failed: {type(exc).__name__}: {exc}"],
                processing_time_ms=_elapsed_ms(started),
            )  # fmt: skip

    def _run_rules(self, facts: Facts, draft: Draft) -> list[tuple[str, str]]:
        fired: list[tuple[str, str]] = []
        for rule in self.rules:
            try:
                note = rule(facts, draft)
            except Exception as exc:  # one rule's bug must not cost the others
                _log.exception("heuristic rule failed", rule=rule.id)
                draft.warn(f"rule {rule.id} failed and was skipped: {type(exc).__name__}")
                continue
            if note:
                fired.append((rule.id, note))
        return fired

    def _recommend(self, context: RecommendationContext, started: float) -> Recommendation:
        facts = facts_from(context)
        current = CameraSettings(
            stream=facts.stream, exposure=facts.exposure, low_light=facts.low_light,
            image=facts.image,
        )  # fmt: skip
        draft = Draft(current)
        fired = self._run_rules(facts, draft)
        token = facts.profile.token if facts.profile is not None else None
        wanted = _checkable(draft.settings(token), facts, draft)
        clamped, adjustments = clamp(wanted, context.capabilities)
        settings = only_changes(clamped, current)
        score, reasons = confidence(facts, len(adjustments))
        return Recommendation(
            settings=settings,
            confidence=score,
            explanation=_explain(fired, reasons, not settings.is_empty()),
            provider="heuristic",
            warnings=draft.warnings + [a.warning() for a in adjustments],
            processing_time_ms=_elapsed_ms(started),
            rules=[rule_id for rule_id, _ in fired],
        )
