"""``DeliverySettings``: the caps and timings of notification delivery (a frozen dataclass).

- ``max_attempts``: sends of one outbox row before it fails (default 12);
- ``max_total``: a row fails once its ``deadline_at`` (queued + this, set by the outbox) has
  passed and an attempt failed (default 1 h); retries are never scheduled past the deadline;
- ``backoff_base`` / ``backoff_cap``: retry n waits about ``min(cap, base * 2**(n-1))``,
  jittered (:mod:`vigil_alerter.delivery.backoff_policy`);
- ``lease``: how long a dispatcher owns a leased row; a row whose lease ran out unmarked
  (its dispatcher crashed between send and mark) is sent again;
- ``workers_per_receiver``: concurrent sends per receiver (a slow receiver only delays its
  own rows);
- ``poll_interval``: how often :meth:`Dispatcher.run` looks for due rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Self

from vigil_alerter.settings import AlerterSettings

__all__ = ["DeliverySettings"]


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Delivery caps and timings (see the module docstring)."""

    max_attempts: int = 12
    max_total: timedelta = timedelta(hours=1)
    backoff_base: timedelta = timedelta(seconds=1)
    backoff_cap: timedelta = timedelta(minutes=5)
    lease: timedelta = timedelta(seconds=60)
    workers_per_receiver: int = 16
    poll_interval: timedelta = timedelta(seconds=0.5)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.workers_per_receiver < 1:
            raise ValueError("max_attempts and workers_per_receiver must be >= 1")
        if min(self.backoff_base, self.lease, self.poll_interval) <= timedelta(0):
            raise ValueError("backoff_base, lease and poll_interval must be > 0")
        if self.backoff_cap < self.backoff_base:
            raise ValueError("backoff_cap must be >= backoff_base")

    @classmethod
    def from_settings(cls, settings: AlerterSettings) -> Self:
        """The ``delivery_*`` settings; the poll follows ``alerter_flush_interval_s``."""
        return cls(
            max_attempts=settings.delivery_max_attempts,
            max_total=settings.delivery_max_total,
            backoff_base=settings.delivery_backoff_base,
            backoff_cap=settings.delivery_backoff_cap,
            lease=settings.delivery_lease,
            workers_per_receiver=settings.delivery_workers_per_receiver,
            poll_interval=timedelta(seconds=settings.alerter_flush_interval_s),
        )
