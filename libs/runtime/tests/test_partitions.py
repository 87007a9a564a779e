"""PartitionHelper against the migrated schema's vigil_ensure_partition()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from vigil_runtime.partitions import (
    PartitionHelper,
    is_missing_partition_error,
    partition_probe_timestamps,
)

FAR = datetime(2031, 3, 14, 15, 9, 26, tzinfo=UTC)


async def _partitions_of(pool: asyncpg.Pool, parent: str) -> set[str]:
    rows = await pool.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass",
        parent,
    )
    return {row[0] for row in rows}


async def _insert_event(pool: asyncpg.Pool, ts: datetime) -> None:
    await pool.execute(
        "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
        " VALUES ('cam-1', 'motion', $1, 1)",
        ts,
    )


def test_probes_keep_the_earliest_and_latest_of_each_utc_hour() -> None:
    base = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
    stamps = [base + timedelta(minutes=m) for m in (5, 59, 1, 30, 61, 75, 200)]
    stamps.append(None)  # type: ignore[arg-type]
    probes = partition_probe_timestamps(stamps)
    minutes = [int((p - base).total_seconds() // 60) for p in probes]
    assert minutes == [1, 59, 61, 75, 200]


def test_probes_normalise_offsets_and_naive_values_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    probes = partition_probe_timestamps(
        [datetime(2030, 1, 1, 12, 30, tzinfo=plus_two), datetime(2030, 1, 1, 10, 45)]
    )
    assert probes == [
        datetime(2030, 1, 1, 10, 30, tzinfo=UTC),
        datetime(2030, 1, 1, 10, 45, tzinfo=UTC),
    ]


async def test_missing_partition_is_recognised_and_ensure_creates_it(pg_pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.CheckViolationError) as info:
        await _insert_event(pg_pool, FAR)
    assert is_missing_partition_error(info.value)

    helper = PartitionHelper(pg_pool)
    name = await helper.ensure("camera_events", FAR)
    expected = await pg_pool.fetchval(
        "SELECT partition_name FROM vigil_partition_bounds('camera_events', $1)", FAR
    )
    assert name == expected == "camera_events_p20310314"
    assert await helper.ensure("camera_events", FAR) == name  # idempotent
    await _insert_event(pg_pool, FAR)
    assert await pg_pool.fetchval("SELECT count(*) FROM camera_events_p20310314") == 1


async def test_other_check_violations_are_not_missing_partitions(pg_pool: asyncpg.Pool) -> None:
    await PartitionHelper(pg_pool).ensure("camera_events", FAR)
    with pytest.raises(asyncpg.CheckViolationError) as info:
        await pg_pool.execute(
            "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
            " VALUES ('cam-1', 'motion', $1, -5)",
            FAR,
        )
    assert not is_missing_partition_error(info.value)
    assert not is_missing_partition_error(ValueError("no partition of relation"))


async def test_ensure_for_creates_every_partition_a_batch_needs(pg_pool: asyncpg.Pool) -> None:
    helper = PartitionHelper(pg_pool)
    before = await _partitions_of(pg_pool, "camera_events")
    # 3 000 rows two minutes apart: about four days, crossing four midnights.
    stamps = [FAR + timedelta(minutes=2 * i) for i in range(3000)]
    names = await helper.ensure_for("camera_events", stamps)
    assert names == [
        "camera_events_p20310314",
        "camera_events_p20310315",
        "camera_events_p20310316",
        "camera_events_p20310317",
        "camera_events_p20310318",
    ]
    assert set(names) <= await _partitions_of(pg_pool, "camera_events")
    assert set(names).isdisjoint(before)
    async with pg_pool.acquire() as conn:
        await conn.copy_records_to_table(
            "camera_events",
            records=[("cam-1", "motion", ts, i) for i, ts in enumerate(stamps)],
            columns=["camera_id", "event_type", "ts", "frame_number"],
        )
    assert await helper.ensure_for("camera_events", []) == []


async def test_ensure_for_hourly_and_monthly_tables(pg_pool: asyncpg.Pool) -> None:
    helper = PartitionHelper(pg_pool)
    hourly = await helper.ensure_for(
        "system_metrics", [FAR, FAR + timedelta(minutes=55), FAR + timedelta(hours=2)]
    )
    assert hourly == [
        "system_metrics_p2031031415",
        "system_metrics_p2031031416",
        "system_metrics_p2031031417",
    ]
    monthly = await helper.ensure_for("audit_log", [FAR, FAR + timedelta(days=20)])
    assert monthly == ["audit_log_p203103", "audit_log_p203104"]


async def test_ensure_range_covers_start_to_end(pg_pool: asyncpg.Pool) -> None:
    helper = PartitionHelper(pg_pool)
    start = datetime(2032, 2, 27, tzinfo=UTC)
    names = await helper.ensure_range("camera_events", start, start + timedelta(days=3))
    assert names == [
        "camera_events_p20320227",
        "camera_events_p20320228",
        "camera_events_p20320229",
    ]
    assert await helper.ensure_range("camera_events", start, start) == []
