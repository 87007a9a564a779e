"""The pipeline against real PostgreSQL and Redis: rows, acks after commit, dedup, rejects,
frames, health, status, backpressure. No MQTT: messages are fed as Inbound-shaped objects and
acknowledgements are recorded by a plain callable.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from vigil_ingest.pipeline import Pipeline
from vigil_ingest.registry import CameraRegistry
from vigil_ingest.settings import IngestSettings
from vigil_runtime.copy_writer import COPY_DUPLICATES
from vigil_runtime.db import create_pool
from vigil_schema.enums import CameraStatus
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import (
    ACTIVE_CAMERAS_KEY,
    DLQ,
    EVENTS,
    FRAMES,
    HEALTH,
    Envelope,
    camera_state_key,
)

JPEG = (
    b"\xff\xd8"
    + b"\xff\xe0\x00\x10" + b"\x00" * 14
    + b"\xff\xc0\x00\x11\x08\x00\x30\x00\x40" + b"\x00" * 12
    + b"\xff\xd9"
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Inbound:
    """Same fields as vigil_ingest.mqtt_link.Inbound."""

    topic: str
    payload: bytes
    user_properties: tuple[tuple[str, str], ...] = ()
    mid: int = 0
    qos: int = 1
    retain: bool = False
    generation: int = 1
    received_at: float = 0.0


class Acks:
    """The ack callable: records what was acknowledged, in order."""

    def __init__(self) -> None:
        self.acked: list[Inbound] = []

    def __call__(self, msg: Inbound) -> bool:
        self.acked.append(msg)
        return True


def _settings(**overrides: Any) -> IngestSettings:
    values: dict[str, Any] = {"batch_max_age_s": 0.05, "batch_max_rows": 500,
                              "queue_high_water": 1000, "queue_low_water": 100}  # fmt: skip
    values.update(overrides)
    return IngestSettings(**values)


def _event_msg(camera: str, frame: int, *, count: int = 1, ts: datetime | None = None) -> Inbound:
    when = (ts or datetime.now(UTC)).isoformat()
    events = [{"event_type": "motion", "ts": when, "frame_number": frame * 1000 + i,
               "motion_score": 0.5} for i in range(count)]  # fmt: skip
    return Inbound(f"vigil/cameras/{camera}/events", json.dumps(events).encode(),
                   mid=frame, received_at=time.time())  # fmt: skip


async def _until(predicate: Callable[[], bool], limit_s: float = 10.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest_asyncio.fixture
async def registry(pg_pool: Any) -> AsyncIterator[CameraRegistry]:
    await pg_pool.execute(
        "INSERT INTO cameras (id, name) VALUES ('cam-1', 'one'), ('cam-2', 'two')"
    )
    reg = CameraRegistry(pg_pool, refresh_s=30)
    await reg.start()
    yield reg
    await reg.close()


class Harness:
    def __init__(self, pool: Any, redis: aioredis.Redis, registry: CameraRegistry,
                 settings: IngestSettings, **kwargs: Any) -> None:  # fmt: skip
        self.acks = Acks()
        self.pauses: list[str] = []
        self.pipeline: Pipeline[Inbound] = Pipeline(
            pool, redis, registry, settings, self.acks,
            lambda: self.pauses.append("pause"), lambda: self.pauses.append("resume"), **kwargs,
        )  # fmt: skip
        self.pipeline.start()


@pytest_asyncio.fixture
async def make(pg_pool: Any, redis_client: aioredis.Redis,
               registry: CameraRegistry) -> AsyncIterator[Callable[..., Harness]]:  # fmt: skip
    made: list[Harness] = []

    def factory(redis: aioredis.Redis | None = None, **kwargs: Any) -> Harness:
        on_status = kwargs.pop("on_status", None)
        harness = Harness(pg_pool, redis or redis_client, registry, _settings(**kwargs),
                          on_status=on_status)  # fmt: skip
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.pipeline.drain(timeout=5)


async def _entries(client: aioredis.Redis, stream: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """A stream's entries, oldest first (bytes names and values)."""
    return cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(stream))


async def _count(pool: Any, table: str) -> int:
    return int(await pool.fetchval(f"SELECT count(*) FROM {table}"))


