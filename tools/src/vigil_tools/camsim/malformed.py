"""Malformed messages, each of a named :class:`BadKind`, for exercising the ingest's rejects.

Every kind maps to the ``ingest_rejects.reason`` the ingest must record for it
(:data:`EXPECTED_REASON`). ``future_ts`` is well-formed JSON that only the ingest's timestamp
window refuses; everything else already fails :mod:`vigil_schema.mqtt`'s parsers.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from typing import Any, Final

import orjson

from vigil_schema.enums import RejectReason
from vigil_schema.mqtt import MAX_EVENTS_PER_PAYLOAD

FAR_FUTURE: Final = timedelta(days=2)


class BadKind(StrEnum):
    """How a message is broken."""

    NOT_JSON = "not_json"
    INVALID_UTF8 = "invalid_utf8"
    WRONG_TYPE = "wrong_type"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    NAN = "nan"
    OUT_OF_RANGE = "out_of_range"
    FUTURE_TS = "future_ts"
    CAMERA_MISMATCH = "camera_mismatch"
    TOO_MANY_EVENTS = "too_many_events"
    FRAME_MISSING_PROPERTY = "frame_missing_property"
    FRAME_NOT_JPEG = "frame_not_jpeg"


EXPECTED_REASON: Final[dict[BadKind, RejectReason]] = {
    BadKind.NOT_JSON: RejectReason.INVALID_JSON,
    BadKind.INVALID_UTF8: RejectReason.INVALID_UTF8,
    BadKind.WRONG_TYPE: RejectReason.VALIDATION_ERROR,
    BadKind.MISSING_FIELD: RejectReason.VALIDATION_ERROR,
    BadKind.UNKNOWN_FIELD: RejectReason.VALIDATION_ERROR,
    BadKind.NAN: RejectReason.VALIDATION_ERROR,
    BadKind.OUT_OF_RANGE: RejectReason.VALIDATION_ERROR,
    BadKind.FUTURE_TS: RejectReason.TIMESTAMP_FUTURE,
    BadKind.CAMERA_MISMATCH: RejectReason.CAMERA_MISMATCH,
    BadKind.TOO_MANY_EVENTS: RejectReason.VALIDATION_ERROR,
    BadKind.FRAME_MISSING_PROPERTY: RejectReason.MISSING_PROPERTY,
    BadKind.FRAME_NOT_JPEG: RejectReason.VALIDATION_ERROR,
}
"""The reject reason the ingest must record for each kind."""

_JSON_KINDS: Final = (
    BadKind.NOT_JSON,
    BadKind.INVALID_UTF8,
    BadKind.WRONG_TYPE,
    BadKind.MISSING_FIELD,
    BadKind.UNKNOWN_FIELD,
    BadKind.NAN,
    BadKind.OUT_OF_RANGE,
    BadKind.FUTURE_TS,
    BadKind.CAMERA_MISMATCH,
)
EVENT_KINDS: Final = (*_JSON_KINDS, BadKind.TOO_MANY_EVENTS)
HEALTH_KINDS: Final = _JSON_KINDS
FRAME_KINDS: Final = (BadKind.FRAME_MISSING_PROPERTY, BadKind.FRAME_NOT_JPEG)

_NAN_MARK: Final = "__camsim_nan__"
"""Placeholder replaced by a bare ``NaN`` token after serialisation (JSON has no NaN)."""

Item = dict[str, Any]
Mutation = Callable[[Item, str], None]


def _wrong_type(item: Item, _camera: str) -> None:
    item["frame_number" if "frame_number" in item else "frame_drops"] = "12"


def _missing_field(item: Item, _camera: str) -> None:
    del item["ts"]


def _unknown_field(item: Item, _camera: str) -> None:
    item["motion_scroe"] = 0.5  # the misspelling a lenient parser would drop silently


def _nan(item: Item, _camera: str) -> None:
    item["motion_score" if "frame_number" in item else "brightness"] = _NAN_MARK


def _out_of_range(item: Item, _camera: str) -> None:
    if "frame_number" in item:
        item["motion_score"] = 1.5
    else:
        item["cpu_percent"] = 250.0


def _future_ts(item: Item, _camera: str) -> None:
    item["ts"] = item["ts"] + FAR_FUTURE


def _camera_mismatch(item: Item, camera: str) -> None:
    item["camera_id"] = f"{camera}-other"[:64]


_MUTATIONS: Final[dict[BadKind, Mutation]] = {
    BadKind.WRONG_TYPE: _wrong_type,
    BadKind.MISSING_FIELD: _missing_field,
    BadKind.UNKNOWN_FIELD: _unknown_field,
    BadKind.NAN: _nan,
    BadKind.OUT_OF_RANGE: _out_of_range,
    BadKind.FUTURE_TS: _future_ts,
    BadKind.CAMERA_MISMATCH: _camera_mismatch,
}


def _dump(value: Any) -> bytes:
    return orjson.dumps(value).replace(f'"{_NAN_MARK}"'.encode(), b"NaN")


def corrupt_json(kind: BadKind, items: list[Item], camera_id: str, rng: random.Random) -> bytes:
    """Serialise ``items`` (events, or one health sample) broken the ``kind`` way.

    One item is damaged (a batch is rejected as a whole); one item is sent as an object,
    several as an array.
    """
    damaged = [dict(item) for item in items]
    target = damaged[rng.randrange(len(damaged))]
    body: Any = damaged if len(damaged) > 1 else damaged[0]
    if kind is BadKind.NOT_JSON:
        text = _dump(body)
        return text[: max(1, len(text) // 2)]
    if kind is BadKind.INVALID_UTF8:
        target["scene_hash" if "frame_number" in target else "message"] = "\x01MARK\x01"
        return _dump(body).replace(b"\\u0001MARK\\u0001", b"\xff\xfe\xfd")
    if kind is BadKind.TOO_MANY_EVENTS:
        return _dump([damaged[0]] * (MAX_EVENTS_PER_PAYLOAD + 1))
    mutation = _MUTATIONS.get(kind)
    if mutation is None:
        raise ValueError(f"{kind} does not apply to JSON payloads")
    mutation(target, camera_id)
    return _dump(body)


TRUNCATED_JPEG: Final = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
"""The first bytes of a JPEG whose transfer was cut: no EOI marker."""
