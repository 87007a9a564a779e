"""Fuzz: malformed MQTT traffic interleaved with good messages, at one running vigil-ingest.

Hypothesis draws messages — events, health samples and frames, good or broken in one known
way each: not JSON, non-UTF-8, wrong types, missing or unknown fields, NaN/Infinity, U+0000,
out-of-range values, arrays over the 1000-event cap, another camera's id, far-future and
too-old timestamps, payloads and frames over the size limits, frames without (or with
broken) user properties or not JPEG, invalid camera ids in the topic, unregistered and
disabled cameras — and publishes every example at the same service (one process for the
whole test). Then:

* every broken message is in ``ingest_rejects`` exactly once, with the reason its breakage
  maps to (compared per reason, and row by row on topic, payload and size);
* every good message is stored: its events in camera_events, its metrics in health_metrics,
  its frame in frame_metadata (exact counts);
* the service never crashed: same process, still ready, its reject counters agree.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image

from vigil_runtime.testing.services import ServiceProcess
from vigil_schema.enums import EventType, RejectReason
from vigil_schema.mqtt import MAX_EVENTS_PER_PAYLOAD, CameraEvent
from vigil_schema.tables import INGEST_REJECT_PAYLOAD_MAX_BYTES
from vigil_schema.topics import events_topic, frames_topic, health_topic

if TYPE_CHECKING:
    from services.ingest.tests.conftest import IngestHarness
    from vigil_runtime.testing.mqtt_publisher import Publisher

EXAMPLES_PER_CATEGORY = 8
"""Hypothesis examples per way of breaking a message (27 ways: 216 broken + 216 good)."""
REJECTED = "vigil_ingest_rejected_total"
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_FRAME_BYTES = 32 * 1024
LIMITS_ENV = {
    "VIGIL_MAX_PAYLOAD_BYTES": str(MAX_PAYLOAD_BYTES),
    "VIGIL_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES),
}
"""Lowered size limits, so that oversized payloads stay cheap to send."""

Json = dict[str, Any]
Props = tuple[tuple[str, str], ...]


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Good:
    """A valid message; frame numbers and timestamps are stamped when it is sent, so no two
    good messages ever share a dedup key however often Hypothesis repeats a value."""

    kind: str  # "events" | "health" | "frames"
    camera: str
    items: tuple[Json, ...] = ()
    batch: bool = False
    ts_offsets: tuple[float, ...] = ()
    """Seconds from now for each item's ts (events), within the accepted window."""
    utc_offset_min: int = 0
    with_size: bool = True
    """Frames: send width/height user properties (else the ingest reads the JPEG's SOF)."""


@dataclass(frozen=True)
class Bad:
    """A broken message and the reject reason it must get."""

    reason: RejectReason
    topic: str
    payload: bytes
    properties: Props | None = None


@dataclass(frozen=True)
class Cameras:
    """The fuzz test's camera ids."""

    good: tuple[str, ...]
    disabled: str
    unknown: str
    token: str


def rfc3339(ts: datetime, utc_offset_min: int = 0) -> str:
    """``ts`` as RFC 3339 text with the given UTC offset (``Z`` for zero)."""
    local = ts.astimezone(timezone(timedelta(minutes=utc_offset_min)))
    text = local.isoformat()
    return text.replace("+00:00", "Z") if utc_offset_min == 0 else text


def dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode()