async def test_events_are_acked_only_after_commit(
    pg_pool: Any, database_url: str, redis_client: aioredis.Redis, make: Callable[..., Harness]
) -> None:
    harness = make()
    blocker = await asyncpg.connect(database_url)
    try:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE camera_events IN ACCESS EXCLUSIVE MODE")
        messages = [_event_msg("cam-1", n, count=3) for n in range(40)]
        harness.pipeline.submit(messages[:20])
        harness.pipeline.submit(messages[20:])
        await asyncio.sleep(0.7)  # several batch ages: the COPY is waiting for the lock
        assert harness.acks.acked == []
        await lock.rollback()
    finally:
        await blocker.close()
    await _until(lambda: len(harness.acks.acked) == 40)
    assert harness.acks.acked == messages  # in arrival order
    assert await _count(pg_pool, "camera_events") == 120
    entries = await _entries(redis_client, EVENTS)
    assert sum(len(json.loads(fields[b"data"])["events"]) for _, fields in entries) == 120
    state = await redis_client.hgetall(camera_state_key("cam-1"))
    assert b"last_seen" in state
    assert b"last_event_ts" in state
    assert await redis_client.sismember(ACTIVE_CAMERAS_KEY, "cam-1")


async def test_redelivered_messages_store_no_duplicates_and_are_acked(
    pg_pool: Any, make: Callable[..., Harness]
) -> None:
    harness = make()
    messages = [_event_msg("cam-2", n, count=5) for n in range(10)]
    harness.pipeline.submit(messages)
    await _until(lambda: len(harness.acks.acked) == 10)
    before = COPY_DUPLICATES.labels("camera_events")._value.get()
    harness.pipeline.submit(messages[3:7])  # the broker redelivers some
    harness.pipeline.submit([_event_msg("cam-2", 99, count=2)])  # with a new one behind them
    await _until(lambda: len(harness.acks.acked) == 15)
    assert await _count(pg_pool, "camera_events") == 52
    assert COPY_DUPLICATES.labels("camera_events")._value.get() - before == 20


async def test_rejects_are_stored_with_their_reason_and_acked(
    pg_pool: Any, make: Callable[..., Harness]
) -> None:
    harness = make()
    now = time.time()
    bad = [
        Inbound("vigil/cameras/ghost/events", b"{}", received_at=now),
        Inbound("vigil/cameras/cam-1/events", b"not json", received_at=now),
        Inbound("elsewhere/topic", b"x" * 70_000, received_at=now),
        _event_msg("cam-1", 5, ts=datetime.now(UTC) + timedelta(hours=1)),
    ]
    good = _event_msg("cam-1", 6)
    harness.pipeline.submit([*bad[:2], good, *bad[2:]])
    await _until(lambda: len(harness.acks.acked) == 5)
    rows = await pg_pool.fetch(
        "SELECT topic, camera_id, reason, detail, payload_size, octet_length(payload) AS kept, "
        "source FROM ingest_rejects ORDER BY id"
    )
    assert [row["reason"] for row in rows] == [
        "unknown_camera", "invalid_json", "unsupported_topic", "timestamp_future"]  # fmt: skip
    assert rows[0]["camera_id"] == "ghost"
    assert (rows[2]["payload_size"], rows[2]["kept"]) == (70_000, 65536)
    assert all(row["detail"] and row["source"] == "ingest" for row in rows)
    assert await _count(pg_pool, "camera_events") == 1


async def test_frames_reach_the_stream_and_trimming_is_counted(
    pg_pool: Any, redis_client: aioredis.Redis, make: Callable[..., Harness]
) -> None:
    from prometheus_client import REGISTRY

    def frames_trimmed() -> float:
        labels = {"stream": FRAMES}
        return REGISTRY.get_sample_value("vigil_stream_trimmed_total", labels) or 0.0

    harness = make(frames_maxlen=10)
    before = frames_trimmed()
    ts = datetime.now(UTC).isoformat()
    frames = [Inbound("vigil/cameras/cam-1/frames", JPEG,
                      (("ts", ts), ("frame_number", str(n))), received_at=time.time())
              for n in range(300)]  # fmt: skip
    harness.pipeline.submit(frames)
    await _until(lambda: len(harness.acks.acked) == 300)
    assert await _count(pg_pool, "frame_metadata") == 300
    length = await redis_client.xlen(FRAMES)
    trimmed = frames_trimmed() - before
    assert trimmed > 0
    assert length + trimmed == 300
    _, fields = (await _entries(redis_client, FRAMES))[-1]
    assert fields[b"jpeg"] == JPEG
    assert fields[b"type"] == b"frame"


