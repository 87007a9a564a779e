"""Small figures the retention benchmark reports: percentiles and medians of timings."""

from __future__ import annotations

from collections.abc import Sequence


def percentiles(values: Sequence[float], *, scale: float = 1.0) -> dict[str, float | None]:
    """p50, p99 and max of sorted ``values`` (nearest rank), times ``scale``, 3 decimals."""
    if not values:
        return {"p50": None, "p99": None, "max": None}

    def rank(q: float) -> float:
        index = min(len(values) - 1, max(0, int(q * len(values) + 0.5) - 1))
        return round(values[index] * scale, 3)

    return {"p50": rank(0.50), "p99": rank(0.99), "max": round(values[-1] * scale, 3)}


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("median of no values")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
