"""HeatmapAccumulator: minute rows in seed 002's exact format, redelivery, checkpoints."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from vigil_analyzer.heatmap import HeatmapAccumulator, HeatmapRow
from vigil_schema.tables import HEATMAP_MINUTES

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FULL_HD = (1080, 1920)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def mask_with(y: slice, x: slice, shape: tuple[int, int] = (270, 480)) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[y, x] = True
    return mask


def seed_002_decompress(row: HeatmapRow) -> np.ndarray:
    """Seed 002's own snippet, verbatim but for the names."""
    compressed_bytes = row.intensity_array
    decompressed = zlib.decompress(compressed_bytes)
    heatmap = np.frombuffer(decompressed, dtype=np.float32).reshape(row.height, row.width)
    return heatmap  # noqa: RET504 (the snippet as seed 002 writes it)


def test_a_closed_minute_decompresses_with_seed_002s_snippet() -> None:
    acc = HeatmapAccumulator("cam", downscale=4.0)
    for n in range(10):
        counted, rows = acc.add(at(n), n, FULL_HD, mask_with(slice(10, 20), slice(0, 30)))
        assert counted
        assert rows == []
    acc.add(at(30), 10, FULL_HD, mask_with(slice(15, 25), slice(0, 10)))
    acc.add(at(31), 11, FULL_HD, None)  # analysed, no motion measured
    counted, rows = acc.add(at(61), 12, FULL_HD, None)
    assert counted
    (row,) = rows
    heatmap = seed_002_decompress(row)
    assert heatmap.shape == (270, 480)
    assert (row.height, row.width, row.downscale_factor) == (270, 480, 4.0)
    assert row.ts == T0
    assert row.frame_count == 12
    assert heatmap[12, 5] == 10.0
    assert heatmap[17, 5] == 11.0
    assert heatmap[22, 5] == 1.0
    assert row.max_intensity == 11.0
    assert row.total_intensity == pytest.approx(10 * 300 + 100)
    assert row.nonzero_pixels == 300 + 50
    assert acc.open_minute == at(60)


def test_row_tuple_follows_the_table_columns() -> None:
    acc = HeatmapAccumulator("cam", downscale=4.0)
    acc.add(at(0), 1, FULL_HD, None)
    row = acc.close(now=at(70))
    assert row is not None
    record = dict(zip(HEATMAP_MINUTES.column_names, row.as_row(), strict=True))
    assert record["camera_id"] == "cam"
    assert record["processed_at"] == at(70)
    assert isinstance(record["intensity_array"], bytes)
    assert np.frombuffer(zlib.decompress(record["intensity_array"]), dtype=np.float32).sum() == 0


def test_a_mask_of_another_size_is_resized_to_the_grid() -> None:
    acc = HeatmapAccumulator("cam", downscale=4.0)
    eighth = mask_with(slice(0, 135), slice(0, 240), shape=(135, 240))  # IMREAD_REDUCED_*_8
    acc.add(at(0), 1, FULL_HD, eighth)
    row = acc.close()
    assert row is not None
    heatmap = seed_002_decompress(row)
    assert heatmap[:270, :480].sum() == pytest.approx(270 * 480)


def test_redelivered_and_late_frames_are_not_counted() -> None:
    acc = HeatmapAccumulator("cam", downscale=4.0)
    mask = mask_with(slice(0, 2), slice(0, 2))
    assert acc.add(at(5), 7, FULL_HD, mask)[0]
    assert not acc.add(at(5), 7, FULL_HD, mask)[0]
    assert not acc.add(at(4), 6, FULL_HD, mask)[0]
    acc.add(at(65), 8, FULL_HD, mask)  # closes minute 0
    assert not acc.add(at(50), 9, FULL_HD, mask)[0]  # a frame of the closed minute
    row = acc.close()
    assert row is not None
    assert row.frame_count == 1
    assert row.max_intensity == 1.0


def test_snapshot_and_restore_keep_the_minute_across_a_crash() -> None:
    acc = HeatmapAccumulator("cam", downscale=4.0)
    for n in range(1, 6):
        acc.add(at(n), n, FULL_HD, mask_with(slice(0, 5), slice(0, 5)))
    saved = acc.snapshot()
    # the process dies; frames 4..7 are redelivered to a fresh accumulator
    fresh = HeatmapAccumulator("cam", downscale=4.0)
    fresh.restore(saved)
    counted = [
        fresh.add(at(n), n, FULL_HD, mask_with(slice(0, 5), slice(0, 5)))[0] for n in (4, 5, 6, 7)
    ]
    assert counted == [False, False, True, True]
    row = fresh.close()
    assert row is not None
    assert row.frame_count == 7
    assert row.max_intensity == 7.0


def test_restore_of_nothing_and_of_a_foreign_snapshot() -> None:
    acc = HeatmapAccumulator("cam", downscale=4.0)
    assert acc.snapshot() == b""
    acc.restore(b"")
    assert acc.open_minute is None
    other = HeatmapAccumulator("other", downscale=4.0)
    other.add(at(0), 1, FULL_HD, None)
    with pytest.raises(ValueError):
        acc.restore(other.snapshot())


def test_flush_closes_a_quiet_cameras_minute_after_the_grace() -> None:
    acc = HeatmapAccumulator("cam", downscale=4.0, grace_s=5.0)
    assert acc.flush(at(100)) is None
    acc.add(at(10), 1, FULL_HD, None)
    assert acc.flush(at(64)) is None
    row = acc.flush(at(65))
    assert row is not None
    assert row.ts == T0
    assert acc.open_minute is None


def test_minutes_are_utc_aligned_whatever_the_timezone() -> None:
    acc = HeatmapAccumulator("cam", downscale=8.0)
    local = datetime(2026, 1, 1, 14, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    acc.add(local, 1, (720, 1280), None)
    row = acc.close()
    assert row is not None
    assert row.ts == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    assert (row.height, row.width) == (90, 160)
