"""Exponential backoff with full jitter, and an async retry helper.

Every reconnect loop in Vigil (PostgreSQL, Redis, MQTT) waits through a
:class:`Backoff` so that many processes recovering from the same outage do not
hammer the server in lock-step ("full jitter": the delay is drawn uniformly
from ``[0, min(maximum, initial * factor**n)]``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["Backoff", "OnRetry", "retry_async"]

T = TypeVar("T")

OnRetry = Callable[[int, BaseException, float], None]
"""Called before each retry sleep with (attempt number starting at 1, error, delay)."""


class Backoff:
    """Capped exponential backoff with full jitter.

    ``next_delay()`` returns the next sleep in seconds and advances the
    exponent; ``reset()`` goes back to the first step after a success.
    """

    def __init__(
        self,
        initial: float = 0.1,
        maximum: float = 30.0,
        factor: float = 2.0,
        *,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum < initial or factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._attempt = 0
        self._rng = rng or random.Random()

    @property
    def attempt(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._attempt

    def ceiling(self) -> float:
        """The upper bound of the next delay (before jitter)."""
        # Cap the exponent so that factor**n never overflows a float.
        exponent = min(self._attempt, 1024)
        try:
            raw = self.initial * self.factor**exponent
        except OverflowError:
            return self.maximum
        return min(self.maximum, raw)

    def next_delay(self) -> float:
        """Return a delay drawn uniformly from ``[0, ceiling]`` and advance."""
        delay = self._rng.uniform(0.0, self.ceiling())
        self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (call after a success)."""
        self._attempt = 0


async def retry_async(
    fn: Callable[[], Awaitable[T]],
    *,
    retry_on: tuple[type[BaseException], ...],
    attempts: int | None,
    backoff: Backoff,
    timeout: float | None,  # noqa: ASYNC109 - overall deadline across attempts
    on_retry: OnRetry | None = None,
) -> T:
    """Await ``fn()`` until it succeeds, retrying on ``retry_on`` errors.

    ``attempts`` is the total number of calls (``None``: unlimited).
    ``timeout`` is an overall deadline in seconds across all attempts and
    sleeps (``None``: none); when the next sleep would pass it, the last error
    is raised instead. Errors not in ``retry_on`` propagate at once, and so
    does cancellation. ``backoff`` is reset when ``fn`` succeeds.
    """
    if attempts is not None and attempts < 1:
        raise ValueError("attempts must be >= 1 or None")
    deadline = None if timeout is None else time.monotonic() + timeout
    attempt = 0
    last_error: BaseException | None = None
    while True:
        attempt += 1
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0 and last_error is not None:
            # The sleep (or on_retry) ran past the deadline: the last error, not a timeout.
            raise last_error
        try:
            if remaining is None:
                result = await fn()
            else:
                result = await asyncio.wait_for(fn(), max(remaining, 0.0))
        except retry_on as exc:
            last_error = exc
            delay = backoff.next_delay()
            if _exhausted(attempt, attempts, deadline, delay):
                raise
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            await asyncio.sleep(delay)
        else:
            backoff.reset()
            return result


def _exhausted(attempt: int, attempts: int | None, deadline: float | None, delay: float) -> bool:
    """Whether no further attempt fits in the attempt count or the deadline."""
    if attempts is not None and attempt >= attempts:
        return True
    return deadline is not None and time.monotonic() + delay >= deadline
