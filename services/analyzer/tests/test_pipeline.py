"""FramePipeline against real Redis and PostgreSQL (as the analyzer's role), on each backend.

Every test runs on YOLOv3-tiny (darknet) and on the onnx backend with a built model whose
boxes are planted (``BUS_PLANTED``); where darknet's expectations are about the photograph,
the onnx ones are exact. Frames are ``vigil:frames`` entries exactly as the ingest writes
them (an Envelope of a FrameMessage with the JPEG attached), read by the runtime's
StreamConsumer with the pipeline as its handler: rows, ``vigil:detections`` entries, zones
and occupancy, alert candidates, redelivery, bad entries, the rate cap, batching across
cameras and tracking.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import cv2
import psycopg
import pytest
import pytest_asyncio
import redis.asyncio

from vigil_analyzer.camera_zones import ZoneRegistry
from vigil_analyzer.detectors.base import BoxDetection, Detector, Image
from vigil_analyzer.detectors.postprocess import letterbox_blob
from vigil_analyzer.frames import decode_full
from vigil_analyzer.outputs import Outputs, heatmap_checkpoint_key
from vigil_analyzer.pipeline import GROUP, FramePipeline
from vigil_analyzer.settings import AnalyzerSettings
from vigil_analyzer.testing import BUS_PLANTED, PlantedBox
from vigil_runtime.streams import StreamConsumer, StreamEntry
from vigil_schema.messages import (
    JPEG_FIELD,
    AlertCandidate,
    DeadLetter,
    DetectionMessage,
    FrameMessage,
)
from vigil_schema.mqtt import FrameHeader
from vigil_schema.streams import ALERTS, DETECTIONS, DLQ, FRAMES, Envelope

pytestmark = pytest.mark.asyncio

CAMERA = "cam-pipe"
EVERYWHERE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
LEFT_HALF = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]
MODEL = {"darknet": "yolov3-tiny", "onnx": "planted"}


class RecordingDetector:
    """The real detector, remembering how many frames each ``detect`` call got."""

    def __init__(self, inner: Detector) -> None:
        self.inner = inner
        self.backend, self.model = inner.backend, inner.model
        self.max_batch, self.class_names = inner.max_batch, inner.class_names
        self.calls: list[int] = []

    def detect(self, images: Sequence[Image]) -> list[list[BoxDetection]]:
        self.calls.append(len(images))
        return self.inner.detect(images)


@pytest.fixture(params=["darknet", "onnx"])
def detector(request: pytest.FixtureRequest) -> RecordingDetector:
    """Each backend: darknet (YOLOv3-tiny) and onnx (planted boxes)."""
    name = "darknet_detector" if request.param == "darknet" else "planted_onnx_detector"
    return RecordingDetector(request.getfixturevalue(name))


def jpeg_of(image: Image) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(data.tobytes())


def frame_fields(camera: str, number: int, ts: datetime, jpeg: bytes) -> dict[str, Any]:
    header = FrameHeader(camera_id=camera, ts=ts, frame_number=number, size_bytes=len(jpeg))
    return Envelope.wrap(FrameMessage(header=header), attachments={JPEG_FIELD: jpeg}).to_fields()


def register(database_url: str, camera: str, zones: list[dict[str, Any]], state: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO cameras (id, name, desired_state, site, zone_config) "
            "VALUES (%s, %s, %s, 'hq', %s)",
            (camera, camera, state, json.dumps({"zones": zones})),
        )


class Harness:
    """A pipeline wired like vigil-analyzer's, on this test's Redis db and database."""

    def __init__(self, pool: Any, client: redis.asyncio.Redis, detector: Detector,
                 settings: AnalyzerSettings) -> None:  # fmt: skip
        self.pool, self.redis = pool, client
        self.zones = ZoneRegistry(pool)
        self.outputs = Outputs(pool, client)
        self.pipeline = FramePipeline(detector, self.zones, self.outputs, client, settings)
        self.consumer = StreamConsumer(client, FRAMES, GROUP, "t1", self.pipeline.handle,
                                       batch_size=16, block_ms=50)  # fmt: skip

    async def publish(self, *fields: dict[str, Any]) -> None:
        for entry in fields:
            await self.redis.xadd(FRAMES, cast(Any, entry))

    async def drain(self) -> None:
        while await self.consumer.poll_once():
            pass

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def stream(self, name: str) -> list[Envelope]:
        entries: Any = await self.redis.xrange(name)
        return [Envelope.from_fields(fields) for _id, fields in entries]


@pytest_asyncio.fixture
async def harness(
    database_url: str,
    pg_pool_as: Callable[[str], Awaitable[Any]],
    redis_client: redis.asyncio.Redis,
    detector: RecordingDetector,
) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    made: list[Harness] = []

    async def make(zones: list[dict[str, Any]] | None = None, state: str = "active",
                   **overrides: Any) -> Harness:  # fmt: skip
        register(database_url, CAMERA, zones or [], state)
        settings = AnalyzerSettings(_env_file=None, instance="t1", **overrides)
        pool = await pg_pool_as("vigil_analyzer")
        built = Harness(pool, redis_client, detector, settings)
        await built.zones.start()
        await built.consumer.ensure_group()
        made.append(built)
        return built

    yield make
    for built in made:
        await built.outputs.close(5)
        await built.zones.close()
        built.pipeline.close()


async def test_a_frame_becomes_rows_a_detection_entry_and_live_state(
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image, detector: RecordingDetector
) -> None:
    h = await harness(zones=[{"name": "left", "polygon": LEFT_HALF, "classes": ["person"]}])
    ts = datetime.now(UTC).replace(microsecond=0)
    await h.publish(frame_fields(CAMERA, 7, ts, jpeg_of(bus_jpg)))
    await h.drain()

    rows = await h.rows("SELECT * FROM detections WHERE camera_id = $1 ORDER BY det_index", CAMERA)
    persons = [r for r in rows if r["class_name"] == "person"]
    assert len(persons) >= 3
    assert [r["det_index"] for r in rows] == list(range(len(rows)))
    assert {r["model"] for r in rows} == {MODEL[detector.backend]}
    assert all(r["ts"] == ts and r["frame_number"] == 7 for r in rows)
    left = [r for r in persons if r["bbox_x"] + r["bbox_w"] / 2 < 0.5]
    assert all(r["zone_ids"] == ["left"] for r in left)

    (entry,) = await h.stream(DETECTIONS)
    message = entry.unwrap(DetectionMessage)
    assert (message.camera_id, message.frame_number, len(message.detections)) == (
        CAMERA, 7, len(rows),
    )  # fmt: skip
    occupancy = await h.rows("SELECT * FROM occupancy_events WHERE camera_id = $1", CAMERA)
    assert [(r["zone_id"], r["object_class"], r["occupied_count"]) for r in occupancy] == [
        ("left", "person", len(left))
    ]
    assert await h.redis.exists(heatmap_checkpoint_key(CAMERA))
    state = await h.redis.hgetall(f"vigil:camera:{CAMERA}:state")
    assert state[b"analyzer_objects"] == str(len(rows)).encode()
    assert json.loads(state[b"analyzer_occupancy"]) == {"left": len(left)}


async def test_a_redelivered_batch_stores_and_publishes_nothing_twice(
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image
) -> None:
    h = await harness(zones=[{"name": "all", "polygon": EVERYWHERE}])
    ts = datetime.now(UTC).replace(microsecond=0)
    fields = frame_fields(CAMERA, 1, ts, jpeg_of(bus_jpg))
    await h.publish(fields)
    await h.drain()
    before = await h.rows("SELECT count(*) AS n FROM detections WHERE camera_id = $1", CAMERA)
    occupancy_sql = "SELECT zone_id, object_class, occupied_count FROM occupancy_events ORDER BY 2"
    occupancy = await h.rows(occupancy_sql)
    assert occupancy
    # a second analyzer (fresh state) handles the same entry again, as after a kill -9
    settings = AnalyzerSettings(_env_file=None, instance="t2")
    again = FramePipeline(h.pipeline._detector, h.zones, h.outputs, h.redis, settings)
    entries: Any = await h.redis.xrange(FRAMES)
    await again.handle([StreamEntry(eid, dict(f), 2) for eid, f in entries])
    again.close()
    after = await h.rows("SELECT count(*) AS n FROM detections WHERE camera_id = $1", CAMERA)
    assert before[0]["n"] == after[0]["n"] > 0
    assert len(await h.stream(DETECTIONS)) == 1
    assert await h.rows(occupancy_sql) == occupancy


async def test_unreadable_entries_are_dead_lettered_and_the_rest_analysed(
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image
) -> None:
    h = await harness()
    ts = datetime.now(UTC).replace(microsecond=0)
    good = frame_fields(CAMERA, 3, ts, jpeg_of(bus_jpg))
    not_jpeg = frame_fields(CAMERA, 4, ts + timedelta(seconds=1), b"\xff\xd8 not a jpeg")
    await h.publish({"v": "1", "type": "frame", "data": "{"}, not_jpeg, good)
    await h.drain()
    letters = [e.unwrap(DeadLetter) for e in await h.stream(DLQ)]
    assert sorted(letter.error.split(":")[0] for letter in letters) == [
        "bad_envelope", "undecodable",
    ]  # fmt: skip
    assert all(letter.stream == FRAMES for letter in letters)
    rows = await h.rows("SELECT DISTINCT frame_number FROM detections WHERE camera_id = $1",
                        CAMERA)  # fmt: skip
    assert [r["frame_number"] for r in rows] == [3]
    assert await h.redis.xpending(FRAMES, GROUP) == {"pending": 0, "min": None, "max": None,
                                                     "consumers": []}  # fmt: skip


async def test_the_rate_cap_skips_frames_closer_than_one_over_detect_fps(
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image
) -> None:
    h = await harness(detect_fps=2.0, motion_threshold=0.0)
    ts = datetime.now(UTC).replace(microsecond=0)
    jpeg = jpeg_of(bus_jpg)
    await h.publish(*(frame_fields(CAMERA, n, ts + timedelta(seconds=n * 0.1), jpeg)
                      for n in range(12)))  # fmt: skip
    await h.drain()
    rows = await h.rows("SELECT DISTINCT frame_number FROM detections WHERE camera_id = $1 "
                        "ORDER BY 1", CAMERA)  # fmt: skip
    assert [r["frame_number"] for r in rows] == [0, 5, 10]


async def test_alert_classes_raise_candidates_unless_the_camera_is_in_maintenance(
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image
) -> None:
    h = await harness(alert_classes=["person"], motion_threshold=0.0, detect_fps=10.0)
    ts = datetime.now(UTC).replace(microsecond=0)
    jpeg = jpeg_of(bus_jpg)
    await h.publish(*(frame_fields(CAMERA, n, ts + timedelta(seconds=n * 0.2), jpeg)
                      for n in range(4)))  # fmt: skip
    await h.drain()
    candidates = [e.unwrap(AlertCandidate) for e in await h.stream(ALERTS)]
    assert candidates
    assert {c.alertname for c in candidates} == {"object_detected"}
    assert all(c.camera_id == CAMERA and c.labels["site"] == "hq" for c in candidates)
    assert len({(c.annotations["track_id"]) for c in candidates}) == len(candidates)


def _bus_frame(box: PlantedBox) -> tuple[float, float, float, float]:
    """A planted box (640 px input) on bus.jpg (810×1080: scale 640/1080, x offset 80)."""
    scale = 640 / 1080
    x0 = (box.cx - box.w / 2 - 80) / scale / 810
    y0 = (box.cy - box.h / 2) / scale / 1080
    return x0, y0, box.w / scale / 810, box.h / scale / 1080


def _bbox(row: asyncpg.Record) -> tuple[float, float, float, float]:
    return row["bbox_x"], row["bbox_y"], row["bbox_w"], row["bbox_h"]


@pytest.mark.parametrize("detector", ["onnx"], indirect=True)
async def test_planted_boxes_become_exact_rows_zones_and_occupancy(
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image
) -> None:
    h = await harness(zones=[{"name": "left", "polygon": LEFT_HALF, "classes": ["person"]},
                             {"name": "all", "polygon": EVERYWHERE}])  # fmt: skip
    ts = datetime.now(UTC).replace(microsecond=0)
    jpeg = jpeg_of(bus_jpg)
    await h.publish(frame_fields(CAMERA, 1, ts, jpeg))
    await h.drain()
    rows = await h.rows("SELECT * FROM detections WHERE camera_id = $1 ORDER BY det_index", CAMERA)
    blob, _ = letterbox_blob([decode_full(jpeg)], 640)
    car = float(blob.astype("float64").mean())
    assert car > 0.25  # bus.jpg is bright enough for the mean-scored car
    assert [(r["class_name"], round(r["confidence"], 3)) for r in rows] == sorted(
        [
            ("person", 0.92),
            ("person", 0.88),
            ("person", 0.85),
            ("bus", 0.8),
            ("car", round(car, 3)),
        ],
        key=lambda pair: -pair[1],
    )
    by_score = {round(r["confidence"], 2): r for r in rows}
    for box in BUS_PLANTED:
        assert _bbox(by_score[box.score]) == pytest.approx(_bus_frame(box), abs=1e-5)
        left = box.cx < 320  # zone_ids are geometric, whatever the zone's classes
        assert by_score[box.score]["zone_ids"] == (["left", "all"] if left else ["all"])
    occupancy = await h.rows("SELECT zone_id, object_class, occupied_count FROM occupancy_events "
                             "WHERE camera_id = $1 ORDER BY 1, 2", CAMERA)  # fmt: skip
    assert [tuple(r) for r in occupancy] == [
        ("all", "bus", 1), ("all", "car", 1), ("all", "person", 3), ("left", "person", 2),
    ]  # fmt: skip


async def test_a_batch_across_cameras_gives_each_frame_its_own_boxes(
    harness: Callable[..., Awaitable[Harness]],
    database_url: str,
    detector: RecordingDetector,
    bus_jpg: Image,
    dog_jpg: Image,
) -> None:
    register(database_url, "cam-other", [], "active")
    h = await harness()
    ts = datetime.now(UTC).replace(microsecond=0)
    jpegs = {CAMERA: jpeg_of(bus_jpg), "cam-other": jpeg_of(dog_jpg)}
    await h.publish(*(frame_fields(cam, 1, ts, jpeg) for cam, jpeg in jpegs.items()))
    await h.drain()
    assert 2 in detector.calls  # both frames went through one detect call
    for camera, jpeg in jpegs.items():
        rows = await h.rows("SELECT * FROM detections WHERE camera_id = $1 ORDER BY det_index",
                            camera)  # fmt: skip
        [alone] = detector.inner.detect([decode_full(jpeg)])
        assert rows
        assert [r["class_name"] for r in rows] == [b.class_name for b in alone]
        for row, box in zip(rows, alone, strict=True):
            assert row["confidence"] == pytest.approx(box.confidence, abs=1e-5)
            assert _bbox(row) == pytest.approx((box.x, box.y, box.w, box.h), abs=1e-5)


async def test_tracks_keep_their_ids_across_frames(
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image, detector: RecordingDetector
) -> None:
    h = await harness(motion_threshold=0.0, detect_fps=10.0)
    ts = datetime.now(UTC).replace(microsecond=0)
    jpeg = jpeg_of(bus_jpg)
    await h.publish(*(frame_fields(CAMERA, n, ts + timedelta(seconds=n * 0.2), jpeg)
                      for n in range(6)))  # fmt: skip
    await h.drain()
    rows = await h.rows("SELECT frame_number, det_index, class_name, track_id FROM detections "
                        "WHERE camera_id = $1 ORDER BY 1, 2", CAMERA)  # fmt: skip
    frames: dict[int, list[tuple[str, str | None]]] = {}
    for r in rows:
        frames.setdefault(r["frame_number"], []).append((r["class_name"], r["track_id"]))
    assert sorted(frames) == list(range(6))
    assert frames[3] == frames[4] == frames[5], frames  # the same objects, the same ids
    tracked = [(name, track) for name, track in frames[5] if track is not None]
    assert len({track for _name, track in tracked}) == len(tracked)
    assert sum(name == "person" for name, _track in tracked) >= 3, frames
    if detector.backend == "onnx":  # every planted box is confident enough to be tracked
        assert len(tracked) == len(frames[5]) == len(BUS_PLANTED) + 1, frames
