"""MQTT topic names: templates, builders, parsers and subscription filters.

Cameras publish under ``vigil/cameras/{camera_id}/{kind}`` where ``kind`` is one of
:class:`CameraTopicKind`. The camera id in the topic is the authority for which camera a
message belongs to (the broker ACL lets a camera write only below its own id), so
:func:`parse_camera_topic` validates it with the same rule as ``cameras.id``.

Ingest replicas share the load with MQTT v5 shared subscriptions: :func:`shared` builds
``$share/{group}/{filter}`` and :func:`ingest_subscriptions` the full list ingest subscribes
to. Frigate's own ``frigate/events`` topic lives under a configurable prefix.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, NamedTuple

from vigil_schema.ids import validate_camera_id

TOPIC_ROOT: Final = "vigil/cameras"
"""Prefix of every per-camera topic."""

SHARED_GROUP: Final = "ingest"
"""Default MQTT v5 shared-subscription group of the ingest replicas."""

FRIGATE_DEFAULT_PREFIX: Final = "frigate"
"""Frigate's default MQTT topic prefix (its ``mqtt.topic_prefix`` setting)."""

FRIGATE_EVENTS_TOPIC: Final = f"{FRIGATE_DEFAULT_PREFIX}/events"
"""Topic Frigate publishes its event JSON to with the default prefix."""

_WILDCARDS: Final = frozenset("+#")


class CameraTopicKind(StrEnum):
    """Last level of a per-camera topic: what the payload is."""

    EVENTS = "events"
    HEALTH = "health"
    FRAMES = "frames"
    STATUS = "status"


class TopicError(ValueError):
    """A topic is not a Vigil camera topic, or a filter/group is malformed."""


class CameraTopic(NamedTuple):
    """A parsed per-camera topic."""

    camera_id: str
    kind: CameraTopicKind


_KINDS: Final = {kind.value: kind for kind in CameraTopicKind}
_ROOT_PARTS: Final = tuple(TOPIC_ROOT.split("/"))


def camera_topic(camera_id: str, kind: CameraTopicKind) -> str:
    """Return the topic ``vigil/cameras/{camera_id}/{kind}``; the id is validated."""
    validate_camera_id(camera_id)
    return f"{TOPIC_ROOT}/{camera_id}/{CameraTopicKind(kind).value}"


def events_topic(camera_id: str) -> str:
    """Topic a camera publishes its events (JSON object or array) to."""
    return camera_topic(camera_id, CameraTopicKind.EVENTS)


def health_topic(camera_id: str) -> str:
    """Topic a camera publishes its health samples to."""
    return camera_topic(camera_id, CameraTopicKind.HEALTH)


def frames_topic(camera_id: str) -> str:
    """Topic a camera publishes JPEG frames to (metadata in MQTT v5 user properties)."""
    return camera_topic(camera_id, CameraTopicKind.FRAMES)


def status_topic(camera_id: str) -> str:
    """Topic of a camera's retained ``online``/``offline`` status (its Last Will)."""
    return camera_topic(camera_id, CameraTopicKind.STATUS)


def parse_camera_topic(topic: str) -> CameraTopic:
    """Split ``vigil/cameras/{camera_id}/{kind}`` into its camera id and kind.

    Raises :class:`TopicError` naming what is wrong for any other topic, an unknown kind, or
    a camera id that does not match ``CAMERA_ID_PATTERN``.
    """
    parts = topic.split("/")
    if len(parts) != 4 or (parts[0], parts[1]) != _ROOT_PARTS:
        raise TopicError(
            f"unsupported topic {topic!r}: expected {TOPIC_ROOT}/<camera_id>/<kind> with kind "
            f"one of {', '.join(_KINDS)}"
        )
    camera_id, kind_text = parts[2], parts[3]
    kind = _KINDS.get(kind_text)
    if kind is None:
        raise TopicError(
            f"unsupported topic {topic!r}: unknown kind {kind_text!r} "
            f"(expected one of {', '.join(_KINDS)})"
        )
    try:
        validate_camera_id(camera_id)
    except ValueError as exc:
        raise TopicError(f"unsupported topic {topic!r}: {exc}") from None
    return CameraTopic(camera_id, kind)


def kind_filter(kind: CameraTopicKind) -> str:
    """Subscription filter matching one kind of topic for every camera."""
    return f"{TOPIC_ROOT}/+/{CameraTopicKind(kind).value}"


EVENTS_FILTER: Final = kind_filter(CameraTopicKind.EVENTS)
HEALTH_FILTER: Final = kind_filter(CameraTopicKind.HEALTH)
FRAMES_FILTER: Final = kind_filter(CameraTopicKind.FRAMES)
STATUS_FILTER: Final = kind_filter(CameraTopicKind.STATUS)
ALL_CAMERAS_FILTER: Final = f"{TOPIC_ROOT}/+/+"
"""Every per-camera topic of every camera."""


def camera_filter(camera_id: str) -> str:
    """``vigil/cameras/{camera_id}/#``: everything one camera may publish (its ACL pattern)."""
    validate_camera_id(camera_id)
    return f"{TOPIC_ROOT}/{camera_id}/#"


def shared(group: str, topic_filter: str) -> str:
    """Return the MQTT v5 shared subscription ``$share/{group}/{topic_filter}``.

    Subscribers using the same group share the messages matching the filter, each message
    going to one of them. The group must be non-empty and contain no ``/``, ``+`` or ``#``.
    """
    if not group or "/" in group or _WILDCARDS & set(group):
        raise TopicError(f"invalid shared subscription group {group!r}")
    if not topic_filter or topic_filter.startswith("$share/"):
        raise TopicError(f"invalid topic filter {topic_filter!r} for a shared subscription")
    return f"$share/{group}/{topic_filter}"


def ingest_subscriptions(group: str = SHARED_GROUP) -> list[str]:
    """The shared subscriptions of an ingest replica: events, health, frames and status."""
    return [
        shared(group, topic_filter)
        for topic_filter in (EVENTS_FILTER, HEALTH_FILTER, FRAMES_FILTER, STATUS_FILTER)
    ]


def frigate_events_topic(prefix: str = FRIGATE_DEFAULT_PREFIX) -> str:
    """Frigate's events topic under its configured ``topic_prefix`` (default ``frigate``)."""
    stripped = prefix.strip("/")
    if not stripped or _WILDCARDS & set(stripped) or stripped.startswith("$"):
        raise TopicError(f"invalid Frigate topic prefix {prefix!r}")
    return f"{stripped}/events"
