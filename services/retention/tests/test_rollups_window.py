"""The runner's pure parts: bucket alignment, the window of a run, chunks, rollup_lag."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from vigil_retention.models import RollupState
from vigil_retention.rollups.base import ceil_bucket, floor_bucket
from vigil_retention.rollups.runner import Window, rollup_lag, rollup_window

HOUR = timedelta(hours=1)
NOW = datetime(2026, 3, 2, 5, 40, tzinfo=UTC)


def _state(final: datetime | None = None, width: timedelta = HOUR) -> RollupState:
    return RollupState(
        name="occupancy_hourly", source_tables=("occupancy_events",), bucket_width=width,
        lateness=timedelta(minutes=30), keep_days=730, finalized_through=final,
        refreshed_through=None,
    )  # fmt: skip


def test_buckets_align_to_the_epoch_in_utc() -> None:
    berlin = datetime(2026, 3, 2, 6, 40, tzinfo=UTC).astimezone()  # any zone: same instant
    assert floor_bucket(berlin, HOUR) == datetime(2026, 3, 2, 6, tzinfo=UTC)
    assert ceil_bucket(NOW, HOUR) == datetime(2026, 3, 2, 6, tzinfo=UTC)
    assert ceil_bucket(datetime(2026, 3, 2, 6, tzinfo=UTC), HOUR) == datetime(
        2026, 3, 2, 6, tzinfo=UTC
    )
    assert floor_bucket(NOW, timedelta(minutes=15)) == datetime(2026, 3, 2, 5, 30, tzinfo=UTC)


def test_window_starts_at_the_watermark_or_the_oldest_partition() -> None:
    oldest = datetime(2026, 3, 1, tzinfo=UTC)
    assert rollup_window(NOW, _state(), oldest) == Window(
        oldest, datetime(2026, 3, 2, 6, tzinfo=UTC), datetime(2026, 3, 2, 5, tzinfo=UTC), HOUR
    )
    final = datetime(2026, 3, 2, 4, tzinfo=UTC)
    window = rollup_window(NOW, _state(final), oldest)
    assert window is not None
    assert window.start == final
    assert rollup_window(NOW, _state(), None) is None
    assert rollup_window(NOW, _state(datetime(2026, 3, 2, 6, tzinfo=UTC)), oldest) is None


def test_chunks_cover_the_window_in_order() -> None:
    window = Window(
        datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 2, 5, tzinfo=UTC), NOW, HOUR
    )
    chunks = window.chunks(2)
    assert [(lo.hour, hi.hour) for lo, hi in chunks] == [(0, 2), (2, 4), (4, 5)]


@given(start_h=st.integers(0, 500), length_h=st.integers(1, 500), chunk=st.integers(1, 100))
def test_chunks_partition_the_window(start_h: int, length_h: int, chunk: int) -> None:
    lo = datetime(2026, 1, 1, tzinfo=UTC) + start_h * HOUR
    window = Window(lo, lo + length_h * HOUR, lo, HOUR)
    chunks = window.chunks(chunk)
    assert chunks[0][0] == window.start
    assert chunks[-1][1] == window.end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    assert all(hi - lo <= chunk * HOUR for lo, hi in chunks)


def test_rollup_lag_is_now_minus_finalized() -> None:
    assert rollup_lag(NOW, _state()) is None
    final = datetime(2026, 3, 2, 5, tzinfo=UTC)
    assert rollup_lag(NOW, _state(final)) == timedelta(minutes=40)