async def test_health_rows_and_status_handed_to_liveness(
    pg_pool: Any, redis_client: aioredis.Redis, make: Callable[..., Harness]
) -> None:
    reports: list[tuple[str, CameraStatus, datetime]] = []

    async def on_status(camera_id: str, status: CameraStatus, ts: datetime) -> None:
        reports.append((camera_id, status, ts))

    harness = make(on_status=on_status)
    sample = {"ts": datetime.now(UTC).isoformat(), "brightness": 90.0, "cpu_percent": 12.5,
              "status": "ok"}  # fmt: skip
    harness.pipeline.submit([
        Inbound("vigil/cameras/cam-2/health", json.dumps(sample).encode(), received_at=time.time()),
        Inbound("vigil/cameras/cam-2/status", b"offline", received_at=time.time()),
    ])  # fmt: skip
    await _until(lambda: len(harness.acks.acked) == 2)
    rows = await pg_pool.fetch("SELECT metric_type, value FROM health_metrics ORDER BY metric_type")
    assert [(row["metric_type"], row["value"]) for row in rows] == [
        ("brightness", 90.0), ("cpu_percent", 12.5)]  # fmt: skip
    assert [(camera, status) for camera, status, _ in reports] == [("cam-2", CameraStatus.OFFLINE)]
    types = [fields[b"type"] for _, fields in await _entries(redis_client, HEALTH)]
    assert types == [b"health", b"camera_status"]


async def test_reading_pauses_at_high_water_and_resumes(
    pg_pool: Any, database_url: str, make: Callable[..., Harness]
) -> None:
    harness = make(queue_high_water=50, queue_low_water=10)
    blocker = await asyncpg.connect(database_url)
    try:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE camera_events IN ACCESS EXCLUSIVE MODE")
        for n in range(60):
            harness.pipeline.submit([_event_msg("cam-1", n)])
        assert harness.pauses == ["pause"]
        await asyncio.sleep(0.3)
        assert harness.acks.acked == []
        await lock.rollback()
    finally:
        await blocker.close()
    await _until(lambda: len(harness.acks.acked) == 60)
    assert harness.pauses == ["pause", "resume"]
    assert await _count(pg_pool, "camera_events") == 60


