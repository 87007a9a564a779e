"""MQTT topic builders, parser and subscription helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil_schema.ids import CAMERA_ID_PATTERN
from vigil_schema.topics import (
    ALL_CAMERAS_FILTER,
    EVENTS_FILTER,
    FRIGATE_EVENTS_TOPIC,
    SHARED_GROUP,
    CameraTopic,
    CameraTopicKind,
    TopicError,
    camera_filter,
    camera_topic,
    events_topic,
    frames_topic,
    frigate_events_topic,
    health_topic,
    ingest_subscriptions,
    parse_camera_topic,
    shared,
    status_topic,
)

camera_ids = st.from_regex(CAMERA_ID_PATTERN, fullmatch=True)


def test_builders_follow_the_contract() -> None:
    assert events_topic("cam-1") == "vigil/cameras/cam-1/events"
    assert health_topic("cam-1") == "vigil/cameras/cam-1/health"
    assert frames_topic("cam-1") == "vigil/cameras/cam-1/frames"
    assert status_topic("cam-1") == "vigil/cameras/cam-1/status"


@given(camera_ids, st.sampled_from(CameraTopicKind))
def test_parse_inverts_build(camera_id: str, kind: CameraTopicKind) -> None:
    assert parse_camera_topic(camera_topic(camera_id, kind)) == CameraTopic(camera_id, kind)


@pytest.mark.parametrize(
    ("topic", "fragment"),
    [
        ("vigil/cameras/cam1", "expected vigil/cameras/<camera_id>/<kind>"),
        ("vigil/cameras/cam1/events/extra", "expected"),
        ("vigil/camera/cam1/events", "expected"),
        ("other/cameras/cam1/events", "expected"),
        ("vigil/cameras/cam1/video", "unknown kind 'video'"),
        ("vigil/cameras/Cam1/events", "invalid camera id 'Cam1'"),
        ("vigil/cameras//events", "invalid camera id ''"),
        ("vigil/cameras/+/events", "invalid camera id '+'"),
        ("frigate/events", "expected"),
        ("", "expected"),
    ],
)
def test_parse_rejects_other_topics_clearly(topic: str, fragment: str) -> None:
    with pytest.raises(TopicError, match="unsupported topic") as info:
        parse_camera_topic(topic)
    assert fragment in str(info.value)


def test_builders_validate_the_camera_id() -> None:
    with pytest.raises(ValueError, match="invalid camera id"):
        events_topic("../etc")
    with pytest.raises(ValueError, match="invalid camera id"):
        camera_filter("a/#")


def test_filters_and_shared_subscriptions() -> None:
    assert EVENTS_FILTER == "vigil/cameras/+/events"
    assert ALL_CAMERAS_FILTER == "vigil/cameras/+/+"
    assert camera_filter("cam1") == "vigil/cameras/cam1/#"
    assert SHARED_GROUP == "ingest"
    assert shared("ingest", EVENTS_FILTER) == "$share/ingest/vigil/cameras/+/events"
    assert ingest_subscriptions() == [
        "$share/ingest/vigil/cameras/+/events",
        "$share/ingest/vigil/cameras/+/health",
        "$share/ingest/vigil/cameras/+/frames",
        "$share/ingest/vigil/cameras/+/status",
    ]
    assert ingest_subscriptions("blue")[0].startswith("$share/blue/")


@pytest.mark.parametrize("group", ["", "a/b", "a+", "#"])
def test_shared_rejects_bad_groups(group: str) -> None:
    with pytest.raises(TopicError, match="group"):
        shared(group, EVENTS_FILTER)


def test_shared_rejects_nested_or_empty_filters() -> None:
    with pytest.raises(TopicError):
        shared("ingest", "")
    with pytest.raises(TopicError):
        shared("ingest", "$share/x/vigil/#")


def test_frigate_topic_prefix() -> None:
    assert FRIGATE_EVENTS_TOPIC == "frigate/events"
    assert frigate_events_topic() == "frigate/events"
    assert frigate_events_topic("site1/frigate/") == "site1/frigate/events"
    for bad in ("", "/", "a/+", "#", "$SYS"):
        with pytest.raises(TopicError, match="prefix"):
            frigate_events_topic(bad)
