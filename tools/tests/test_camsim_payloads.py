"""camsim's payloads against vigil_schema: good ones parse, each bad kind fails as declared."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from vigil_schema.enums import CameraStatus, EventType, RejectReason
from vigil_schema.mqtt import (
    CameraStatusPayload,
    FrameHeader,
    HealthSample,
    PayloadError,
    jpeg_dimensions,
    parse_events_payload,
    parse_health_payload,
    parse_status_payload,
    timestamp_window_violation,
    validate_jpeg,
)
from vigil_schema.topics import CameraTopicKind, parse_camera_topic
from vigil_tools.camsim import EXPECTED_REASON, BadKind, FleetConfig
from vigil_tools.camsim.feed import OFFLINE_WILL, CameraFeed, status_payload
from vigil_tools.camsim.frames import build_clips
from vigil_tools.camsim.malformed import EVENT_KINDS, HEALTH_KINDS, corrupt_json
from vigil_tools.camsim.pacing import Budget, TokenBucket
from vigil_tools.camsim.scene import (
    DEGRADED_BRIGHTNESS,
    DEGRADED_NOISE,
    CameraScene,
    HealthModel,
)
from vigil_tools.camsim.stats import FleetStats, MessageKind

CAMERA = "cam-007"


def _feed(batch: int = 1, bad_ratio: float = 0.0, seed: int = 1) -> CameraFeed:
    return CameraFeed(
        CAMERA,
        random.Random(seed),
        FleetStats(),
        fps=30.0,
        batch=batch,
        bad_ratio=bad_ratio,
        resolution=(1280, 720),
    )


def _reject_reason(raw: bytes, parse: object) -> RejectReason:
    """The reason the ingest would record: the parser's, else the timestamp window's."""
    try:
        parsed = parse(raw, CAMERA)  # type: ignore[operator]
    except PayloadError as exc:
        return exc.reason
    items = parsed if isinstance(parsed, list) else [parsed]
    now = datetime.now(UTC)
    for item in items:
        reason = timestamp_window_violation(
            item.ts, now, max_future=timedelta(minutes=5), max_age=timedelta(days=7)
        )
        if reason is not None:
            return reason
    raise AssertionError(f"payload was accepted: {raw[:200]!r}")


def test_event_sequences_parse_and_objects_move_across_frames() -> None:
    feed = _feed()
    assert parse_camera_topic(feed.events_topic) == (CAMERA, CameraTopicKind.EVENTS)
    events = [parse_events_payload(feed.events().payload, CAMERA)[0] for _ in range(3000)]
    numbers = [event.frame_number for event in events]
    assert numbers == sorted(set(numbers))
    assert {event.event_type for event in events} >= {
        EventType.MOTION,
        EventType.OBJECT_DETECTED,
    }
    assert all(event.ts.tzinfo is not None and event.camera_id == CAMERA for event in events)
    assert any(event.motion_regions for event in events if event.event_type == EventType.MOTION)
    boxes: dict[int | str, list[tuple[float, ...]]] = {}
    for event in events:
        for obj in event.objects:
            assert obj.track_id is not None
            boxes.setdefault(obj.track_id, []).append(obj.bbox)
    long_tracks = [track for track in boxes.values() if len(track) > 10]
    assert long_tracks, "no object was tracked over several frames"
    assert all(len(set(track)) > 1 for track in long_tracks), "tracked objects never moved"


def test_scene_changes_happen_now_and_then() -> None:
    scene = CameraScene(CAMERA, random.Random(3), fps=30.0)
    now = datetime.now(UTC)
    types = [scene.next_event(now, n)["event_type"] for n in range(20_000)]
    assert 0 < types.count(EventType.SCENE_CHANGE.value) < 200


def test_batches_are_arrays_of_consecutive_frames() -> None:
    feed = _feed(batch=25)
    first = parse_events_payload(feed.events().payload, CAMERA)
    second = parse_events_payload(feed.events().payload, CAMERA)
    assert len(first) == len(second) == 25
    numbers = [event.frame_number for event in first + second]
    assert numbers == list(range(50))
    assert first[0].ts < first[-1].ts <= second[0].ts


def test_health_samples_and_status_parse() -> None:
    feed = _feed()
    for _ in range(200):
        sample = parse_health_payload(feed.health(10.0).payload, CAMERA)
        assert sample.camera_id == CAMERA
        assert len(sample.metrics()) >= 10
    for status in (CameraStatus.ONLINE, CameraStatus.OFFLINE):
        parsed = parse_status_payload(status_payload(status))
        assert parsed is not None
        assert parsed.status is status
        assert parsed.ts is not None
    assert parse_status_payload(OFFLINE_WILL) == CameraStatusPayload(status=CameraStatus.OFFLINE)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("kind", EVENT_KINDS)
def test_every_bad_event_kind_is_rejected_as_declared(kind: BadKind, batch: int) -> None:
    scene = CameraScene(CAMERA, random.Random(5), fps=30.0)
    now = datetime.now(UTC)
    events = [scene.next_event(now, n) for n in range(batch)]
    raw = corrupt_json(kind, events, CAMERA, random.Random(0))
    assert _reject_reason(raw, parse_events_payload) == EXPECTED_REASON[kind]


@pytest.mark.parametrize("kind", HEALTH_KINDS)
def test_every_bad_health_kind_is_rejected_as_declared(kind: BadKind) -> None:
    sample = HealthModel(CAMERA, random.Random(2), fps=30.0).sample(datetime.now(UTC), 10.0)
    raw = corrupt_json(kind, [sample], CAMERA, random.Random(0))
    assert _reject_reason(raw, parse_health_payload) == EXPECTED_REASON[kind]


def test_bad_ratio_replaces_that_share_of_messages_and_counts_them() -> None:
    feed = _feed(bad_ratio=0.25, seed=11)
    stats = feed._stats  # the feed counts bad kinds as it makes them
    tags = [feed.events().tag.kind for _ in range(4000)]
    bad = tags.count(MessageKind.BAD)
    assert 800 < bad < 1200
    assert sum(stats.bad.values()) == bad == stats.bad_by_topic[MessageKind.EVENTS]
    assert set(stats.bad) == {kind.value for kind in EVENT_KINDS}


def test_frames_are_jpegs_of_real_photographs_with_header_properties() -> None:
    clips = build_clips((320, 180), 3, quality=70)
    assert len(clips) >= 2
    assert all(len(clip.frames) == 3 for clip in clips)
    assert len({frame for clip in clips for frame in clip.frames}) == 3 * len(clips)
    feed = CameraFeed(
        CAMERA,
        random.Random(1),
        FleetStats(),
        fps=10.0,
        batch=1,
        bad_ratio=0.0,
        resolution=(320, 180),
        clip=clips[0],
    )
    numbers = []
    for _ in range(5):
        message = feed.frame()
        validate_jpeg(message.payload)
        assert jpeg_dimensions(message.payload) == (320, 180)
        assert message.properties is not None
        header = FrameHeader.from_user_properties(
            CAMERA, getattr(message.properties, "UserProperty", []), len(message.payload)
        )
        assert (header.width, header.height) == (320, 180)
        numbers.append(header.frame_number)
    assert numbers == sorted(set(numbers))


def test_token_bucket_paces_and_budget_stops() -> None:
    bucket = TokenBucket(rate=100.0, burst=10.0, now=0.0)
    assert bucket.available(0.0) == 1
    bucket.take(1)
    assert bucket.delay() == pytest.approx(0.01)
    assert bucket.available(0.05) == 5
    assert bucket.available(10.0) == 10  # capped at the burst
    budget = Budget(7)
    assert budget.grant(5) == 5
    assert budget.grant(5) == 2
    assert budget.exhausted.is_set()
    assert budget.grant(1) == 0


def test_config_rejects_inconsistent_options() -> None:
    with pytest.raises(ValueError, match="duration or a count"):
        FleetConfig(duration_s=None, count=None)
    with pytest.raises(ValueError, match="user properties"):
        FleetConfig(frame_fps=1.0, protocol="v311")
    with pytest.raises(ValueError, match="Last Will"):
        FleetConfig(cameras=10, lwt=True, clients=2)
    with pytest.raises(ValueError, match="invalid camera id"):
        FleetConfig(camera_prefix="Bad/")
    config = FleetConfig(cameras=100)
    assert not config.use_lwt
    assert config.client_count == 4
    assert sorted(c for group in config.cameras_of_client() for c in group) == config.camera_ids()
    assert FleetConfig(cameras=3).client_count == 3


def test_a_degraded_camera_reports_a_dark_noisy_picture_that_the_schema_accepts() -> None:
    rng = random.Random(7)
    degraded = HealthModel("cam-001", rng, fps=10.0, degraded=True)
    healthy = HealthModel("cam-002", rng, fps=10.0)
    now = datetime.now(UTC)
    for _ in range(50):
        bad = HealthSample.model_validate(degraded.sample(now, 5.0))
        good = HealthSample.model_validate(healthy.sample(now, 5.0))
        assert (bad.brightness or 0.0) <= DEGRADED_BRIGHTNESS[1]
        assert (bad.noise_level or 0.0) >= DEGRADED_NOISE[0]
        assert bad.status == "warning"
        assert (good.noise_level or 0.0) < DEGRADED_NOISE[0]