class PrivateRedis:
    """A redis-server of this test's own, so it can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        client = aioredis.Redis(port=self.port)
        try:
            for _ in range(100):
                try:
                    await client.ping()
                    return
                except (OSError, aioredis.ConnectionError):
                    await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        raise AssertionError("redis-server did not start")

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def test_no_ack_while_redis_is_down_then_all_acked(
    pg_pool: Any, make: Callable[..., Harness]
) -> None:
    from vigil_runtime.stack.procs import free_port

    server = PrivateRedis(free_port())
    await server.start()
    client = aioredis.Redis(port=server.port, socket_timeout=1, socket_connect_timeout=1)
    try:
        harness = make(redis=client)
        harness.pipeline.submit([_event_msg("cam-1", 0)])
        await _until(lambda: len(harness.acks.acked) == 1)
        await server.stop()
        harness.pipeline.submit([_event_msg("cam-1", n) for n in range(1, 11)])
        await asyncio.sleep(1.5)
        assert await _count(pg_pool, "camera_events") == 11  # committed ...
        assert len(harness.acks.acked) == 1  # ... but not acknowledged
        with pytest.raises(RuntimeError, match="fan-out"):
            await harness.pipeline.ready_check()
        await server.start()
        await _until(lambda: len(harness.acks.acked) == 11, limit_s=20)
        await harness.pipeline.ready_check()
        assert await client.xlen(EVENTS) >= 10  # the restarted server kept no data
    finally:
        await server.stop()
        await client.aclose()


def _frame_msg(camera: str, number: int, size: int) -> Inbound:
    """A frame of ``size`` bytes: a minimal JPEG and zero padding (which decoding accepts)."""
    ts = datetime.now(UTC).isoformat()
    payload = JPEG + b"\x00" * (size - len(JPEG))
    properties = (("ts", ts), ("frame_number", str(number)))
    return Inbound(f"vigil/cameras/{camera}/frames", payload, properties, received_at=time.time())


async def test_reading_pauses_on_bytes_before_the_count_mark(
    pg_pool: Any, database_url: str, make: Callable[..., Harness]
) -> None:
    """Frames of 256 KiB: reading pauses at 2 MiB held (the 7th frame) although the count
    mark (1,000 messages) is far; it resumes once the bytes held are back under the low mark."""
    from vigil_ingest.metrics import QUEUE_BYTES

    harness = make(queue_high_water_bytes=2 * 1024 * 1024, queue_low_water_bytes=1024 * 1024)
    blocker = await asyncpg.connect(database_url)
    try:
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE frame_metadata IN ACCESS EXCLUSIVE MODE")
        for n in range(6):  # 6 x (256 + 64 + 4) KiB held (memory.held_bytes)
            harness.pipeline.submit([_frame_msg("cam-1", n, 256 * 1024)])
        assert harness.pauses == []
        harness.pipeline.submit([_frame_msg("cam-1", 6, 256 * 1024)])
        assert harness.pauses == ["pause"]
        assert QUEUE_BYTES._value.get() >= 2 * 1024 * 1024
        await asyncio.sleep(0.3)
        assert harness.acks.acked == []
        await lock.rollback()
    finally:
        await blocker.close()
    await _until(lambda: len(harness.acks.acked) == 7)
    assert harness.pauses == ["pause", "resume"]
    assert QUEUE_BYTES._value.get() == 0
    assert await _count(pg_pool, "frame_metadata") == 7


async def test_fanout_groups_are_cut_at_the_byte_budget(
    redis_client: aioredis.Redis, make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 frames of 100 KiB with a 1 MiB budget per fan-out call: every call carries at
    most 1 MiB of entries (9 frames with their envelopes), and all 40 reach the stream."""
    from vigil_ingest.memory import fanout_bytes

    harness = make(fanout_group_max_bytes=1024 * 1024, frames_maxlen=1000)
    fanout = harness.pipeline._fanout
    publish = fanout.publish
    calls: list[list[int]] = []

    async def recording(group: Any) -> None:
        calls.append([sum(len(v) for item in d.entries for v in item.fields.values())
                      for d in group])  # fmt: skip
        await publish(group)

    monkeypatch.setattr(fanout, "publish", recording)
    harness.pipeline.submit([_frame_msg("cam-1", n, 100 * 1024) for n in range(40)])
    await _until(lambda: len(harness.acks.acked) == 40)
    assert sum(len(call) for call in calls) == 40
    assert max(sum(fanout_bytes(100 * 1024) for _ in call) for call in calls) <= 1024 * 1024
    assert max(sum(call) for call in calls) <= 1024 * 1024
    assert max(len(call) for call in calls) == 1024 * 1024 // fanout_bytes(100 * 1024)
    assert await redis_client.xlen(FRAMES) == 40


# --- faults: infrastructure is not a bad row (docs/ingest.md, "Faults and rejects") ---------


async def test_a_revoked_privilege_holds_acks_fails_readiness_and_rejects_nothing(
    pg_pool: Any, database_url: str, redis_client: aioredis.Redis, registry: CameraRegistry
) -> None:
    role = f"vigil_t_{secrets.token_hex(4)}"
    await pg_pool.execute(f"CREATE ROLE {role} NOLOGIN")
    await pg_pool.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    await pg_pool.execute(f"REVOKE INSERT ON camera_events FROM {role}")

    async def as_role(conn: asyncpg.Connection) -> None:
        await conn.execute(f"SET ROLE {role}")

    pool = await create_pool(database_url, min_size=1, max_size=4, init=as_role)
    harness = Harness(pool, redis_client, registry, _settings())
    try:
        harness.pipeline.submit([_event_msg("cam-1", n, count=3) for n in range(5)])
        error = await _until_not_ready(harness, "42501")
        assert "camera_events: 42501 InsufficientPrivilegeError: permission denied" in error
        assert harness.acks.acked == []
        assert await _count(pg_pool, "ingest_rejects") == 0
        await pg_pool.execute(f"GRANT INSERT ON camera_events TO {role}")
        await _until(lambda: len(harness.acks.acked) == 5, limit_s=20)
        await harness.pipeline.ready_check()
        assert await _count(pg_pool, "camera_events") == 15
        assert await _count(pg_pool, "ingest_rejects") == 0
    finally:
        await harness.pipeline.drain(timeout=5)
        await pool.close()
        await pg_pool.execute(f"DROP OWNED BY {role}")
        await pg_pool.execute(f"DROP ROLE {role}")


