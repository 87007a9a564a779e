"""The Frigate bridge with payloads shaped exactly as Frigate's MQTT documentation shows.

``DOCUMENTED_UPDATE`` is the ``frigate/events`` example of docs.frigate.video/integrations/mqtt
(the ``// ...`` comments removed, which JSON does not allow); ``new`` and ``end`` messages are
the same object at the start and the end of its life, as Frigate sends them. The last test
COPYs decoded rows into a real ``camera_events`` table through the runtime's writer.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from vigil_ingest.decode import Decoded, DecodeLimits, Rejected
from vigil_ingest.frigate import decode_frigate_event, frigate_frame_number
from vigil_ingest.registry import CameraInfo
from vigil_runtime.copy_writer import CopyWriter, Row
from vigil_runtime.partitions import PartitionHelper
from vigil_schema.enums import DesiredState, RejectReason
from vigil_schema.tables import CAMERA_EVENTS

DOCUMENTED_UPDATE: dict[str, Any] = json.loads("""
{
  "type": "update",
  "before": {
    "id": "1607123955.475377-mxklsc",
    "camera": "front_door",
    "frame_time": 1607123961.837752,
    "snapshot_time": 1607123961.837752,
    "label": "person",
    "sub_label": null,
    "top_score": 0.958984375,
    "false_positive": false,
    "start_time": 1607123955.475377,
    "end_time": null,
    "score": 0.7890625,
    "box": [424, 500, 536, 712],
    "area": 23744,
    "ratio": 2.113207,
    "region": [264, 450, 667, 853],
    "current_zones": ["driveway"],
    "entered_zones": ["yard", "driveway"],
    "thumbnail": null,
    "has_snapshot": false,
    "has_clip": false,
    "active": true,
    "stationary": false,
    "motionless_count": 0,
    "position_changes": 2,
    "attributes": {
      "face": 0.64
    },
    "current_attributes": [],
    "current_estimated_speed": 0.71,
    "velocity_angle": 180,
    "recognized_license_plate": "ABC12345",
    "recognized_license_plate_score": 0.933451
  },
  "after": {
    "id": "1607123955.475377-mxklsc",
    "camera": "front_door",
    "frame_time": 1607123962.082975,
    "snapshot_time": 1607123961.837752,
    "label": "person",
    "sub_label": ["John Smith", 0.79],
    "top_score": 0.958984375,
    "false_positive": false,
    "start_time": 1607123955.475377,
    "end_time": null,
    "score": 0.87890625,
    "box": [432, 496, 544, 854],
    "area": 40096,
    "ratio": 1.251397,
    "region": [218, 440, 693, 915],
    "current_zones": ["yard", "driveway"],
    "entered_zones": ["yard", "driveway"],
    "thumbnail": null,
    "has_snapshot": false,
    "has_clip": false,
    "active": true,
    "stationary": false,
    "motionless_count": 0,
    "position_changes": 2,
    "attributes": {
      "face": 0.86
    },
    "current_attributes": [
      {
        "label": "face",
        "box": [442, 506, 534, 524],
        "score": 0.86
      }
    ],
    "current_estimated_speed": 0.77,
    "velocity_angle": 180,
    "recognized_license_plate": "ABC12345",
    "recognized_license_plate_score": 0.933451
  }
}
""")
"""docs.frigate.video/integrations/mqtt, ``frigate/events``, verbatim but for comments."""

FRAME_TIME = DOCUMENTED_UPDATE["after"]["frame_time"]
NOW = datetime.fromtimestamp(FRAME_TIME, UTC) + timedelta(seconds=2)
"""The tests run "at" the documented event's time (the example is from 2020)."""
LIMITS = DecodeLimits(default_max_age=timedelta(days=30))


def documented_new() -> dict[str, Any]:
    """The object's first message: ``type`` new, ``before`` = ``after`` = its first state."""
    first = copy.deepcopy(DOCUMENTED_UPDATE["before"])
    first.update(frame_time=first["start_time"], current_zones=[], entered_zones=[])
    return {"type": "new", "before": copy.deepcopy(first), "after": first}


def documented_end() -> dict[str, Any]:
    """The object's last message: ``type`` end, ``end_time`` set on ``after``."""
    last = copy.deepcopy(DOCUMENTED_UPDATE["after"])
    last.update(end_time=last["frame_time"] + 1.5, has_clip=True, has_snapshot=True)
    return {"type": "end", "before": copy.deepcopy(DOCUMENTED_UPDATE["after"]), "after": last}


