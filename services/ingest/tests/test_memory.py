"""The per-message byte estimates of vigil_ingest.memory against what decoding really
allocates (tracemalloc), for each kind of message the ingest holds until its ack."""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from vigil_ingest.decode import Decoded, DecodeLimits, Rejected, decode, reject_row
from vigil_ingest.memory import fanout_bytes, held_bytes
from vigil_ingest.mqtt_types import Inbound

JPEG = b"\xff\xd8\xff\xe0\x00\x10" + b"\x00" * 14 + b"\xff\xd9"
MESSAGES = 200


class _Registry:
    """Every camera registered and enabled; default retention."""

    def get(self, camera_id: str) -> Any:
        return SimpleNamespace(disabled=False)

    def max_age(self, table: str, default: timedelta) -> timedelta:
        return default


def _events(count: int, number: int) -> tuple[str, bytes, tuple[tuple[str, str], ...]]:
    now = datetime.now(UTC).isoformat()
    events = [{"event_type": "motion", "ts": now, "frame_number": number * 1000 + i,
               "motion_score": 0.5, "objects": [{"class": "person", "confidence": 0.9,
                                                 "bbox": [0.1, 0.2, 0.3, 0.4]}]}
              for i in range(count)]  # fmt: skip
    body = events[0] if count == 1 else events
    return "vigil/cameras/cam-1/events", json.dumps(body).encode(), ()


def _health(number: int) -> tuple[str, bytes, tuple[tuple[str, str], ...]]:
    sample = {"ts": datetime.now(UTC).isoformat(), "brightness": 90.0 + number % 7,
              "cpu_percent": 12.5, "fps_actual": 29.9, "status": "ok"}  # fmt: skip
    return "vigil/cameras/cam-1/health", json.dumps(sample).encode(), ()


def _frame(size: int, number: int) -> tuple[str, bytes, tuple[tuple[str, str], ...]]:
    ts = datetime.now(UTC).isoformat()
    payload = JPEG + b"\x00" * (size - len(JPEG))
    return "vigil/cameras/cam-1/frames", payload, (("ts", ts), ("frame_number", str(number)))


def _bad_frame(size: int, number: int) -> tuple[str, bytes, tuple[tuple[str, str], ...]]:
    topic, payload, props = _frame(size, number)
    return topic, b"not a jpeg" + payload, props


def _objects_events(count: int, objects: int, number: int) -> tuple[str, bytes, tuple[()]]:
    """Events full of small detected objects (compact JSON): the largest expansion."""
    now = datetime.now(UTC).isoformat()
    found = [{"class": "p", "confidence": 1, "bbox": [0, 0, 1, 1]}] * objects
    events = [{"event_type": "motion", "ts": now, "frame_number": number * 1000 + i,
               "objects": found} for i in range(count)]  # fmt: skip
    return "vigil/cameras/cam-1/events", json.dumps(events, separators=(",", ":")).encode(), ()


Payload = tuple[str, bytes, tuple[tuple[str, str], ...]]

KINDS: dict[str, Callable[[int], Payload]] = {
    "one event": lambda n: _events(1, n),
    "25 events": lambda n: _events(25, n),
    "25 events of 10 objects": lambda n: _objects_events(25, 10, n),
    "2 events of 256 objects": lambda n: _objects_events(2, 256, n),
    "health": _health,
    "frame 64 KiB": lambda n: _frame(64 * 1024, n),
    "bad frame 256 KiB": lambda n: _bad_frame(256 * 1024, n),
}


def _held_after_decode(messages: list[Inbound]) -> tuple[int, list[Decoded | Rejected]]:
    """Bytes allocated by the messages, their decoding and reject rows, still alive."""
    registry, limits = _Registry(), DecodeLimits()
    tracemalloc.start()
    try:
        results: list[Any] = []
        for message in messages:
            inbound = Inbound(message.topic, bytes(bytearray(message.payload)),
                              message.user_properties, 1, 1, False, 1, time.time())  # fmt: skip
            result = decode(inbound, registry, datetime.now(UTC), limits)
            if isinstance(result, Rejected):
                row = reject_row(inbound.topic, inbound.payload, result, datetime.now(UTC))
                results.append((inbound, result, row))
            else:
                results.append((inbound, result))
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current, [item[1] for item in results]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_held_bytes_cover_what_a_message_keeps_alive(kind: str) -> None:
    messages = [Inbound(*KINDS[kind](n), 0, 1, False, 1, 0.0) for n in range(MESSAGES)]
    measured, results = _held_after_decode(messages)
    estimate = sum(held_bytes(m.topic, len(m.payload)) for m in messages)
    assert all(isinstance(r, Rejected) == kind.startswith("bad") for r in results), results[0]
    assert measured <= estimate, f"{kind}: {measured / MESSAGES:.0f} B per message held"


@pytest.mark.parametrize("kind", sorted(k for k in KINDS if not k.startswith("bad")))
def test_fanout_bytes_cover_the_stream_entries(kind: str) -> None:
    for n in range(20):
        topic, payload, props = KINDS[kind](n)
        inbound = Inbound(topic, payload, props, 1, 1, False, 1, time.time())
        decoded = decode(inbound, _Registry(), datetime.now(UTC), DecodeLimits())
        assert isinstance(decoded, Decoded), decoded
        entries = sum(len(name) + len(value) for item in decoded.entries
                      for name, value in item.fields.items())  # fmt: skip
        assert 0 < entries <= fanout_bytes(len(payload))
