"""Rate pacing: a token bucket, and the shared message budget of ``--count``."""

from __future__ import annotations

import asyncio
from typing import Final

UNLIMITED: Final = 1 << 30


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst``; ``rate <= 0`` means unlimited.

    The bucket starts with one token, so the first message goes out at once.
    """

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = 1.0
        self._last = now

    def available(self, now: float) -> int:
        """Whole tokens available at ``now``."""
        if self.rate <= 0:
            return UNLIMITED
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        return int(self._tokens)

    def take(self, count: int) -> None:
        """Spend ``count`` tokens (after :meth:`available` said they are there)."""
        if self.rate > 0:
            self._tokens -= count

    def delay(self) -> float:
        """Seconds until the next whole token (0 when one is available or unlimited)."""
        if self.rate <= 0 or self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self.rate


class Budget:
    """How many event messages may still go out fleet-wide (``None``: no limit)."""

    def __init__(self, total: int | None) -> None:
        self._remaining = total
        self.exhausted = asyncio.Event()
        if total == 0:
            self.exhausted.set()

    def grant(self, wanted: int) -> int:
        """Take up to ``wanted`` messages from the budget; returns how many were granted."""
        if self._remaining is None:
            return wanted
        granted = min(wanted, self._remaining)
        self._remaining -= granted
        if self._remaining == 0:
            self.exhausted.set()
        return granted