async def test_a_row_the_database_refuses_keeps_the_original_payload(
    pg_pool: Any, make: Callable[..., Harness]
) -> None:
    await pg_pool.execute(
        "ALTER TABLE camera_events ADD CONSTRAINT t_no_frame_7 CHECK (frame_number <> 7)"
    )
    harness = make()
    msg = _event_msg("cam-1", 0, count=10)  # frame numbers 0..9: one row refused
    harness.pipeline.submit([msg])
    await _until(lambda: len(harness.acks.acked) == 1)
    rows = await pg_pool.fetch(
        "SELECT topic, camera_id, payload, reason, detail FROM ingest_rejects"
    )
    assert len(rows) == 1
    assert (rows[0]["topic"], rows[0]["payload"]) == (msg.topic, msg.payload)
    assert (rows[0]["camera_id"], rows[0]["reason"]) == ("cam-1", "validation_error")
    assert "23514" in rows[0]["detail"]
    assert await _count(pg_pool, "camera_events") == 9


async def test_a_reject_row_the_database_refuses_is_not_acknowledged(
    pg_pool: Any, make: Callable[..., Harness]
) -> None:
    await pg_pool.execute(
        "ALTER TABLE ingest_rejects ADD CONSTRAINT t_no_ghosts CHECK (camera_id <> 'ghost')"
    )
    harness = make()
    harness.pipeline.submit([Inbound("vigil/cameras/ghost/events", b"{}", received_at=time.time())])
    error = await _until_not_ready(harness, "keeps no rejects")
    assert "ingest_rejects" in error
    assert harness.acks.acked == []
    await pg_pool.execute("ALTER TABLE ingest_rejects DROP CONSTRAINT t_no_ghosts")
    await _until(lambda: len(harness.acks.acked) == 1, limit_s=20)
    assert await _count(pg_pool, "ingest_rejects") == 1


async def test_a_poisoned_fanout_entry_goes_to_the_dlq_and_the_rest_goes_on(
    pg_pool: Any, redis_client: aioredis.Redis, make: Callable[..., Harness]
) -> None:
    await redis_client.set(camera_state_key("cam-2"), "not a hash")  # HSET: WRONGTYPE
    harness = make()
    msgs = [_event_msg("cam-1", 0), _event_msg("cam-2", 1), _event_msg("cam-1", 2)]
    harness.pipeline.submit(msgs)
    await _until(lambda: len(harness.acks.acked) == 3, limit_s=20)
    assert harness.acks.acked == msgs
    decoded = [Envelope.from_fields(f).decode() for _, f in await _entries(redis_client, DLQ)]
    letters = [message for message in decoded if isinstance(message, DeadLetter)]
    assert len(letters) == len(decoded) == 2
    assert {letter.stream for letter in letters} == {EVENTS, camera_state_key("cam-2")}
    assert all("WRONGTYPE" in letter.error and "cam-2" in letter.error for letter in letters)
    harness.pipeline.submit([_event_msg("cam-1", 3)])
    await _until(lambda: len(harness.acks.acked) == 4)
    assert await redis_client.hget(camera_state_key("cam-1"), "last_seen") is not None
    assert await _count(pg_pool, "camera_events") == 4


async def _ready_error(harness: Harness) -> str | None:
    """The pipeline's readiness failure right now (None when ready)."""
    try:
        await harness.pipeline.ready_check()
    except RuntimeError as exc:
        return str(exc)
    return None


async def _until_not_ready(harness: Harness, reason: str, limit_s: float = 10.0) -> str:
    """Wait until readiness fails with ``reason`` in its message; the message."""
    deadline = time.monotonic() + limit_s
    while reason not in (error := await _ready_error(harness) or ""):
        if time.monotonic() > deadline:
            raise AssertionError(f"readiness never failed with {reason!r} (last: {error!r})")
        await asyncio.sleep(0.02)
    return error