@dataclass(frozen=True)
class Inbound:
    """An MQTT message as the bridge sees it."""

    payload: bytes
    received_at: float = NOW.timestamp()
    topic: str = "frigate/events"


class Cameras:
    """A fixed registry snapshot (the decoder's input; the real cache is tested elsewhere)."""

    def __init__(self, *cameras: CameraInfo) -> None:
        self._cameras = {camera.id: camera for camera in cameras}

    def get(self, camera_id: str) -> CameraInfo | None:
        return self._cameras.get(camera_id)

    def max_age(self, table: str, default: timedelta) -> timedelta:
        return default


FRONT_DOOR = CameraInfo("front_door", DesiredState.ACTIVE, 60)
REGISTRY = Cameras(FRONT_DOOR, CameraInfo("porch-01", DesiredState.ACTIVE, 60))


def decode(
    message: dict[str, Any] | bytes,
    registry: Cameras = REGISTRY,
    camera_map: dict[str, str] | None = None,
) -> Decoded | Rejected:
    payload = message if isinstance(message, bytes) else json.dumps(message).encode()
    return decode_frigate_event(Inbound(payload), registry, NOW, LIMITS, camera_map)


def accepted(message: dict[str, Any], **kwargs: Any) -> Decoded:
    result = decode(message, **kwargs)
    assert isinstance(result, Decoded), result
    return result


def rejected(message: dict[str, Any] | bytes, **kwargs: Any) -> Rejected:
    result = decode(message, **kwargs)
    assert isinstance(result, Rejected), result
    return result


def row_of(decoded: Decoded) -> dict[str, Any]:
    (row,) = decoded.rows[CAMERA_EVENTS.name]
    return dict(zip(CAMERA_EVENTS.column_names, row, strict=True))


# --------------------------------------------------------------------------- mapping


def test_documented_update_becomes_one_object_detected_row() -> None:
    decoded = accepted(DOCUMENTED_UPDATE)
    row = row_of(decoded)
    assert (decoded.camera_id, decoded.kind, decoded.events) == ("front_door", "frigate", 1)
    assert row["camera_id"] == "front_door"
    assert row["event_type"] == "object_detected"
    assert row["source"] == "frigate"
    assert row["ts"] == datetime(2020, 12, 4, 23, 19, 22, 82975, tzinfo=UTC)
    assert row["received_at"] == NOW
    assert row["objects"] == [
        {"class": "person", "confidence": 0.87890625, "bbox": [432.0, 496.0, 112.0, 358.0],
         "track_id": "1607123955.475377-mxklsc"}
    ]  # fmt: skip
    assert (row["object_count"], row["max_confidence"]) == (1, 0.87890625)
    assert row["frame_number"] == frigate_frame_number("1607123955.475377-mxklsc", "update",
                                                       FRAME_TIME)  # fmt: skip


def test_frigate_fields_are_kept_in_extra() -> None:
    extra = row_of(accepted(DOCUMENTED_UPDATE))["extra"]
    after = DOCUMENTED_UPDATE["after"]
    assert extra["frigate_id"] == after["id"]
    assert (extra["type"], extra["camera"]) == ("update", "front_door")
    assert extra["current_zones"] == ["yard", "driveway"]
    assert extra["entered_zones"] == ["yard", "driveway"]
    assert extra["sub_label"] == ["John Smith", 0.79]
    assert (extra["stationary"], extra["active"], extra["false_positive"]) == (False, True, False)
    assert extra["box"] == [432, 496, 544, 854]
    assert extra["top_score"] == 0.958984375
    assert extra["attributes"] == {"face": 0.86}
    assert extra["current_attributes"] == after["current_attributes"]
    assert extra["recognized_license_plate"] == "ABC12345"
    assert "thumbnail" not in extra
    assert "before" not in extra


def test_stream_entry_and_live_state() -> None:
    decoded = accepted(DOCUMENTED_UPDATE)
    (entry,) = decoded.entries
    assert entry.stream == "vigil:events"
    assert (entry.fields["v"], entry.fields["type"]) == ("1", "events")
    data = json.loads(entry.fields["data"])
    assert (data["camera_id"], data["source"]) == ("front_door", "frigate")
    assert data["events"][0]["objects"][0]["class"] == "person"
    assert decoded.state["last_seen"] == NOW.isoformat()
    assert decoded.source_ts == row_of(decoded)["ts"]


