"""Retry delays of failed deliveries: the runtime's exponential ceiling, "equal jitter".

The ceiling of retry ``n`` (1 after the first failed attempt) is
:class:`vigil_runtime.backoff.Backoff`'s: ``min(cap, base * 2**(n-1))``. The delay is drawn
from ``[ceiling/2, ceiling]``: jittered so that replicas retrying the same outage spread out,
yet never shorter than half the ceiling, so successive delays grow until the cap (full
jitter could retry a receiver that is down at once, again and again).
"""

from __future__ import annotations

import random
from datetime import timedelta

from vigil_runtime.backoff import Backoff

__all__ = ["retry_delay"]

_MAX_DOUBLINGS = 64  # 2**64 * any base is far past any cap


def retry_delay(
    attempt: int, *, base: timedelta, cap: timedelta, rng: random.Random | None = None
) -> timedelta:
    """The wait before retry ``attempt`` (>= 1), in ``[ceiling/2, ceiling]``."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    rng = rng or random.Random()
    backoff = Backoff(base.total_seconds(), cap.total_seconds(), 2.0, rng=rng)
    for _ in range(min(attempt - 1, _MAX_DOUBLINGS)):
        backoff.next_delay()
    ceiling = backoff.ceiling()
    return timedelta(seconds=ceiling / 2 + rng.uniform(0.0, ceiling / 2))