def tiny_jpeg() -> bytes:
    """A real 24x16 JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (40, 120, 200)).save(out, format="JPEG", quality=70)
    return out.getvalue()


JPEG = tiny_jpeg()
assert not JPEG[: len(JPEG) // 2].endswith(b"\xff\xd9"), "half a JPEG must look truncated"


# --------------------------------------------------------------------------- strategies

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    min_size=1,
    max_size=64,
)
unit = st.floats(0.0, 1.0)
coordinate = st.floats(0.0, 100_000.0)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
detected = st.fixed_dictionaries(
    {"class": text, "confidence": unit, "bbox": st.lists(coordinate, min_size=4, max_size=4)},
    optional={"track_id": st.integers(0, 2**63 - 1) | text},
)
event_fields = st.fixed_dictionaries(
    {"event_type": st.sampled_from([kind.value for kind in EventType])},
    optional={
        "motion_score": unit,
        "objects": st.lists(detected, max_size=3),
        "motion_regions": st.lists(
            st.fixed_dictionaries(
                {"bbox": st.lists(coordinate, min_size=4, max_size=4)}, optional={"score": unit}
            ),
            max_size=2,
        ),
        "scene_hash": text,
        "scene_change_score": unit,
        "fps_actual": st.floats(0.0, 1000.0),
        "bandwidth_usage_bytes": st.integers(0, 2**63 - 1),
        "inference_ms": st.floats(0.0, 86_400_000.0),
        "extra": st.dictionaries(text, json_values, max_size=4),
    },
)
health_fields = st.fixed_dictionaries(
    {"cpu_percent": st.floats(0.0, 100.0)},
    optional={
        "status": st.sampled_from(["ok", "warning", "critical"]),
        "message": st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200),
        "brightness": st.floats(0.0, 1e6),
        "frame_drops": st.integers(0, 2**40),
        "latency_ms": st.floats(0.0, 86_400_000.0),
        "temperature_c": st.floats(-100.0, 200.0),
        "uptime_s": st.floats(0.0, 1e9),
    },
)
ts_offset = st.floats(-20 * 86_400.0, 60.0)  # within camera_events' 30 days, < 5 min ahead
utc_offsets = st.sampled_from([0, 0, 60, -300, 330, 840])


def valid_event(frame_number: int = 1, fields: Json | None = None) -> Json:
    """A valid event at the current time (``fields`` added or overriding)."""
    now = rfc3339(datetime.now(UTC))
    return {"event_type": "motion", "ts": now, "frame_number": frame_number, **(fields or {})}


GOOD_KINDS = ("events", "health", "frames")


@st.composite
def good_messages(draw: st.DrawFn, cameras: Cameras, kind: str) -> Good:
    """A valid message of ``kind`` (one of :data:`GOOD_KINDS`)."""
    camera = draw(st.sampled_from(cameras.good))
    if kind == "frames":
        return Good("frames", camera, with_size=draw(st.booleans()))
    if kind == "health":
        return Good("health", camera, items=(draw(health_fields),))
    items = draw(st.lists(event_fields, min_size=1, max_size=30))
    batch = len(items) > 1 or draw(st.booleans())
    if draw(st.booleans()):  # the payload may name its own camera
        items = [{**item, "camera_id": camera} for item in items]
    offsets = tuple(draw(ts_offset) for _ in items)
    return Good("events", camera, tuple(items), batch, offsets, draw(utc_offsets))


def _broken_event(draw: st.DrawFn, camera: str, way: str) -> tuple[RejectReason, bytes]:
    """An events payload broken the ``way`` way, and the reason it must be rejected with."""
    base = valid_event(draw(st.integers(0, 10**6)), draw(event_fields))
    reason, payload = _EVENT_BREAKERS[way](draw, base, camera)
    if payload.lstrip()[:1] != b"[" and draw(st.booleans()):
        payload = b"[" + dump(valid_event(2)) + b"," + payload + b"]"  # bad item in a batch
        if reason is RejectReason.INVALID_JSON and draw(st.booleans()):
            payload = b"  \n" + payload
    return reason, payload


def _not_json(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    text_ = json.dumps(base)  # ASCII: any prefix is valid UTF-8 and unfinished JSON
    cut = draw(st.integers(1, len(text_) - 1))
    garbage = draw(st.sampled_from([text_[:cut], "<" + draw(st.text(max_size=40)), "{'a': 1}"]))
    return RejectReason.INVALID_JSON, garbage.encode()


def _non_utf8(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
    raw = dump({**base, "scene_hash": "@@MARK@@"})
    return RejectReason.INVALID_UTF8, raw.replace(b"@@MARK@@", b"ab" + bad + b"cd")


def _wrong_type(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    name, value = draw(
        st.sampled_from(
            [
                ("frame_number", "12"),
                ("frame_number", 3.5),
                ("frame_number", True),
                ("frame_number", None),
                ("ts", 1_700_000_000),
                ("ts", "2024-05-01"),
                ("ts", "2024-05-01T12:00:00"),  # no offset
                ("event_type", "explosion"),
                ("event_type", 3),
                ("motion_score", "high"),
                ("motion_score", True),
                ("objects", {"class": "person"}),
                ("objects", [{"class": "person", "confidence": 0.5}]),  # no bbox
                ("extra", [1, 2]),
            ]
        )
    )
    return RejectReason.VALIDATION_ERROR, dump({**base, name: value})


def _missing(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    name = draw(st.sampled_from(["event_type", "ts", "frame_number"]))
    return RejectReason.VALIDATION_ERROR, dump({k: v for k, v in base.items() if k != name})


def _unknown_field(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    name = draw(text.filter(lambda s: s not in base and s not in _EVENT_FIELD_NAMES))
    return RejectReason.VALIDATION_ERROR, dump({**base, name: 1})


def _non_finite(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    value = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
    where = draw(st.sampled_from(["motion_score", "fps_actual", "extra"]))
    patched = {**base, where: {"x": value} if where == "extra" else value}
    return RejectReason.VALIDATION_ERROR, dump(patched)  # NaN / Infinity / -Infinity tokens


def _nul(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    where = draw(st.sampled_from(["scene_hash", "extra"]))
    patched = {**base, where: {"k": "a\x00b"} if where == "extra" else "a\x00b"}
    return RejectReason.VALIDATION_ERROR, dump(patched)


def _out_of_range(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    name, value = draw(
        st.sampled_from(
            [
                ("motion_score", 1.5),
                ("motion_score", -0.1),
                ("frame_number", -1),
                ("frame_number", 2**63),
                ("fps_actual", 1000.5),
                ("scene_hash", ""),
                ("scene_hash", "x" * 65),
                ("objects", [{"class": "p", "confidence": 0.5, "bbox": [0, 0, 1, 1e9]}]),
            ]
        )
    )
    return RejectReason.VALIDATION_ERROR, dump({**base, name: value})


def _other_camera(draw: st.DrawFn, base: Json, camera: str) -> tuple[RejectReason, bytes]:
    other = draw(st.sampled_from([f"{camera}-x", "lobby-01", "a"]))
    return RejectReason.CAMERA_MISMATCH, dump({**base, "camera_id": other})


def _future(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    ahead = timedelta(seconds=draw(st.floats(600.0, 3650 * 86_400.0)))
    return RejectReason.TIMESTAMP_FUTURE, dump({**base, "ts": rfc3339(datetime.now(UTC) + ahead)})


def _too_old(draw: st.DrawFn, base: Json, _camera: str) -> tuple[RejectReason, bytes]:
    back = timedelta(days=draw(st.floats(31.0, 3650.0)))
    return RejectReason.TIMESTAMP_TOO_OLD, dump({**base, "ts": rfc3339(datetime.now(UTC) - back)})


_EVENT_BREAKERS: dict[str, Callable[[st.DrawFn, Json, str], tuple[RejectReason, bytes]]] = {
    "not_json": _not_json,
    "non_utf8": _non_utf8,
    "wrong_type": _wrong_type,
    "missing": _missing,
    "unknown_field": _unknown_field,
    "non_finite": _non_finite,
    "nul": _nul,
    "out_of_range": _out_of_range,
    "other_camera": _other_camera,
    "future": _future,
    "too_old": _too_old,
}
_EVENT_FIELD_NAMES = frozenset(CameraEvent.model_fields)


@st.composite
def bad_events(draw: st.DrawFn, cameras: Cameras, way: str) -> Bad:
    camera = draw(st.sampled_from(cameras.good))
    reason, payload = _broken_event(draw, camera, way)
    return Bad(reason, events_topic(camera), payload)


@st.composite
def oversized(draw: st.DrawFn, cameras: Cameras, way: str) -> Bad:
    """Over the event cap (a validation error) or over the byte limit."""
    camera = draw(st.sampled_from(cameras.good))
    if way == "too_many_events":
        count = draw(st.integers(MAX_EVENTS_PER_PAYLOAD + 1, MAX_EVENTS_PER_PAYLOAD + 200))
        payload = dump([valid_event(n) for n in range(count)])
        assert len(payload) <= MAX_PAYLOAD_BYTES
        return Bad(RejectReason.VALIDATION_ERROR, events_topic(camera), payload)
    padding = b" " * draw(st.integers(MAX_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES + 4096))
    return Bad(RejectReason.PAYLOAD_TOO_LARGE, events_topic(camera), dump(valid_event()) + padding)


_HEALTH_BREAKERS: dict[str, tuple[RejectReason, Callable[[Json, str], bytes]]] = {
    "out_of_range": (
        RejectReason.VALIDATION_ERROR,
        lambda s, _c: dump({**s, "cpu_percent": 250.0}),
    ),
    "wrong_type": (RejectReason.VALIDATION_ERROR, lambda s, _c: dump({**s, "frame_drops": "3"})),
    "missing_ts": (RejectReason.VALIDATION_ERROR, lambda s, _c: dump({"cpu_percent": 1.0})),
    "array": (RejectReason.VALIDATION_ERROR, lambda s, _c: dump([s])),
    "not_json": (RejectReason.INVALID_JSON, lambda s, _c: dump(s)[:-1]),
    "other_camera": (RejectReason.CAMERA_MISMATCH, lambda s, c: dump({**s, "camera_id": c + "-x"})),
}


@st.composite
def bad_health(draw: st.DrawFn, cameras: Cameras, way: str) -> Bad:
    camera = draw(st.sampled_from(cameras.good))
    sample = {"ts": rfc3339(datetime.now(UTC)), **draw(health_fields)}
    reason, breaker = _HEALTH_BREAKERS[way]
    return Bad(reason, health_topic(camera), breaker(sample, camera))


@st.composite
def bad_frames(draw: st.DrawFn, cameras: Cameras, way: str) -> Bad:
    camera = draw(st.sampled_from(cameras.good))
    props: Props = (("ts", rfc3339(datetime.now(UTC))), ("frame_number", "7"))
    if way == "no_props":
        return Bad(RejectReason.MISSING_PROPERTY, frames_topic(camera), JPEG, None)
    if way == "no_frame_number":
        return Bad(RejectReason.MISSING_PROPERTY, frames_topic(camera), JPEG, props[:1])
    if way == "bad_number":
        broken = (props[0], ("frame_number", draw(st.sampled_from(["-1", "x", "1.5", ""]))))
        return Bad(RejectReason.VALIDATION_ERROR, frames_topic(camera), JPEG, broken)
    if way == "not_jpeg":
        junk = draw(st.binary(min_size=1, max_size=300).filter(lambda b: b[:3] != JPEG[:3]))
        payload = draw(st.sampled_from([junk, JPEG[:-2], JPEG[: len(JPEG) // 2]]))
        return Bad(RejectReason.VALIDATION_ERROR, frames_topic(camera), payload, props)
    size = draw(st.integers(MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES + 4096))
    payload = JPEG[:-2] + b"\x00" * (size - len(JPEG)) + JPEG[-2:]
    return Bad(RejectReason.PAYLOAD_TOO_LARGE, frames_topic(camera), payload, props)


@st.composite
def bad_topics(draw: st.DrawFn, cameras: Cameras, way: str) -> Bad:
    """Valid events on a topic the ingest must refuse: invalid, unknown or disabled camera."""
    payload = dump(valid_event())
    if way == "unknown":
        return Bad(RejectReason.UNKNOWN_CAMERA, events_topic(cameras.unknown), payload)
    if way == "disabled":
        return Bad(RejectReason.CAMERA_DISABLED, events_topic(cameras.disabled), payload)
    token = cameras.token
    bad_id = draw(
        st.sampled_from(
            [f"Cam-{token}", f"-{token}", f"{token}.x", f"{token} x", f"{token}" + "z" * 60]
        )
    )
    return Bad(RejectReason.UNSUPPORTED_TOPIC, f"vigil/cameras/{bad_id}/events", payload)


def bad_categories(cameras: Cameras) -> dict[str, st.SearchStrategy[Bad]]:
    """One strategy per way of breaking a message, so that every way is exercised (a single
    ``one_of`` would let Hypothesis favour the first few)."""
    categories: dict[str, st.SearchStrategy[Bad]] = {}
    for way in _EVENT_BREAKERS:
        categories[f"events/{way}"] = bad_events(cameras, way)
    for way in ("too_many_events", "too_many_bytes"):
        categories[f"events/{way}"] = oversized(cameras, way)
    for way in _HEALTH_BREAKERS:
        categories[f"health/{way}"] = bad_health(cameras, way)
    for way in ("no_props", "no_frame_number", "bad_number", "not_jpeg", "too_big"):
        categories[f"frames/{way}"] = bad_frames(cameras, way)
    for way in ("invalid_id", "unknown", "disabled"):
        categories[f"topic/{way}"] = bad_topics(cameras, way)
    return categories


# --------------------------------------------------------------------------- sending


@dataclass
class Ledger:
    """What was sent: expected rows and rejects."""

    events: int = 0
    metrics: int = 0
    frames: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    rejects: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    """(topic, sha256 of the stored payload prefix, full size) per broken message."""
    sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def reject(self, bad: Bad) -> None:
        stored = bad.payload[:INGEST_REJECT_PAYLOAD_MAX_BYTES]
        digest = hashlib.sha256(stored).hexdigest()
        self.reasons[bad.reason.value] += 1
        self.rejects[(bad.topic, digest, len(bad.payload))] += 1


def render(good: Good, ledger: Ledger) -> tuple[str, bytes, Props | None]:
    """Topic, payload and user properties of a good message, with fresh frame numbers and
    timestamps (so its rows are new), counting the rows it must produce."""
    now = datetime.now(UTC)
    number = next(ledger.sequence)
    if good.kind == "frames":
        ledger.frames += 1
        props: Props = (("ts", rfc3339(now)), ("frame_number", str(number)))
        if good.with_size:
            props += (("width", "24"), ("height", "16"))
        return frames_topic(good.camera), JPEG, props
    if good.kind == "health":
        sample = {**good.items[0], "ts": rfc3339(now - timedelta(milliseconds=number))}
        ledger.metrics += sum(1 for key in sample if key not in ("ts", "status", "message"))
        return health_topic(good.camera), dump(sample), None
    events = []
    for index, (item, offset) in enumerate(zip(good.items, good.ts_offsets, strict=True)):
        ts = now + timedelta(seconds=offset)
        frame_number = number * 1000 + index  # unique per message and event
        events.append(
            {**item, "ts": rfc3339(ts, good.utc_offset_min), "frame_number": frame_number}
        )
    ledger.events += len(events)
    return events_topic(good.camera), dump(events if good.batch else events[0]), None


def fuzz_cameras(harness: IngestHarness) -> Cameras:
    token = harness.namespace.token
    cameras = Cameras(
        good=tuple(harness.namespace.cameras("fz", 3)),
        disabled=f"fd-{token}",
        unknown=f"fu-{token}",
        token=token,
    )
    harness.register(cameras.good)
    harness.register([cameras.disabled], desired_state="disabled")
    return cameras


# --------------------------------------------------------------------------- the test


def publish_examples(
    publisher: Publisher, ledger: Ledger, pairs: st.SearchStrategy[tuple[Good, Bad, bool]]
) -> None:
    """Publish ``EXAMPLES_PER_CATEGORY`` Hypothesis examples: a good and a broken message
    each, in either order (no shrinking: nothing fails while publishing)."""

    @settings(
        max_examples=EXAMPLES_PER_CATEGORY,
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
    )
    @given(pair=pairs)
    def publish(pair: tuple[Good, Bad, bool]) -> None:
        good, bad, good_first = pair
        ledger.reject(bad)
        broken = (bad.topic, bad.payload, bad.properties)
        valid = render(good, ledger)
        for topic, payload, properties in (valid, broken) if good_first else (broken, valid):
            publisher.publish(topic, payload, properties)

    publish()


@pytest.mark.slow
def test_malformed_traffic_is_rejected_with_its_reason_and_good_traffic_stored(
    ingest_harness: IngestHarness,
) -> None:
    harness = ingest_harness
    cameras = fuzz_cameras(harness)
    ledger = Ledger()
    publisher = harness.publisher()
    try:
        with harness.ingest(**LIMITS_ENV) as service:
            pid = service.process.pid
            for index, bad in enumerate(bad_categories(cameras).values()):
                good = good_messages(cameras, GOOD_KINDS[index % len(GOOD_KINDS)])
                publish_examples(publisher, ledger, st.tuples(good, bad, st.booleans()))
            publisher.wait_acked()
            assert_stored(harness, cameras, ledger)
            assert_rejected(harness, ledger)
            assert service.returncode is None, service.describe("the ingest died")
            assert service.process.pid == pid
            assert service.readyz()[0] == 200, service.describe("not ready after the fuzz")
            assert_counted(harness, service)
    finally:
        publisher.close()


def assert_stored(harness: IngestHarness, cameras: Cameras, ledger: Ledger) -> None:
    """Every good message's rows are there, exactly."""
    good = list(cameras.good)
    assert min(ledger.events, ledger.frames, ledger.metrics) > 0, f"too few kinds: {ledger}"
    harness.wait_rows(good, ledger.events)
    frames = harness.rows("SELECT count(*) FROM frame_metadata WHERE camera_id = ANY(%s)", good)
    metrics = harness.rows("SELECT count(*) FROM health_metrics WHERE camera_id = ANY(%s)", good)
    assert frames[0][0] == ledger.frames
    assert metrics[0][0] == ledger.metrics


