"""Backoff delays and retry_async behaviour (pure asyncio, no servers)."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from vigil_runtime.backoff import Backoff, retry_async


def test_delays_are_jittered_below_a_growing_capped_ceiling() -> None:
    backoff = Backoff(initial=0.1, maximum=1.0, factor=2.0, rng=random.Random(7))
    ceilings = []
    for _ in range(8):
        ceiling = backoff.ceiling()
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling
        ceilings.append(ceiling)
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0])


def test_full_jitter_spreads_delays() -> None:
    delays = []
    for seed in range(200):
        backoff = Backoff(initial=1.0, maximum=1.0, rng=random.Random(seed))
        delays.append(backoff.next_delay())
    assert min(delays) < 0.1
    assert max(delays) > 0.9


def test_reset_starts_over_and_huge_attempts_do_not_overflow() -> None:
    backoff = Backoff(initial=0.5, maximum=60.0, factor=3.0)
    for _ in range(5000):
        backoff.next_delay()
    assert backoff.ceiling() == 60.0
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.ceiling() == 0.5


@pytest.mark.parametrize(
    ("initial", "maximum", "factor"), [(0.0, 1.0, 2.0), (2.0, 1.0, 2.0), (0.1, 1.0, 0.5)]
)
def test_invalid_parameters_are_refused(initial: float, maximum: float, factor: float) -> None:
    with pytest.raises(ValueError):
        Backoff(initial=initial, maximum=maximum, factor=factor)


async def test_retry_async_retries_until_success_and_reports_each_retry() -> None:
    calls = 0
    retries: list[tuple[int, str]] = []

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError(f"down {calls}")
        return "up"

    backoff = Backoff(initial=0.001, maximum=0.002)
    result = await retry_async(
        flaky,
        retry_on=(ConnectionError,),
        attempts=5,
        backoff=backoff,
        timeout=None,
        on_retry=lambda n, exc, _delay: retries.append((n, str(exc))),
    )
    assert result == "up"
    assert retries == [(1, "down 1"), (2, "down 2")]
    assert backoff.attempt == 0  # reset after the success


async def test_retry_async_gives_up_after_attempts_with_the_last_error() -> None:
    calls = 0

    async def always_down() -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError(f"down {calls}")

    with pytest.raises(ConnectionError, match="down 3"):
        await retry_async(
            always_down,
            retry_on=(ConnectionError,),
            attempts=3,
            backoff=Backoff(initial=0.001, maximum=0.001),
            timeout=None,
        )
    assert calls == 3


async def test_retry_async_does_not_retry_other_errors() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await retry_async(
            broken,
            retry_on=(ConnectionError,),
            attempts=None,
            backoff=Backoff(initial=0.001, maximum=0.001),
            timeout=None,
        )
    assert calls == 1


async def test_retry_async_overall_timeout_bounds_unlimited_attempts() -> None:
    async def always_down() -> None:
        raise ConnectionError("down")

    started = time.monotonic()
    with pytest.raises(ConnectionError):
        await retry_async(
            always_down,
            retry_on=(ConnectionError,),
            attempts=None,
            backoff=Backoff(initial=0.01, maximum=0.02),
            timeout=0.3,
        )
    assert time.monotonic() - started < 1.0


async def test_retry_async_past_the_deadline_after_a_retry_raises_the_last_error() -> None:
    """A sleep that overshoots the deadline (a busy machine; here on_retry blocks) must end
    in the last error, not in a TimeoutError of a call given no time at all."""

    async def always_down() -> None:
        raise ConnectionError("down")

    def slow_retry(_attempt: int, _exc: BaseException, _delay: float) -> None:
        time.sleep(0.15)

    with pytest.raises(ConnectionError):
        await retry_async(
            always_down,
            retry_on=(ConnectionError,),
            attempts=None,
            backoff=Backoff(initial=0.01, maximum=0.01),
            timeout=0.1,
            on_retry=slow_retry,
        )


async def test_retry_async_timeout_also_bounds_a_hanging_call() -> None:
    async def hangs() -> None:
        await _sleep_forever()

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await retry_async(
            hangs,
            retry_on=(ConnectionError,),
            attempts=None,
            backoff=Backoff(initial=0.01, maximum=0.02),
            timeout=0.2,
        )
    assert time.monotonic() - started < 1.0


async def _sleep_forever() -> None:
    await asyncio.Event().wait()
