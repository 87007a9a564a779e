"""`CircuitBreaker`: stop calling a dependency that keeps failing, probe it now and then.

In-process: each replica counts the failures of its own calls.

- closed: every call is allowed; `failures` consecutive failures open it.
- open: no call is allowed until `reset_s` have passed since it opened; it is then
  half-open.
- half-open: ONE probe is let through (`allow()` answers True once). Its success closes
  the breaker, its failure reopens it for another `reset_s`. A probe that never reports
  (its caller was cancelled) is given up after `reset_s`, and another is let through.

`record_success()` closes the breaker from any state (a call that started before it
opened and succeeded is evidence too); `record_failure()` while open changes nothing.

Metrics: `vigil_circuit_breaker_state{name}` 0 closed, 1 open, 2 half-open;
`vigil_circuit_breaker_opened_total{name}` (a failed probe reopening it counts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Literal

from prometheus_client import Counter, Gauge

from vigil_runtime.logging import get_logger

__all__ = ["BREAKER_OPENED", "BREAKER_STATE", "BreakerState", "CircuitBreaker"]

_log = get_logger(__name__)

BREAKER_STATE: Final = Gauge(
    "vigil_circuit_breaker_state", "Circuit breaker: 0 closed, 1 open, 2 half-open", ["name"]
)
BREAKER_OPENED: Final = Counter(
    "vigil_circuit_breaker_opened_total", "Times the circuit breaker opened", ["name"]
)

BreakerState = Literal["closed", "open", "half_open"]
_STATE_VALUE: Final[dict[BreakerState, int]] = {"closed": 0, "open": 1, "half_open": 2}


class CircuitBreaker:
    """See the module docstring; `clock` is monotonic seconds (tests pass a fake one)."""

    def __init__(
        self,
        name: str,
        *,
        failures: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or reset_s <= 0:
            raise ValueError("failures must be >= 1 and reset_s > 0")
        self.name = name
        self._threshold = failures
        self._reset_s = reset_s
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_at: float | None = None
        BREAKER_STATE.labels(name=name).set(0)

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose `reset_s` has passed is half-open)."""
        if self._state == "open" and self._clock() - self._opened_at >= self._reset_s:
            self._set("half_open")
            self._probe_at = None
        return self._state

    def allow(self) -> bool:
        """Whether a call may go now (half-open: one probe at a time)."""
        state = self.state
        if state == "closed":
            return True
        if state == "open":
            return False
        now = self._clock()
        if self._probe_at is not None and now - self._probe_at < self._reset_s:
            return False
        self._probe_at = now
        return True

    def record_success(self) -> None:
        """A call succeeded: close the breaker and forget past failures."""
        self._failures = 0
        self._probe_at = None
        if self._state != "closed":
            _log.info("circuit_breaker_closed", breaker=self.name)
        self._set("closed")

    def record_failure(self) -> None:
        """A call failed: count it (closed) or reopen (a failed probe)."""
        state = self.state
        if state == "open":
            return
        self._failures += 1
        if state == "half_open" or self._failures >= self._threshold:
            self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._probe_at = None
        self._set("open")
        BREAKER_OPENED.labels(name=self.name).inc()
        _log.warning(
            "circuit_breaker_opened", breaker=self.name, failures=self._failures,
            reset_s=self._reset_s,
        )  # fmt: skip

    def _set(self, state: BreakerState) -> None:
        self._state = state
        BREAKER_STATE.labels(name=self.name).set(_STATE_VALUE[state])
