"""Alertmanager's silences as pure rules (0.25 ``silence/silence.go``).

Contract: a :class:`SilenceRule` is pending before ``starts_at``, active from ``starts_at``
(inclusive) until ``ends_at`` (exclusive), expired from ``ends_at``; it mutes an alert when it
is active and all its matchers match the alert's labels (regexes anchored, a missing label is
``""``). :func:`first_muting` returns the first silence muting an alert.
:func:`validate_silence` applies Alertmanager's rules for a new or updated silence (at least
one matcher, valid label names and regexes, not every matcher matching the empty string, end
not before start). The rows and their API live elsewhere (``store/``, ``api/``); this module
only decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from vigil_alerter.config.matchers import Matcher, MatcherError, matchers_match

__all__ = [
    "SilenceError",
    "SilenceRule",
    "SilenceState",
    "first_muting",
    "silence_state",
    "validate_silence",
]


class SilenceError(ValueError):
    """A silence Alertmanager would refuse (the message says why)."""


SilenceState = Literal["pending", "active", "expired"]


def silence_state(starts_at: datetime, ends_at: datetime, now: datetime) -> SilenceState:
    """Alertmanager's ``CalcSilenceState``."""
    if now < starts_at:
        return "pending"
    if now < ends_at:
        return "active"
    return "expired"


@dataclass(frozen=True)
class SilenceRule:
    """A silence: its id (the row's ``uuid`` as text), matchers and time window."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def from_api(
        cls,
        id: str,
        matchers: Sequence[Mapping[str, Any]],
        starts_at: datetime,
        ends_at: datetime,
    ) -> SilenceRule:
        """From stored/API matchers ``[{name, value, isRegex, isEqual}]`` (``MatcherError``)."""
        return cls(id, tuple(Matcher.from_api(m) for m in matchers), starts_at, ends_at)

    def state(self, now: datetime) -> SilenceState:
        """``pending``, ``active`` or ``expired`` at ``now``."""
        return silence_state(self.starts_at, self.ends_at, now)

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether this silence is active at ``now`` and matches ``labels``."""
        return self.state(now) == "active" and matchers_match(self.matchers, labels)


def first_muting(
    silences: Iterable[SilenceRule], labels: Mapping[str, str], now: datetime
) -> SilenceRule | None:
    """The first silence that mutes ``labels`` at ``now``, or None."""
    return next((s for s in silences if s.mutes(labels, now)), None)


def validate_silence(
    matchers: Sequence[Mapping[str, Any]], starts_at: datetime, ends_at: datetime
) -> list[Matcher]:
    """Alertmanager's ``validateSilence``: the parsed matchers, or :class:`SilenceError`."""
    if not matchers:
        raise SilenceError("at least one matcher required")
    try:
        parsed = [Matcher.from_api(m) for m in matchers]
    except MatcherError as exc:
        raise SilenceError(f"invalid label matcher: {exc}") from exc
    if all(m.matches_value("") for m in parsed):
        raise SilenceError("at least one matcher must not match the empty string")
    if ends_at < starts_at:
        raise SilenceError("end time must not be before start time")
    return parsed
