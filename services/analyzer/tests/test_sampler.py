"""FrameSampler: rate cap by frame timestamps, stale and out-of-order frames, motion gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vigil_analyzer.sampler import FrameSampler, GrayImage, SampleReason

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def noisy(seed: int, shape: tuple[int, int] = (120, 160)) -> GrayImage:
    """A flat grey frame with ±6 levels of sensor noise."""
    rng = np.random.default_rng(seed)
    base = np.full(shape, 120, dtype=np.int16) + rng.integers(-6, 7, size=shape)
    return base.astype(np.uint8)


def with_square(frame: GrayImage, x: int, y: int, size: int = 30) -> GrayImage:
    out = frame.copy()
    out[y : y + size, x : x + size] = 250
    return out


def sampler(fps: float = 5.0, threshold: float = 0.002) -> FrameSampler:
    return FrameSampler(detect_fps=fps, motion_threshold=threshold, max_frame_age_s=30.0)


def test_rate_cap_admits_five_of_thirty_frames_per_second() -> None:
    s = sampler(threshold=0.0)
    verdicts = [
        s.decide("cam", at(i / 30), with_square(noisy(i), i * 3, 10), now=at(i / 30))
        for i in range(60)
    ]
    admitted = [i for i, v in enumerate(verdicts) if v.admitted]
    assert admitted == list(range(0, 60, 6))
    assert {v.reason for i, v in enumerate(verdicts) if i not in admitted} == {SampleReason.RATE}


def test_rate_is_per_camera() -> None:
    s = sampler(threshold=0.0)
    assert s.decide("a", at(0), noisy(0), now=at(0)).admitted
    assert s.decide("b", at(0.01), noisy(1), now=at(0.01)).admitted
    assert s.decide("a", at(0.02), noisy(2), now=at(0.02)).reason is SampleReason.RATE


def test_stale_frames_are_refused_and_late_ones_analysed_within_the_cap() -> None:
    s = sampler(threshold=0.0)
    assert s.decide("cam", at(0), noisy(0), now=at(31)).reason is SampleReason.STALE
    assert s.decide("cam", at(10), noisy(0), now=at(10)).admitted
    assert s.precheck("cam", at(9), now=at(10)) is SampleReason.LATE
    late = s.decide("cam", at(9), noisy(1), now=at(10))
    assert late.reason is SampleReason.LATE
    assert late.admitted
    assert late.mask is None
    # the late frame took its slot: its neighbours within 1 / detect_fps are capped
    assert s.precheck("cam", at(9.1), now=at(10)) is SampleReason.RATE
    assert s.precheck("cam", at(8.9), now=at(10)) is SampleReason.RATE
    assert s.precheck("cam", at(9.9), now=at(10)) is SampleReason.RATE  # next to 10
    assert s.precheck("cam", at(9.5), now=at(10)) is SampleReason.LATE
    assert s.precheck("cam", at(10), now=at(10)) is SampleReason.RATE  # the same frame again
    assert s.precheck("cam", at(10.1), now=at(10.1)) is SampleReason.RATE
    assert s.precheck("cam", at(10.2), now=at(10.2)) is None


def test_precheck_changes_no_state() -> None:
    s = sampler()
    assert s.precheck("cam", at(0), now=at(0)) is None
    assert s.precheck("cam", at(0.01), now=at(0.01)) is None


def test_sensor_noise_is_still_and_a_moving_object_is_motion() -> None:
    s = sampler()
    first = s.decide("cam", at(0), noisy(0), now=at(0))
    assert first.admitted
    assert first.motion is None
    still = s.decide("cam", at(1), noisy(1), now=at(1))
    assert still.reason is SampleReason.STILL
    assert still.motion == 0.0
    assert still.mask is not None
    assert not still.mask.any()
    moving = s.decide("cam", at(2), with_square(noisy(2), 50, 40), now=at(2))
    assert moving.admitted
    assert moving.motion is not None
    assert moving.motion > 0.02
    assert moving.mask is not None
    assert moving.mask[55, 65]  # inside the new square
    assert not moving.mask[5, 5]


def test_still_frame_is_admitted_while_tracked_objects_are_present() -> None:
    s = sampler()
    s.decide("cam", at(0), noisy(0), now=at(0))
    decision = s.decide("cam", at(1), noisy(1), now=at(1), tracked_present=True)
    assert decision.admitted
    assert decision.motion == 0.0


def test_a_resolution_change_resets_the_reference() -> None:
    s = sampler()
    s.decide("cam", at(0), noisy(0), now=at(0))
    decision = s.decide("cam", at(1), noisy(1, (60, 80)), now=at(1))
    assert decision.admitted
    assert decision.motion is None
    assert s.decide("cam", at(2), noisy(2, (60, 80)), now=at(2)).reason is SampleReason.STILL


def test_forget_drops_the_camera() -> None:
    s = sampler()
    s.decide("cam", at(10), noisy(0), now=at(10))
    s.forget("cam")
    assert s.precheck("cam", at(5), now=at(10)) is None


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        FrameSampler(detect_fps=0, motion_threshold=0.1, max_frame_age_s=1)
    with pytest.raises(ValueError):
        FrameSampler(detect_fps=5, motion_threshold=0.1, max_frame_age_s=1, blur_kernel=4)