def test_new_update_end_are_three_distinct_rows() -> None:
    keys = {
        (row["camera_id"], row["event_type"], row["frame_number"], row["ts"])
        for row in (row_of(accepted(m)) for m in (documented_new(), DOCUMENTED_UPDATE,
                                                 documented_end()))
    }  # fmt: skip
    assert len(keys) == 3
    end = row_of(accepted(documented_end()))
    assert end["extra"]["type"] == "end"
    assert end["extra"]["end_time"] == pytest.approx(FRAME_TIME + 1.5)


def test_end_repeating_the_last_update_frame_is_still_distinct() -> None:
    end = documented_end()
    end["after"]["frame_time"] = FRAME_TIME
    update_row, end_row = row_of(accepted(DOCUMENTED_UPDATE)), row_of(accepted(end))
    assert update_row["ts"] == end_row["ts"]
    assert update_row["frame_number"] != end_row["frame_number"]


def test_two_objects_in_the_same_frame_are_distinct() -> None:
    other = copy.deepcopy(DOCUMENTED_UPDATE)
    other["after"]["id"] = "1607123957.100000-abcdef"
    first, second = row_of(accepted(DOCUMENTED_UPDATE)), row_of(accepted(other))
    assert first["ts"] == second["ts"]
    assert first["frame_number"] != second["frame_number"]


def test_redelivery_gives_the_same_dedup_key() -> None:
    first, again = row_of(accepted(DOCUMENTED_UPDATE)), row_of(accepted(DOCUMENTED_UPDATE))
    assert first == again


def test_top_score_is_used_when_score_is_missing() -> None:
    message = copy.deepcopy(DOCUMENTED_UPDATE)
    del message["after"]["score"]
    assert row_of(accepted(message))["objects"][0]["confidence"] == 0.958984375


def test_camera_map_names_the_vigil_camera() -> None:
    decoded = accepted(DOCUMENTED_UPDATE, camera_map={"front_door": "porch-01"})
    assert decoded.camera_id == "porch-01"
    assert row_of(decoded)["extra"]["camera"] == "front_door"


def test_unknown_fields_from_newer_frigate_releases_are_ignored() -> None:
    message = copy.deepcopy(DOCUMENTED_UPDATE)
    message["after"]["some_future_field"] = {"x": 1}
    message["brand_new_top_level"] = True
    assert "some_future_field" not in row_of(accepted(message))["extra"]


# --------------------------------------------------------------------------- rejects


def test_unknown_camera_is_rejected() -> None:
    result = rejected(DOCUMENTED_UPDATE, registry=Cameras())
    assert result.reason is RejectReason.UNKNOWN_CAMERA
    assert "'front_door'" in result.detail
    assert "frigate_camera_map" in result.detail
    assert result.kind == "frigate"


def test_camera_name_that_is_no_vigil_id_needs_a_mapping() -> None:
    message = copy.deepcopy(DOCUMENTED_UPDATE)
    message["after"]["camera"] = "Front Door"
    assert rejected(message).reason is RejectReason.UNKNOWN_CAMERA
    assert accepted(message, camera_map={"Front Door": "front_door"}).camera_id == "front_door"


def test_mapping_to_an_unregistered_camera_is_rejected() -> None:
    result = rejected(DOCUMENTED_UPDATE, camera_map={"front_door": "gone-01"})
    assert result.reason is RejectReason.UNKNOWN_CAMERA
    assert "mapped to 'gone-01'" in result.detail


def test_disabled_camera_is_rejected() -> None:
    registry = Cameras(CameraInfo("front_door", DesiredState.DISABLED, 60))
    result = rejected(DOCUMENTED_UPDATE, registry=registry)
    assert (result.reason, result.camera_id) == (RejectReason.CAMERA_DISABLED, "front_door")


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b'{"type": "update", "after": {', RejectReason.INVALID_JSON, "not JSON"),
        (b"\xff\xfe{}", RejectReason.INVALID_UTF8, "byte 0"),
        (b'{"type": "new", "after": {"score": NaN}}', RejectReason.INVALID_JSON, "NaN"),
        (b"[1, 2]", RejectReason.VALIDATION_ERROR, "Frigate event object"),
        (b'{"type": "new", "after": null}', RejectReason.VALIDATION_ERROR, "Frigate event"),
    ],
)
def test_malformed_payloads_are_rejected(payload: bytes, reason: RejectReason, detail: str) -> None:
    result = rejected(payload)
    assert result.reason is reason
    assert detail in result.detail


