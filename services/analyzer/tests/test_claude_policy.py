"""SelectionPolicy: the rules' order, alert hours across midnight, dHash distances."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

import cv2
import numpy as np
import pytest

from vigil_analyzer.claude.policy import (
    FrameFacts,
    SelectionPolicy,
    dhash,
    hamming,
    parse_hours,
)
from vigil_analyzer.settings import AnalyzerSettings
from vigil_schema.enums import AnalysisRequestType

NIGHT = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
DAY = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _policy(hours: str = "22:00-06:00", tz: tzinfo = UTC) -> SelectionPolicy:
    return SelectionPolicy(
        classes_of_interest=["person", "car"], scene_change_distance=12, alert_hours=hours, tz=tz
    )


def _scene(seed: int) -> np.ndarray:
    """A smooth random gray scene (640×480)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(6, 8), dtype=np.uint8)
    return cv2.resize(coarse, (640, 480), interpolation=cv2.INTER_CUBIC)


def test_rules_apply_in_order() -> None:
    policy = _policy()
    policy.analysed("cam-1", 0)
    everything = FrameFacts(
        "cam-1", NIGHT, phash=2**64 - 1, new_track_classes=["person"],
        zone_entry_classes=["car"], question="who is at the door?",
    )  # fmt: skip
    chosen = policy.select(everything)
    assert chosen is not None
    assert (chosen.request_type, chosen.reason, chosen.urgent) == (
        AnalysisRequestType.REAL_TIME_QUERY, "manual", True,
    )  # fmt: skip
    no_question = FrameFacts(
        "cam-1", NIGHT, 2**64 - 1, new_track_classes=["person"], zone_entry_classes=["car"]
    )
    chosen = policy.select(no_question)
    assert chosen is not None
    assert (chosen.request_type, chosen.reason, chosen.urgent) == (
        AnalysisRequestType.ANOMALY_DETECTION, "new_track", True,
    )  # fmt: skip
    chosen = policy.select(FrameFacts("cam-1", NIGHT, 2**64 - 1, zone_entry_classes=["car"]))
    assert chosen is not None
    assert (chosen.request_type, chosen.reason, chosen.urgent) == (
        AnalysisRequestType.ANOMALY_DETECTION, "zone_entry", True,
    )  # fmt: skip
    chosen = policy.select(FrameFacts("cam-1", NIGHT, 2**64 - 1, new_track_classes=["dog"]))
    assert chosen is not None
    assert (chosen.request_type, chosen.reason, chosen.urgent) == (
        AnalysisRequestType.SCENE_DESCRIPTION, "scene_change", False,
    )  # fmt: skip


def test_scene_change_is_measured_from_the_last_analysed_frame() -> None:
    policy = _policy()
    first = policy.select(FrameFacts("cam-1", DAY, phash=0))
    assert first is not None
    assert first.reason == "scene_change"  # first frame of the camera
    assert policy.select(FrameFacts("cam-1", DAY, phash=0)) is not None  # not yet analysed
    policy.analysed("cam-1", 0)
    assert policy.select(FrameFacts("cam-1", DAY, phash=(1 << 11) - 1)) is None  # 11 bits
    assert policy.select(FrameFacts("cam-1", DAY, phash=(1 << 12) - 1)) is not None  # 12 bits
    assert policy.select(FrameFacts("cam-2", DAY, phash=0)) is not None  # its own reference
    policy.forget("cam-1")
    assert policy.select(FrameFacts("cam-1", DAY, phash=0)) is not None


@pytest.mark.parametrize(
    ("hour", "minute", "inside"),
    [(21, 59, False), (22, 0, True), (23, 59, True), (0, 0, True), (5, 59, True),
     (6, 0, False), (12, 0, False)],
)  # fmt: skip
def test_zone_entries_count_only_within_hours_that_wrap_midnight(
    hour: int, minute: int, inside: bool
) -> None:
    policy = _policy()
    policy.analysed("cam-1", 0)
    ts = datetime(2026, 12, 1, hour, minute, tzinfo=UTC)
    chosen = policy.select(FrameFacts("cam-1", ts, 0, zone_entry_classes=["person"]))
    assert (chosen is not None and chosen.reason == "zone_entry") is inside


def test_hours_are_local_to_the_time_zone_and_empty_means_always() -> None:
    plus_two = timezone(timedelta(hours=2))
    policy = _policy("08:00-09:00", tz=plus_two)
    policy.analysed("cam-1", 0)
    at_utc_six = datetime(2026, 12, 1, 6, 30, tzinfo=UTC)  # 08:30 at +02:00
    chosen = policy.select(FrameFacts("cam-1", at_utc_six, 0, zone_entry_classes=["car"]))
    assert chosen is not None
    assert chosen.reason == "zone_entry"
    always = _policy("")
    always.analysed("cam-1", 0)
    assert always.select(FrameFacts("cam-1", DAY, 0, zone_entry_classes=["car"])) is not None
    assert parse_hours("") is None
    with pytest.raises(ValueError, match="22:00-06:00"):
        parse_hours("22:00")


def test_zone_entry_of_a_class_not_of_interest_is_not_selected() -> None:
    policy = _policy("")
    policy.analysed("cam-1", 0)
    assert policy.select(FrameFacts("cam-1", NIGHT, 0, zone_entry_classes=["dog"])) is None


def test_dhash_is_stable_under_noise_and_far_for_a_changed_scene() -> None:
    scene = _scene(1)
    noise = np.random.default_rng(2).integers(-4, 5, size=scene.shape)
    noisy = np.clip(scene.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    changed = _scene(3)
    base = dhash(scene)
    assert 0 <= base < 2**64
    assert hamming(base, dhash(noisy)) <= 3
    assert hamming(base, dhash(changed)) >= 12
    bgr = cv2.cvtColor(scene, cv2.COLOR_GRAY2BGR)
    assert dhash(bgr) == base
    assert hamming(0b1011, 0b0110) == 3


def test_from_settings_reads_the_claude_settings() -> None:
    settings = AnalyzerSettings(
        classes_of_interest=["truck"], claude_scene_change_distance=20, claude_alert_hours=""
    )
    policy = SelectionPolicy.from_settings(settings)
    policy.analysed("cam-1", 0)
    assert policy.select(FrameFacts("cam-1", DAY, (1 << 19) - 1)) is None
    chosen = policy.select(FrameFacts("cam-1", DAY, 0, new_track_classes=["truck"]))
    assert chosen is not None
    assert chosen.reason == "new_track"
