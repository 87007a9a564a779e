"""expiry.execute: each action on a real database as the vigil_retention login.

Partitions, rows and files are arranged as the superuser; the executor runs as the service's
login. Each test checks the database, the disk, audit_log and the counters, and that a rerun
(a run killed anywhere, then the next run) finishes the job or does nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from vigil_retention.archive_export import complete_export, export_partition, export_paths
from vigil_retention.expiry import execute
from vigil_retention.models import Action, ActionKind, Partition, PartitionState
from vigil_retention.owner_ddl import owner_session
from vigil_schema.enums import ExpireAction

from .expire_helpers import (
    NOW,
    OLD_DAY,
    OWNER,
    audit_actions,
    context,
    insert_rejects,
    interrupt_detach,
    make_partition,
    state_of,
    table_rows,
)

PoolAs = Callable[[str], Awaitable[Any]]


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def expire(part: Partition, mode: ExpireAction) -> Action:
    return Action(ActionKind.EXPIRE, part.table, partition=part, expire_action=mode)


async def attached(admin: Any, table: str) -> set[str]:
    rows = await admin.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass",
        table,
    )
    return {str(r["relname"]) for r in rows}


async def test_create_ahead_creates_the_missing_partitions_once(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    pool = await pg_pool_as("vigil_retention")
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    action = Action(ActionKind.CREATE_AHEAD, "ingest_rejects", until=now + timedelta(days=2))
    names = ["ingest_rejects_p20300101", "ingest_rejects_p20300102", "ingest_rejects_p20300103"]
    before = counter("vigil_retention_partitions_created_total", table="ingest_rejects")

    first = await execute(action, context(pool, tmp_path, now))
    assert (first.created, first.steps) == (names, ["created"])
    assert set(names) <= await attached(pg_pool, "ingest_rejects")
    assert "ingest_rejects_p20300104" not in await attached(pg_pool, "ingest_rejects")
    assert await audit_actions(pg_pool, names[0]) == ["retention.partition_created"]

    again = await execute(action, context(pool, tmp_path, now))
    assert (again.created, again.steps) == ([], ["present"])
    assert again.describe()["steps"] == ["present"]
    after = counter("vigil_retention_partitions_created_total", table="ingest_rejects")
    assert after - before == 3


async def test_expire_drop_takes_snapshot_rows_and_files_together(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "snapshots", OLD_DAY)
    ctx = context(await pg_pool_as("vigil_retention"), tmp_path)
    files = ["cam-1/2026/03/02/a.jpg", "cam-2/2026/03/05/b.jpg"]
    for name in [*files, "cam-1/2026/06/15/today.jpg"]:
        (ctx.snapshot_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx.snapshot_dir / name).write_bytes(b"jpeg")
    await pg_pool.executemany(
        "INSERT INTO snapshots (camera_id, captured_at, file_path) VALUES ($1, $2, $3)",
        [("cam-1", OLD_DAY, files[0]), ("cam-2", OLD_DAY + timedelta(days=3), files[1]),
         ("cam-3", OLD_DAY, "cam-3/already-gone.jpg")],
    )  # fmt: skip
    deleted_before = counter("vigil_retention_snapshot_files_deleted_total")

    outcome = await execute(expire(part, ExpireAction.DROP), ctx)

    assert outcome.steps == ["detached", "dropped"]
    assert outcome.files_deleted == 2
    assert counter("vigil_retention_snapshot_files_deleted_total") - deleted_before == 2
    assert not any((ctx.snapshot_dir / name).exists() for name in files)
    assert (ctx.snapshot_dir / "cam-1/2026/06/15/today.jpg").exists()
    assert await pg_pool.fetchval("SELECT to_regclass($1)", f"public.{part.name}") is None
    assert await audit_actions(pg_pool, part.name) == [
        "retention.partition_detached",
        "retention.partition_dropped",
    ]
    assert (await execute(expire(part, ExpireAction.DROP), ctx)).steps == ["gone"]


async def test_expire_archive_schema_then_drop_archived(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    await insert_rejects(pg_pool)
    original = await table_rows(pg_pool, f"public.{part.name}")
    ctx = context(await pg_pool_as("vigil_retention"), tmp_path)

    outcome = await execute(expire(part, ExpireAction.ARCHIVE_SCHEMA), ctx)
    assert outcome.steps == ["detached", "archived"]
    assert await table_rows(pg_pool, f"vigil_archive.{part.name}") == original
    assert await pg_pool.fetchval("SELECT count(*) FROM ingest_rejects") == 0
    rerun = await execute(expire(part, ExpireAction.ARCHIVE_SCHEMA), ctx)
    assert rerun.steps == ["already_archived"]

    archived = Partition(part.table, part.name, part.start, part.end, PartitionState.ARCHIVED)
    drop = Action(ActionKind.DROP_ARCHIVED, part.table, partition=archived)
    before = counter("vigil_retention_archives_deleted_total", table=part.table, mode="schema")
    assert (await execute(drop, ctx)).steps == ["dropped"]
    assert (await execute(drop, ctx)).steps == ["gone"]
    after = counter("vigil_retention_archives_deleted_total", table=part.table, mode="schema")
    assert after - before == 1
    assert await pg_pool.fetchval("SELECT to_regclass($1)", f"vigil_archive.{part.name}") is None
    assert await audit_actions(pg_pool, part.name) == [
        "retention.partition_detached",
        "retention.partition_archived",
        "retention.archive_deleted",
    ]


async def test_expire_archive_file_finishes_an_interrupted_detach(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    await insert_rejects(pg_pool)
    pool = await pg_pool_as("vigil_retention")
    await interrupt_detach(pg_pool, pool, part)
    assert await state_of(pool, part) is PartitionState.DETACH_PENDING
    ctx = context(pool, tmp_path)

    outcome = await execute(expire(part, ExpireAction.ARCHIVE_FILE), ctx)

    path, manifest = export_paths(ctx.archive_dir, part.table, part.name)
    assert outcome.steps == ["finalized", "exported", "dropped"]
    assert (outcome.rows_exported, outcome.export_path) == (3, path)
    done = complete_export(path, manifest)
    assert done is not None
    assert done.rows == 3
    assert await state_of(pool, part) is None
    assert await audit_actions(pg_pool, part.name) == [
        "retention.partition_detached",
        "retention.partition_archived",
        "retention.partition_dropped",
    ]
    assert (await execute(expire(part, ExpireAction.ARCHIVE_FILE), ctx)).steps == ["gone"]

    delete = Action(ActionKind.DELETE_ARCHIVE_FILE, part.table, path=path)
    assert (await execute(delete, ctx)).steps == ["deleted"]
    assert not path.exists()
    assert not manifest.exists()
    assert (await execute(delete, ctx)).steps == ["gone"]
    assert await audit_actions(pg_pool, str(path)) == ["retention.archive_deleted"]


async def test_a_run_killed_after_the_export_reuses_it_and_drops(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    await insert_rejects(pg_pool)
    pool = await pg_pool_as("vigil_retention")
    ctx = context(pool, tmp_path)
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        await ddl.detach_concurrently(part.table, part.name)
        first = await export_partition(
            conn, schema="public", table=part.table, partition=part.name, start=part.start,
            end=part.end, archive_dir=ctx.archive_dir, exported_at=NOW,
        )  # fmt: skip

    outcome = await execute(expire(part, ExpireAction.ARCHIVE_FILE), ctx)

    assert outcome.steps == ["export_reused", "dropped"]
    assert outcome.rows_exported == first.rows
    assert await state_of(pool, part) is None


async def test_a_run_killed_after_the_detach_drops(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    pool = await pg_pool_as("vigil_retention")
    async with pool.acquire() as conn, owner_session(conn, OWNER, 5.0) as ddl:
        await ddl.detach_concurrently(part.table, part.name)
    outcome = await execute(expire(part, ExpireAction.DROP), context(pool, tmp_path))
    assert outcome.steps == ["dropped"]
    assert await audit_actions(pg_pool, part.name) == ["retention.partition_dropped"]


async def test_a_busy_parent_times_out_and_changes_nothing(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    pool = await pg_pool_as("vigil_retention")
    ctx = dataclasses.replace(context(pool, tmp_path), lock_timeout_s=0.5)
    async with pg_pool.acquire() as holder, holder.transaction():
        await holder.execute("LOCK TABLE ingest_rejects IN SHARE UPDATE EXCLUSIVE MODE")
        with pytest.raises(asyncpg.LockNotAvailableError):
            await execute(expire(part, ExpireAction.DROP), ctx)
    assert await state_of(pool, part) is PartitionState.ATTACHED
    assert await audit_actions(pg_pool, part.name) == []


async def test_ingest_keeps_writing_today_while_an_old_partition_expires(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    await insert_rejects(pg_pool)
    writer_pool = await pg_pool_as("vigil_ingest")
    stop = asyncio.Event()

    async def write_today() -> int:
        written = 0
        while not stop.is_set() or written < 20:
            await writer_pool.execute(
                "INSERT INTO ingest_rejects (topic, payload_size, reason, detail)"
                " VALUES ('t', 0, 'invalid_json', $1)",
                f"row {written}",
            )
            written += 1
            await asyncio.sleep(0)
        return written

    writer = asyncio.create_task(write_today())
    try:
        outcome = await execute(
            expire(part, ExpireAction.DROP), context(await pg_pool_as("vigil_retention"), tmp_path)
        )
    finally:
        stop.set()
        written = await writer
    assert outcome.steps == ["detached", "dropped"]
    assert await pg_pool.fetchval("SELECT count(*) FROM ingest_rejects") == written


async def test_prune_rollup_is_not_an_expiry_action(pg_pool_as: PoolAs, tmp_path: Path) -> None:
    action = Action(ActionKind.PRUNE_ROLLUP, "occupancy_hourly", until=NOW)
    with pytest.raises(ValueError, match="not an expiry"):
        await execute(action, context(await pg_pool_as("vigil_retention"), tmp_path))


async def detach_backend(admin: Any) -> int:
    """The pid of the backend waiting in a concurrent detach's second phase."""
    for _ in range(200):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE '%DETACH PARTITION%CONCURRENTLY'"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.05)
    raise AssertionError("no DETACH CONCURRENTLY waiting")


