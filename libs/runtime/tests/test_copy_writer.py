"""CopyWriter against real PostgreSQL: batching, partitions, outages, bad rows, duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from vigil_runtime.backoff import Backoff
from vigil_runtime.copy_committer import BatchCommitter, _Attempt
from vigil_runtime.copy_writer import CopyWriter, Row
from vigil_runtime.db import create_pool
from vigil_runtime.partitions import PartitionHelper
from vigil_schema.tables import CAMERA_EVENTS

NOW = datetime.now(UTC).replace(microsecond=0)
WAIT = 15.0  # upper bound for any flush in these tests


@dataclass(frozen=True)
class Spec:
    """A TableSpec-shaped description of the columns these tests write."""

    name: str
    column_names: tuple[str, ...]
    partition_key: str | None


EVENTS = Spec(
    "camera_events",
    ("camera_id", "event_type", "ts", "frame_number", "motion_score", "objects"),
    "ts",
)


def event(
    frame: int, *, ts: datetime = NOW, score: float | None = 0.5, camera: str = "cam-1"
) -> Row:
    objects = [{"class": "person", "confidence": 0.9, "bbox": [1, 2, 3, 4]}]
    return (camera, "motion", ts, frame, score, objects)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"table": "camera_events", **labels}) or 0.0


async def count(pool: asyncpg.Pool) -> int:
    value: int = await pool.fetchval("SELECT count(*) FROM camera_events")
    return value


async def wait_for_count(pool: asyncpg.Pool, expected: int, within: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (current := await count(pool)) != expected:
        assert loop.time() < deadline, f"{current} rows, expected {expected}"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def writer(pool: asyncpg.Pool, **kwargs: Any) -> AsyncIterator[CopyWriter]:
    copy_writer = CopyWriter(pool, EVENTS, **kwargs)
    try:
        yield copy_writer
    finally:
        await copy_writer.close(timeout=WAIT)


async def test_rows_land_with_json_and_on_commit_runs_after_commit(pg_pool: asyncpg.Pool) -> None:
    seen_at_commit: list[int] = []

    async def on_commit() -> None:
        seen_at_commit.append(await count(pg_pool))  # another connection sees the rows

    async with writer(pg_pool) as copy_writer:
        await copy_writer.add_many([event(i) for i in range(10)], on_commit=on_commit)
        await asyncio.wait_for(copy_writer.flush(), WAIT)
        assert copy_writer.pending == 0
    assert seen_at_commit == [10]
    row = await pg_pool.fetchrow("SELECT * FROM camera_events WHERE frame_number = 3")
    assert row["objects"] == [{"class": "person", "confidence": 0.9, "bbox": [1, 2, 3, 4]}]
    assert row["motion_score"] == 0.5
    assert row["ts"] == NOW


async def test_on_commit_callbacks_run_in_order_once_their_rows_are_committed(
    pg_pool: asyncpg.Pool,
) -> None:
    calls: list[tuple[str, int]] = []
    async with writer(pg_pool, max_rows=4, max_age_s=60) as copy_writer:
        for i in range(3):
            await copy_writer.add(event(i), on_commit=functools.partial(calls.append, ("row", i)))
        assert calls == []  # three rows, max_rows=4, an hour to wait: nothing flushed yet
        await copy_writer.add_many(
            [event(i) for i in range(3, 9)], on_commit=lambda: calls.append(("group", 9))
        )
        await asyncio.wait_for(copy_writer.flush(), WAIT)
    assert calls == [("row", 0), ("row", 1), ("row", 2), ("group", 9)]
    assert await count(pg_pool) == 9


async def test_flushes_on_size_without_waiting_for_age(pg_pool: asyncpg.Pool) -> None:
    batches = metric("vigil_copy_batches_total")
    async with writer(pg_pool, max_rows=100, max_age_s=60) as copy_writer:
        await copy_writer.add_many(event(i) for i in range(250))
        await wait_for_count(pg_pool, 200)
        await asyncio.sleep(0.3)
        assert await count(pg_pool) == 200  # the last 50 wait for age or flush
        await asyncio.wait_for(copy_writer.flush(), WAIT)
    assert await count(pg_pool) == 250
    assert metric("vigil_copy_batches_total") - batches == 3


async def test_flushes_on_age(pg_pool: asyncpg.Pool) -> None:
    async with writer(pg_pool, max_rows=10_000, max_age_s=0.1) as copy_writer:
        await copy_writer.add_many([event(i) for i in range(5)])
        await wait_for_count(pg_pool, 5, within=2.0)
        await copy_writer.add(event(5))
        await wait_for_count(pg_pool, 6, within=2.0)


async def test_missing_partition_is_created_on_the_fly(pg_pool: asyncpg.Pool) -> None:
    future = NOW + timedelta(days=400)
    name = await pg_pool.fetchval(
        "SELECT partition_name FROM vigil_partition_bounds('camera_events', $1)", future
    )
    assert await pg_pool.fetchval("SELECT to_regclass($1)", name) is None
    retries = metric("vigil_copy_retries_total", reason="partition")
    async with writer(pg_pool, partitions=PartitionHelper(pg_pool)) as copy_writer:
        await copy_writer.add_many([event(1), event(2, ts=future), event(3)])
        await asyncio.wait_for(copy_writer.flush(), WAIT)
    assert await pg_pool.fetchval(f'SELECT count(*) FROM "{name}"') == 1
    assert await count(pg_pool) == 3
    assert metric("vigil_copy_retries_total", reason="partition") - retries == 1


async def test_bad_rows_are_isolated_and_rejected_while_good_rows_commit(
    pg_pool: asyncpg.Pool,
) -> None:
    rejected: list[tuple[Row, BaseException]] = []
    committed: list[bool] = []
    rows = [event(i) for i in range(100)]
    rows[17] = event(17, score=5.0)  # violates the motion_score CHECK
    rows[60] = event(60, camera=None)  # type: ignore[arg-type]  # violates NOT NULL
    rows[61] = ("cam-1", "motion", NOW, "not a number", None, None)  # cannot be encoded
    async with writer(pg_pool, on_reject=lambda row, exc: rejected.append((row, exc))) as cw:
        await cw.add_many(rows, on_commit=lambda: committed.append(True))
        await asyncio.wait_for(cw.flush(), WAIT)
    assert await count(pg_pool) == 97
    assert [row[3] for row, _ in rejected] == [17, 60, "not a number"]
    errors = {row[3]: exc for row, exc in rejected}
    assert isinstance(errors[17], asyncpg.CheckViolationError)
    assert isinstance(errors[60], asyncpg.NotNullViolationError)
    assert committed == [True]  # the rejects were handed over, so the group is done


async def test_duplicates_take_the_slow_path_and_are_counted(pg_pool: asyncpg.Pool) -> None:
    duplicates = metric("vigil_copy_duplicates_total")
    rejected: list[Row] = []
    async with writer(pg_pool, conflict=True, on_reject=lambda r, _e: rejected.append(r)) as cw:
        await cw.add_many([event(i) for i in range(50)])
        await asyncio.wait_for(cw.flush(), WAIT)
        # 20 redelivered rows, 30 new ones, and one new row twice in the same batch.
        await cw.add_many([event(i) for i in range(30, 80)] + [event(79)])
        await asyncio.wait_for(cw.flush(), WAIT)
    assert rejected == []
    assert await count(pg_pool) == 80
    assert metric("vigil_copy_duplicates_total") - duplicates == 21
    frames = await pg_pool.fetchval("SELECT count(DISTINCT frame_number) FROM camera_events")
    assert frames == 80


async def test_without_conflict_mode_a_duplicate_is_a_rejected_row(pg_pool: asyncpg.Pool) -> None:
    rejected: list[BaseException] = []
    async with writer(pg_pool, on_reject=lambda _r, e: rejected.append(e)) as copy_writer:
        await copy_writer.add_many([event(1), event(2), event(1)])
        await asyncio.wait_for(copy_writer.flush(), WAIT)
    assert await count(pg_pool) == 2
    assert len(rejected) == 1
    assert isinstance(rejected[0], asyncpg.UniqueViolationError)


async def test_killed_connections_lose_and_duplicate_nothing(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=4, application_name="copy-victim")
    killer = await asyncpg.connect(database_url)
    rejected: list[tuple[Row, BaseException]] = []
    retries = metric("vigil_copy_retries_total", reason="connection")
    total = 2000
    try:
        copy_writer = CopyWriter(
            pool, EVENTS, max_rows=100, max_age_s=0.01, backoff_max=0.05,
            on_reject=lambda row, exc: rejected.append((row, exc)),
        )  # fmt: skip
        kills = asyncio.create_task(_kill_backends_repeatedly(killer, "copy-victim"))
        for start in range(0, total, 50):
            await copy_writer.add_many(event(i) for i in range(start, start + 50))
            await asyncio.sleep(0.002)
        await asyncio.wait_for(copy_writer.flush(), WAIT)
        kills.cancel()
        killed = await kills
        await copy_writer.close(timeout=WAIT)
        assert killed > 0
        assert rejected == []  # a duplicate would show up here as a unique violation
        assert await killer.fetchval("SELECT count(*) FROM camera_events") == total
        distinct = "SELECT count(DISTINCT frame_number) FROM camera_events"
        assert await killer.fetchval(distinct) == total
        assert metric("vigil_copy_retries_total", reason="connection") > retries
    finally:
        await killer.close()
        pool.terminate()


async def _kill_backends_repeatedly(conn: asyncpg.Connection, application_name: str) -> int:
    """Terminate the writer's backends every few milliseconds until cancelled."""
    killed = 0
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            killed += await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1 AND pid <> pg_backend_pid()",
                application_name,
            )
            await asyncio.sleep(0.025)
    return killed


