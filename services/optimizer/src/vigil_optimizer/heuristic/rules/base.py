"""A heuristic rule: a small named function with a stable id and a source.

A rule reads the :class:`~vigil_optimizer.heuristic.facts.Facts`, writes into the
:class:`~vigil_optimizer.heuristic.draft.Draft` and returns a short note saying what it did
(for the recommendation's explanation), or None when it does not apply. Declare one with
:func:`rule`; its docstring's first line is its summary. Every id is documented, with its
numbers and source, in docs/optimizer-rules.md (a test checks that they agree).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vigil_optimizer.heuristic.draft import Draft
from vigil_optimizer.heuristic.facts import Facts

__all__ = ["Rule", "RuleFn", "rule"]

RuleFn = Callable[[Facts, Draft], str | None]


@dataclass(frozen=True)
class Rule:
    """One documented rule (see the module docstring)."""

    id: str
    source: str
    summary: str
    apply: RuleFn

    def __call__(self, facts: Facts, draft: Draft) -> str | None:
        return self.apply(facts, draft)


def rule(rule_id: str, source: str) -> Callable[[RuleFn], Rule]:
    """Declare ``fn`` as the rule ``rule_id`` whose numbers come from ``source``."""

    def declare(fn: RuleFn) -> Rule:
        summary = (fn.__doc__ or rule_id).strip().splitlines()[0]
        return Rule(rule_id, source, summary, fn)

    return declare