def test_oversized_payload_is_rejected() -> None:
    payload = json.dumps(DOCUMENTED_UPDATE).encode()
    result = decode_frigate_event(
        Inbound(payload), REGISTRY, NOW, DecodeLimits(max_payload_bytes=len(payload) - 1)
    )
    assert isinstance(result, Rejected)
    assert result.reason is RejectReason.PAYLOAD_TOO_LARGE


@pytest.mark.parametrize("field", ["id", "camera", "frame_time", "label", "box"])
def test_missing_required_field_is_rejected(field: str) -> None:
    message = copy.deepcopy(DOCUMENTED_UPDATE)
    del message["after"][field]
    result = rejected(message)
    assert result.reason is RejectReason.VALIDATION_ERROR
    assert f"after.{field}" in result.detail


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("type", "delete", "type"),
        ("after.frame_time", "1607123962.08", "after.frame_time"),
        ("after.box", [432, 496, 544], "after.box"),
        ("after.box", [544, 496, 432, 854], "after.box"),
        ("after.score", 1.5, "after.score"),
        ("after.label", "", "after.label"),
        ("after.id", "x" * 65, "after.id"),
        ("after.sub_label", "bad\u0000text", "after.extra"),
    ],
)
def test_wrong_values_are_rejected(field: str, value: Any, where: str) -> None:
    message = copy.deepcopy(DOCUMENTED_UPDATE)
    target = message
    *parents, name = field.split(".")
    for parent in parents:
        target = target[parent]
    target[name] = value
    result = rejected(message)
    assert result.reason is RejectReason.VALIDATION_ERROR
    assert where in result.detail, result.detail


def test_missing_scores_are_rejected() -> None:
    message = copy.deepcopy(DOCUMENTED_UPDATE)
    del message["after"]["score"], message["after"]["top_score"]
    assert "no score or top_score" in rejected(message).detail


def test_frame_time_outside_the_window_is_rejected() -> None:
    future = copy.deepcopy(DOCUMENTED_UPDATE)
    future["after"]["frame_time"] = FRAME_TIME + 3600
    assert rejected(future).reason is RejectReason.TIMESTAMP_FUTURE
    old = copy.deepcopy(DOCUMENTED_UPDATE)
    old["after"]["frame_time"] = FRAME_TIME - 40 * 86400
    assert rejected(old).reason is RejectReason.TIMESTAMP_TOO_OLD


# --------------------------------------------------------------------------- storage


async def test_rows_are_stored_once_even_when_redelivered(pg_pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    messages = []
    for message in (documented_new(), DOCUMENTED_UPDATE, documented_end()):
        shifted = copy.deepcopy(message)  # move the 2020 example to today (retention)
        for state in (shifted["before"], shifted["after"]):
            state["frame_time"] += now.timestamp() - FRAME_TIME - 5
        messages.append(json.dumps(shifted).encode())
    rows: list[Row] = []
    for payload in messages + messages:  # the broker redelivers every message once
        result = decode_frigate_event(Inbound(payload, now.timestamp()), REGISTRY, now, LIMITS)
        assert isinstance(result, Decoded), result
        rows.extend(result.rows[CAMERA_EVENTS.name])
    async with CopyWriter(pg_pool, CAMERA_EVENTS, conflict=True,
                          partitions=PartitionHelper(pg_pool)) as writer:  # fmt: skip
        await writer.add_many(rows[:3])
        await writer.flush()
        await writer.add_many(rows[3:])
    stored = await pg_pool.fetch(
        "SELECT extra->>'type' AS type, source, objects FROM camera_events ORDER BY ts, id"
    )
    assert [(r["type"], r["source"]) for r in stored] == [
        ("new", "frigate"), ("update", "frigate"), ("end", "frigate")
    ]  # fmt: skip
    assert stored[1]["objects"][0]["track_id"] == "1607123955.475377-mxklsc"
