"""Counting what a service did: counters sampled over time, their sustained rate, rows.

* :class:`Series`: monotonic ``(seconds, count)`` samples of a growing counter (a service's
  ``/metrics`` counter, a subscriber's received events) and the sustained rate they show,
  between :data:`LOW_FRACTION` and :data:`HIGH_FRACTION` of the final count;
* :func:`wait_quiet`: wait until a counter reaches what was sent, or stops moving;
* :func:`metric_value`: one sample of a Prometheus ``/metrics`` page;
* :func:`count_keys`: rows and distinct keys of a table, to count lost and duplicated rows
  independently of the service's own figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

LOW_FRACTION = 0.05
HIGH_FRACTION = 0.95
"""The sustained rate is measured between 5 % and 95 % of the final count: start-up (connect,
subscribe, first batch) and the tail (the last partial batch, the drain) are left out the same
way for every consumer, whatever its own latency."""

POLL_S = 0.25
QUIET_S = 15.0
"""A counter that has moved and then not for this long is taken as done."""


@dataclass
class Series:
    """Monotonic ``(seconds, count)`` samples of a growing counter."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    def add(self, at: float, count: int) -> None:
        """Record ``count`` at monotonic time ``at`` (samples that go back are ignored)."""
        if self.samples and (at < self.samples[-1][0] or count < self.samples[-1][1]):
            return
        self.samples.append((at, count))

    @property
    def total(self) -> int:
        """The last count seen."""
        return self.samples[-1][1] if self.samples else 0

    def time_at(self, count: float) -> float:
        """When the counter reached ``count`` (linear between the two samples around it)."""
        previous = self.samples[0]
        for sample in self.samples:
            if sample[1] >= count:
                if sample[1] == previous[1]:
                    return sample[0]
                share = (count - previous[1]) / (sample[1] - previous[1])
                return previous[0] + share * (sample[0] - previous[0])
            previous = sample
        raise ValueError(f"the counter never reached {count}")

    def rate(self, low: float = LOW_FRACTION, high: float = HIGH_FRACTION) -> float:
        """Events per second between ``low`` and ``high`` of the final count (0 if too few)."""
        total = self.total
        if total <= 0 or len(self.samples) < 3:
            return 0.0
        start, end = self.time_at(low * total), self.time_at(high * total)
        return (high - low) * total / (end - start) if end > start else 0.0

    def summary(self) -> dict[str, float | int | str]:
        """The JSON-ready rate summary."""
        return {
            "events": self.total,
            "events_per_s": round(self.rate()),
            "samples": len(self.samples),
            "window": f"{LOW_FRACTION:.0%}-{HIGH_FRACTION:.0%} of the events",
        }


async def wait_quiet(total: Callable[[], int], expected: int, timeout_s: float) -> bool:
    """Wait until ``total()`` reaches ``expected`` (True), or has moved and then stayed still
    for :data:`QUIET_S`, or ``timeout_s`` passed (False)."""
    deadline = time.monotonic() + timeout_s
    last, last_change = total(), time.monotonic()
    while total() < expected and time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)
        if total() != last:
            last, last_change = total(), time.monotonic()
        elif last > 0 and time.monotonic() - last_change > QUIET_S:
            break
    return total() >= expected


def metric_value(metrics_text: str, sample: str) -> float:
    """The value of the unlabelled sample ``sample`` (e.g. ``vigil_x_total``) in a /metrics
    page (text format); ValueError if the page has none.

    A line scan, not prometheus_client's parser: the harness polls several services a few
    times a second on the box it measures, and this costs a fraction of parsing every family.
    """
    prefix = sample + " "
    for line in metrics_text.splitlines():
        if line.startswith(prefix):
            return float(line.split()[1])
    raise ValueError(f"{sample} not in /metrics")


async def count_keys(pool: asyncpg.Pool, table: str, key: Sequence[str]) -> tuple[int, int]:
    """``(rows, distinct keys)`` of ``table``, the key being the columns ``key``."""
    columns = ", ".join(key)
    row = await pool.fetchrow(
        f"SELECT count(*) AS rows, count(DISTINCT ({columns})) AS keys FROM {table}"
    )
    return int(row["rows"]), int(row["keys"])
