"""Alertmanager's inhibition rules (0.25 ``inhibit/inhibit.go``).

Contract: :meth:`Inhibitor.inhibits` says whether an alert with ``target_labels`` is muted by
one of the ``firing`` alerts. For a rule whose target matchers match the target, an alert is
a source when it is firing, its labels match the rule's source matchers, and every label named
in ``equal`` has the same value on both (a label absent from both counts as equal, ``""``).
When the target itself also matches the source matchers, a source that also matches the target
matchers does not count (two-sided rules never mute each other); an alert never inhibits itself
(same label set, compared by fingerprint). ``source_match``/``source_match_re`` (and the target
ones) are Alertmanager's deprecated forms, turned into ``=``/``=~`` matchers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vigil_alerter.config.matchers import Matcher, matchers_match
from vigil_alerter.config.models import AlerterConfig, InhibitRule
from vigil_alerter.routing.tree import config_matchers
from vigil_schema.messages import label_fingerprint

__all__ = ["InhibitionRule", "Inhibitor"]


@dataclass(frozen=True)
class InhibitionRule:
    """One ``inhibit_rules`` entry with its matchers parsed."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def from_config(cls, rule: InhibitRule) -> InhibitionRule:
        """Parse one configured rule (raises ``MatcherError`` on a bad matcher)."""
        source = config_matchers(rule.source_matchers, rule.source_match, rule.source_match_re)
        target = config_matchers(rule.target_matchers, rule.target_match, rule.target_match_re)
        return cls(tuple(source), tuple(target), tuple(rule.equal))

    def _equal(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return all(source.get(name, "") == target.get(name, "") for name in self.equal)

    def mutes(self, target: Mapping[str, str], firing: list[Mapping[str, str]]) -> bool:
        """Whether this rule mutes ``target`` given the ``firing`` alerts' labels."""
        if not matchers_match(self.target, target):
            return False
        two_sided = matchers_match(self.source, target)
        fingerprint = label_fingerprint(target)
        for source in firing:
            if not matchers_match(self.source, source) or not self._equal(source, target):
                continue
            if two_sided and matchers_match(self.target, source):
                continue
            if label_fingerprint(source) == fingerprint:
                continue
            return True
        return False


class Inhibitor:
    """The inhibition rules of one configuration (immutable)."""

    def __init__(self, rules: Iterable[InhibitionRule]) -> None:
        self.rules = tuple(rules)

    @classmethod
    def from_config(cls, cfg: AlerterConfig) -> Inhibitor:
        """The rules of ``cfg.inhibit_rules``."""
        return cls(InhibitionRule.from_config(rule) for rule in cfg.inhibit_rules)

    def inhibits(
        self, target_labels: Mapping[str, str], firing: Iterable[Mapping[str, str]]
    ) -> bool:
        """Whether any rule mutes ``target_labels`` given the firing alerts' label sets."""
        if not self.rules:
            return False
        sources = list(firing)
        return any(rule.mutes(target_labels, sources) for rule in self.rules)
