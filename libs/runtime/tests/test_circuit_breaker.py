"""CircuitBreaker with a fake clock: opens, half-opens for one probe, closes or reopens."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY

from vigil_runtime.circuit_breaker import CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _state(breaker: CircuitBreaker) -> str:
    """The state, read afresh (so mypy does not narrow it across calls)."""
    return breaker.state


def _sample(metric: str, name: str) -> float | None:
    return REGISTRY.get_sample_value(metric, {"name": name})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(f"test-{uuid.uuid4().hex}", failures=3, reset_s=30.0, clock=clock)


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(3):
        assert breaker.allow()
        breaker.record_failure()


def test_consecutive_failures_open_it_and_a_success_resets_the_count(
    breaker: CircuitBreaker,
) -> None:
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert _state(breaker) == "closed"
    assert breaker.allow()
    breaker.record_failure()
    assert _state(breaker) == "open"
    assert not breaker.allow()
    assert _sample("vigil_circuit_breaker_state", breaker.name) == 1
    assert _sample("vigil_circuit_breaker_opened_total", breaker.name) == 1


def test_half_open_lets_one_probe_through_and_its_success_closes(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _open(breaker)
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1
    assert _state(breaker) == "half_open"
    assert _sample("vigil_circuit_breaker_state", breaker.name) == 2
    assert breaker.allow()
    assert not breaker.allow()  # one probe at a time
    breaker.record_success()
    assert _state(breaker) == "closed"
    assert breaker.allow()
    assert breaker.allow()
    assert _sample("vigil_circuit_breaker_state", breaker.name) == 0


def test_a_failed_probe_reopens_it_for_another_period(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _open(breaker)
    clock.now += 30
    assert breaker.allow()
    breaker.record_failure()
    assert _state(breaker) == "open"
    assert not breaker.allow()
    assert _sample("vigil_circuit_breaker_opened_total", breaker.name) == 2
    clock.now += 29
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()


def test_a_probe_that_never_reports_is_given_up_after_reset_s(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _open(breaker)
    clock.now += 30
    assert breaker.allow()
    clock.now += 29
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()


def test_failures_while_open_do_not_extend_it(breaker: CircuitBreaker, clock: FakeClock) -> None:
    _open(breaker)
    clock.now += 20
    breaker.record_failure()  # a call that started before it opened
    clock.now += 10
    assert breaker.allow()
