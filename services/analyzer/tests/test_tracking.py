"""CameraTracker: ByteTrack ids across frames, first-seen, stationarity, forgetting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from vigil_analyzer.detectors.base import BoxDetection
from vigil_analyzer.tracking import CameraTracker, TrackerConfig, to_sv_detections

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
W, H = 1920, 1080


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def person(x: float, y: float, conf: float = 0.9) -> BoxDetection:
    return BoxDetection(0, "person", conf, x, y, 0.05, 0.2)


def car(x: float, y: float) -> BoxDetection:
    return BoxDetection(2, "car", 0.8, x, y, 0.2, 0.1)


def test_normalised_boxes_become_pixel_xyxy() -> None:
    dets = to_sv_detections([BoxDetection(1, "bicycle", 0.38, 0.25, 0.5, 0.5, 0.25)], W, H)
    np.testing.assert_allclose(dets.xyxy, [[480, 540, 1440, 810]])
    assert dets.confidence is not None
    assert dets.confidence[0] == pytest.approx(0.38)
    assert len(to_sv_detections([], W, H)) == 0


def test_two_moving_objects_keep_their_ids_in_input_order() -> None:
    tracker = CameraTracker(TrackerConfig(frame_rate=5))
    seen: list[tuple[int | None, int | None]] = []
    for i in range(10):
        boxes = [car(0.6 - 0.005 * i, 0.6), person(0.1 + 0.01 * i, 0.2)]
        update = tracker.update(boxes, at(0.2 * i), W, H)
        assert [o.detection for o in update.objects] == boxes
        seen.append((update.objects[0].track_id, update.objects[1].track_id))
    assert seen[0] == (None, None)  # not yet confirmed
    car_id, person_id = seen[1]
    assert car_id is not None
    assert person_id is not None
    assert car_id != person_id
    assert all(ids == (car_id, person_id) for ids in seen[1:])
    assert tracker.tracked_present


def test_first_seen_is_the_tracks_first_confirmed_frame() -> None:
    tracker = CameraTracker()
    for i in range(5):
        update = tracker.update([person(0.3, 0.3)], at(i * 0.2), W, H)
    assert update.objects[0].first_seen == at(0.2)


def test_a_missed_frame_keeps_the_track() -> None:
    tracker = CameraTracker()
    ids = []
    for i in range(8):
        boxes = [] if i == 4 else [person(0.3 + 0.005 * i, 0.3)]
        update = tracker.update(boxes, at(i * 0.2), W, H)
        ids += [o.track_id for o in update.objects]
    assert len(set(ids[1:])) == 1


def test_a_still_object_becomes_stationary_and_a_walker_does_not() -> None:
    config = TrackerConfig(stationary_window_s=2.0, stationary_fraction=0.02)
    tracker = CameraTracker(config)
    flags: list[tuple[bool, bool]] = []
    for i in range(20):
        boxes = [car(0.6, 0.6), person(0.05 + 0.01 * i, 0.2)]
        update = tracker.update(boxes, at(0.2 * i), W, H)
        flags.append((update.objects[0].stationary, update.objects[1].stationary))
    assert not any(parked for parked, _ in flags[:10])  # seen for less than the window
    assert all(parked for parked, _ in flags[12:])
    assert not any(walking for _, walking in flags)


def test_lost_tracks_are_forgotten_once_after_the_timeout() -> None:
    tracker = CameraTracker(TrackerConfig(lost_timeout_s=1.0))
    for i in range(3):
        update = tracker.update([person(0.3, 0.3)], at(i * 0.2), W, H)
    track_id = update.objects[0].track_id
    assert track_id is not None
    forgotten: list[int] = []
    for i in range(3, 20):
        update = tracker.update([], at(i * 0.2), W, H)
        forgotten += update.forgotten
    assert forgotten == [track_id]
    assert not tracker.tracked_present


def test_low_confidence_detection_is_reported_untracked() -> None:
    tracker = CameraTracker()
    for i in range(3):
        update = tracker.update([person(0.3, 0.3, conf=0.1)], at(i * 0.2), W, H)
        assert [o.track_id for o in update.objects] == [None]
