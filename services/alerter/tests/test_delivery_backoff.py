"""Retry delays and the delivery settings."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from vigil_alerter.delivery.backoff_policy import retry_delay
from vigil_alerter.delivery.settings import DeliverySettings
from vigil_alerter.settings import AlerterSettings

BASE, CAP = timedelta(seconds=1), timedelta(minutes=5)


@pytest.mark.parametrize("seed", range(20))
def test_delays_lie_in_half_to_full_ceiling_and_grow_until_the_cap(seed: int) -> None:
    rng = random.Random(seed)
    delays = [retry_delay(n, base=BASE, cap=CAP, rng=rng) for n in range(1, 15)]

    for n, delay in enumerate(delays, start=1):
        ceiling = min(CAP, BASE * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert delays[:8] == sorted(delays[:8])  # 1 s .. 128 s: each above the one before
    assert all(CAP / 2 <= delay <= CAP for delay in delays[9:])


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    assert CAP / 2 <= retry_delay(10_000, base=BASE, cap=CAP) <= CAP
    with pytest.raises(ValueError):
        retry_delay(0, base=BASE, cap=CAP)


def test_settings_come_from_the_alerter_settings() -> None:
    settings = AlerterSettings(
        delivery_max_attempts=3,
        delivery_max_total=timedelta(minutes=10),
        delivery_backoff_base=timedelta(seconds=2),
        delivery_backoff_cap=timedelta(seconds=30),
        delivery_lease=timedelta(seconds=20),
        delivery_workers_per_receiver=4,
        alerter_flush_interval_s=0.25,
    )

    delivery = DeliverySettings.from_settings(settings)

    assert delivery == DeliverySettings(
        max_attempts=3,
        max_total=timedelta(minutes=10),
        backoff_base=timedelta(seconds=2),
        backoff_cap=timedelta(seconds=30),
        lease=timedelta(seconds=20),
        workers_per_receiver=4,
        poll_interval=timedelta(seconds=0.25),
    )
    assert DeliverySettings() == DeliverySettings.from_settings(AlerterSettings())


def test_inconsistent_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        DeliverySettings(backoff_base=timedelta(seconds=10), backoff_cap=timedelta(seconds=1))
    with pytest.raises(ValueError):
        DeliverySettings(max_attempts=0)