async def test_a_full_buffer_makes_add_wait(pg_pool: asyncpg.Pool) -> None:
    async with (
        pg_pool.acquire() as locker,
        writer(pg_pool, max_rows=10, max_age_s=0.01, max_buffered_rows=20) as copy_writer,
    ):
        tx = locker.transaction()
        await tx.start()
        await locker.execute("LOCK TABLE camera_events IN ACCESS EXCLUSIVE MODE")
        await copy_writer.add_many([event(i) for i in range(20)])
        blocked = asyncio.create_task(copy_writer.add(event(20)))
        await asyncio.sleep(0.3)
        assert not blocked.done()  # the table is locked: the buffer stays full
        assert copy_writer.pending == 20
        await tx.rollback()
        await asyncio.wait_for(blocked, WAIT)
        await asyncio.wait_for(copy_writer.flush(), WAIT)
    assert await count(pg_pool) == 21


async def test_close_flushes_and_refuses_new_rows(pg_pool: asyncpg.Pool) -> None:
    copy_writer = CopyWriter(pg_pool, EVENTS, max_rows=1000, max_age_s=60)
    await copy_writer.add_many([event(i) for i in range(7)])
    await asyncio.wait_for(copy_writer.close(), WAIT)
    assert await count(pg_pool) == 7
    with pytest.raises(RuntimeError):
        await copy_writer.add(event(8))