def assert_rejected(harness: IngestHarness, ledger: Ledger) -> None:
    """Every broken message is one ingest_rejects row with its reason and its payload."""
    total = sum(ledger.reasons.values())
    pattern = f"%{harness.namespace.token}%"

    harness.wait_count(total, "SELECT count(*) FROM ingest_rejects WHERE topic LIKE %s", pattern)
    rows = harness.rows(
        "SELECT reason, topic, payload, payload_size, detail FROM ingest_rejects"
        " WHERE topic LIKE %s",
        pattern,
    )
    assert Counter(row[0] for row in rows) == ledger.reasons
    stored = Counter((row[1], hashlib.sha256(bytes(row[2])).hexdigest(), row[3]) for row in rows)
    assert stored == ledger.rejects
    assert all(row[4] for row in rows), "a reject without a readable detail"
    assert len(rows) == total


def assert_counted(harness: IngestHarness, service: ServiceProcess) -> None:
    """``vigil_ingest_rejected_total{reason}`` agrees with the table, reason by reason.

    Compared with every reject of the database, not only the test's own: a new shared
    subscription also receives the retained status messages other tests' cameras left on
    the session broker (Mosquitto before 2.0.13 sends them), which are rejected as unknown
    cameras.
    """
    stored = harness.rows("SELECT reason, count(*) FROM ingest_rejects GROUP BY reason")
    for reason, count in stored:
        assert harness.metric(service, REJECTED, reason=reason) == count, reason