async def test_a_detach_killed_while_waiting_is_finalized_by_the_next_run(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    part = await make_partition(pg_pool, "ingest_rejects")
    await insert_rejects(pg_pool)
    pool = await pg_pool_as("vigil_retention")
    ctx = context(pool, tmp_path)
    async with pg_pool.acquire() as reader:
        reader_tx = reader.transaction()
        await reader_tx.start()
        await reader.fetchval("SELECT count(*) FROM ingest_rejects")
        run = asyncio.create_task(execute(expire(part, ExpireAction.DROP), ctx))
        assert await pg_pool.fetchval(
            "SELECT pg_terminate_backend($1)", await detach_backend(pg_pool)
        )
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await run
        await reader_tx.rollback()
    assert await state_of(pool, part) is PartitionState.DETACH_PENDING

    outcome = await execute(expire(part, ExpireAction.DROP), ctx)
    assert outcome.steps == ["finalized", "dropped"]
    assert await state_of(pool, part) is None


async def test_the_run_lock_transaction_does_not_hold_up_the_detach(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    """The runner's open transaction (advisory lock, reads of non-partitioned tables) is not
    one a concurrent detach waits for."""
    part = await make_partition(pg_pool, "ingest_rejects")
    pool = await pg_pool_as("vigil_retention")
    ctx = dataclasses.replace(context(pool, tmp_path), lock_timeout_s=2.0)
    async with pool.acquire() as lock_conn, lock_conn.transaction():
        assert await lock_conn.fetchval("SELECT pg_try_advisory_xact_lock(7011)")
        await lock_conn.fetch("SELECT * FROM retention_policies")
        outcome = await execute(expire(part, ExpireAction.DROP), ctx)
    assert outcome.steps == ["detached", "dropped"]


async def test_another_pending_detach_of_the_parent_is_finalized_first(
    pg_pool: Any, pg_pool_as: PoolAs, tmp_path: Path
) -> None:
    """PostgreSQL allows one pending detach per parent: expiring a second partition first
    finalizes the pending one (left detached in public for its own action)."""
    pending = await make_partition(pg_pool, "ingest_rejects")
    part = await make_partition(pg_pool, "ingest_rejects", OLD_DAY + timedelta(days=1))
    pool = await pg_pool_as("vigil_retention")
    await interrupt_detach(pg_pool, pool, pending)

    outcome = await execute(expire(part, ExpireAction.DROP), context(pool, tmp_path))

    assert outcome.steps == [f"finalized_pending:{pending.name}", "detached", "dropped"]
    assert await state_of(pool, pending) is PartitionState.DETACHED
    assert await audit_actions(pg_pool, pending.name) == ["retention.partition_detached"]
    rest = await execute(expire(pending, ExpireAction.DROP), context(pool, tmp_path))
    assert rest.steps == ["dropped"]
