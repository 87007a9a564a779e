"""Every heuristic rule, in the order they run, which is also their precedence.

Shutter limits come first (the purpose's shutter beats darkness), then dynamic range, then
the reactions to measured health (noise caps the gain before darkness raises it), then the
stream, and last the bandwidth fit, which may only lower what the stream rules chose. The ids
are documented in docs/optimizer-rules.md.
"""

from __future__ import annotations

from vigil_optimizer.heuristic.rules import bandwidth, dynamic_range, image, shutter, stream
from vigil_optimizer.heuristic.rules.base import Rule, rule

__all__ = ["RULES", "RULE_IDS", "Rule", "rule"]

RULES: tuple[Rule, ...] = (
    *shutter.RULES,
    *dynamic_range.RULES,
    *image.RULES,
    *stream.RULES,
    *bandwidth.RULES,
)
RULE_IDS: frozenset[str] = frozenset(r.id for r in RULES)
