"""Counts sampled over time and the sustained rate they show (ingest benchmark)."""

from __future__ import annotations

from dataclasses import dataclass, field

LOW_FRACTION = 0.05
HIGH_FRACTION = 0.95
"""The sustained rate is measured between 5 % and 95 % of the final count: start-up (connect,
subscribe, first batch) and the tail (the last partial batch, the drain) are left out the same
way for every consumer, whatever its own latency."""


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
