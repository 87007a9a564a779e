"""The alerter's clock: every time decision reads it, never SQL ``now()`` (tests move it).

Production passes :func:`vigil_schema.clock.utc_now`; tests pass a :class:`ManualClock`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "ManualClock"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware (UTC)."""


class ManualClock:
    """A clock that only moves when told to (``advance``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 6, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        """Move forward by ``delta`` (seconds when a number); returns the new time."""
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        return self._now