@pytest.mark.parametrize(
    "make",
    [lambda: ("cam-1", "motion"), lambda: (*event(1), "extra")],
    ids=["short", "long"],
)
async def test_rows_of_the_wrong_width_are_refused_at_add(
    pg_pool: asyncpg.Pool, make: Callable[[], Row]
) -> None:
    async with writer(pg_pool) as copy_writer:
        with pytest.raises(ValueError, match="values, expected 6"):
            await copy_writer.add(make())
        with pytest.raises(ValueError, match="values, expected 6"):
            await copy_writer.add_many([event(1), make()])
        assert copy_writer.pending == 0


async def test_commit_outcome_check_reads_the_transaction_status(pg_pool: asyncpg.Pool) -> None:
    """The check behind "COMMIT sent, connection lost": committed vs rolled back."""
    committer = BatchCommitter(
        pg_pool, EVENTS, partitions=None, conflict=False, on_reject=None, timeout=5,
        backoff_max=0.01,
    )  # fmt: skip
    async with pg_pool.acquire() as conn:
        async with conn.transaction():
            committed_xid = await conn.fetchval("SELECT pg_current_xact_id()::text")
        tx = conn.transaction()
        await tx.start()
        aborted_xid = await conn.fetchval("SELECT pg_current_xact_id()::text")
        await tx.rollback()
    backoff = Backoff(initial=0.01, maximum=0.01)
    assert await committer._committed(_Attempt(commit_xid=committed_xid), backoff)
    assert not await committer._committed(_Attempt(commit_xid=aborted_xid), backoff)


async def test_writes_with_the_schema_table_spec(pg_pool: asyncpg.Pool) -> None:
    values = {
        "camera_id": "cam-1", "event_type": "object_detected", "ts": NOW, "frame_number": 9,
        "received_at": NOW, "source": "camera", "object_count": 1, "objects": [{"class": "car"}],
    }  # fmt: skip
    row = tuple(values.get(name) for name in CAMERA_EVENTS.column_names)
    async with CopyWriter(pg_pool, CAMERA_EVENTS, partitions=PartitionHelper(pg_pool)) as cw:
        await cw.add(row)
        await asyncio.wait_for(cw.flush(), WAIT)
    stored = await pg_pool.fetchrow("SELECT objects, object_count FROM camera_events")
    assert dict(stored) == {"objects": [{"class": "car"}], "object_count": 1}
