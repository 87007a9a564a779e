"""FramePipeline against real Redis and PostgreSQL (as the analyzer's role), YOLOv3-tiny.

Frames are ``vigil:frames`` entries exactly as the ingest writes them (an Envelope of a
FrameMessage with the JPEG attached), read by the runtime's StreamConsumer with the
pipeline as its handler: rows, ``vigil:detections`` entries, zones and occupancy, alert
candidates, redelivery, bad entries and the rate cap.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import cv2
import psycopg
import pytest
import pytest_asyncio
import redis.asyncio

from vigil_analyzer.camera_zones import ZoneRegistry
from vigil_analyzer.detectors.base import Image
from vigil_analyzer.detectors.darknet import DarknetDetector
from vigil_analyzer.outputs import Outputs, heatmap_checkpoint_key
from vigil_analyzer.pipeline import GROUP, FramePipeline
from vigil_analyzer.settings import AnalyzerSettings
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

    def __init__(self, pool: Any, client: redis.asyncio.Redis, detector: DarknetDetector,
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
    darknet_detector: DarknetDetector,
) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    made: list[Harness] = []

    async def make(zones: list[dict[str, Any]] | None = None, state: str = "active",
                   **overrides: Any) -> Harness:  # fmt: skip
        register(database_url, CAMERA, zones or [], state)
        settings = AnalyzerSettings(_env_file=None, instance="t1", **overrides)
        pool = await pg_pool_as("vigil_analyzer")
        built = Harness(pool, redis_client, darknet_detector, settings)
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
    harness: Callable[..., Awaitable[Harness]], bus_jpg: Image
) -> None:
    h = await harness(zones=[{"name": "left", "polygon": LEFT_HALF, "classes": ["person"]}])
    ts = datetime.now(UTC).replace(microsecond=0)
    await h.publish(frame_fields(CAMERA, 7, ts, jpeg_of(bus_jpg)))
    await h.drain()

    rows = await h.rows("SELECT * FROM detections WHERE camera_id = $1 ORDER BY det_index", CAMERA)
    persons = [r for r in rows if r["class_name"] == "person"]
    assert len(persons) >= 3
    assert [r["det_index"] for r in rows] == list(range(len(rows)))
    assert {r["model"] for r in rows} == {"yolov3-tiny"}
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
