"""catalog.py on a real database, read as the vigil_retention login.

The partitions are arranged as the superuser in every state a run can meet: attached (named
by the convention and not), detach-pending (a DETACH ... CONCURRENTLY cancelled while a reader
held the partition), detached in public (range from the name, or from the CHECK the detach
left when the name does not round-trip), archived in vigil_archive; and look-alikes to skip.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from vigil_retention.catalog import (
    read_archive_files,
    read_partitions,
    read_policies,
    read_rollups,
    suffix_time,
)
from vigil_retention.models import Partition, PartitionState
from vigil_schema.enums import ExpireAction, Granularity


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def _as_retention(role_database_url: Callable[[str], str]) -> asyncpg.Connection:
    # A non-UTC session: the catalog must not depend on the login's TimeZone.
    return await asyncpg.connect(
        role_database_url("vigil_retention"), server_settings={"TimeZone": "Asia/Kolkata"}
    )


async def test_read_policies_as_retention(role_database_url: Callable[[str], str]) -> None:
    conn = await _as_retention(role_database_url)
    try:
        policies = {p.table: p for p in await read_policies(conn)}
    finally:
        await conn.close()
    assert len(policies) == 13
    audit = policies["audit_log"]
    assert (audit.granularity, audit.retention_days, audit.min_retention_days) == (
        Granularity.MONTH,
        365,
        365,
    )
    assert audit.expire_action is ExpireAction.ARCHIVE_SCHEMA
    events = policies["camera_events"]
    assert (events.expire_action, events.archive_keep_days, events.premake) == (
        ExpireAction.ARCHIVE_FILE,
        90,
        7,
    )
    assert policies["system_metrics"].granularity is Granularity.HOUR
    assert list(policies) == sorted(policies)


async def test_read_rollups_as_retention(role_database_url: Callable[[str], str]) -> None:
    conn = await _as_retention(role_database_url)
    try:
        rollups = await read_rollups(conn)
    finally:
        await conn.close()
    assert [r.name for r in rollups] == [
        "camera_stats_hourly",
        "occupancy_hourly",
        "system_metrics_rollup_1m",
    ]
    stats = rollups[0]
    assert stats.source_tables == (
        "camera_events",
        "frame_metadata",
        "detections",
        "heatmap_minutes",
    )
    assert stats.bucket_width.total_seconds() == 3600
    assert stats.lateness.total_seconds() == 1800
    assert (stats.keep_days, stats.finalized_through, stats.refreshed_through) == (730, None, None)


async def _make_detach_pending(database_url: str, parent: str, partition: str) -> None:
    """Start DETACH ... CONCURRENTLY while a reader holds a snapshot, then cancel it."""
    reader = await asyncpg.connect(database_url)
    detacher = await asyncpg.connect(database_url)
    watcher = await asyncpg.connect(database_url)
    try:
        tx = reader.transaction(isolation="repeatable_read")
        await tx.start()
        await reader.fetchval(f"SELECT count(*) FROM {parent}")
        pid = detacher.get_server_pid()
        task = asyncio.create_task(
            detacher.execute(f"ALTER TABLE {parent} DETACH PARTITION {partition} CONCURRENTLY")
        )
        for _ in range(200):
            pending = await watcher.fetchval(
                "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = $1::regclass",
                partition,
            )
            if pending:
                break
            await asyncio.sleep(0.02)
        assert pending, "DETACH CONCURRENTLY never reached its second phase"
        await watcher.fetchval("SELECT pg_cancel_backend($1)", pid)
        with pytest.raises(asyncpg.QueryCanceledError):
            await task
        await tx.rollback()
    finally:
        for conn in (reader, detacher, watcher):
            await conn.close()


async def _arrange(database_url: str) -> None:
    conn = await asyncpg.connect(database_url, server_settings={"TimeZone": "America/New_York"})
    try:
        for parent, ts in [
            ("camera_events", "2026-01-05"),
            ("camera_events", "2026-01-10"),
            ("camera_events", "2026-01-20"),
            ("frame_metadata", "2026-01-02"),
            ("audit_log", "2024-01-15"),
        ]:
            await conn.fetchval(
                "SELECT vigil_ensure_partition($1, $2::text::timestamptz)", parent, ts + " 12:00+00"
            )
        await conn.execute(
            "CREATE TABLE camera_events_odd (LIKE camera_events INCLUDING ALL EXCLUDING IDENTITY);"
            "ALTER TABLE camera_events ATTACH PARTITION camera_events_odd"
            " FOR VALUES FROM ('2026-01-11 00:00+00') TO ('2026-01-12 00:00+00');"
            "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
            " SELECT 'cam', 'motion', '2026-01-11 01:00+00'::timestamptz + g * interval '1 s', g"
            "   FROM generate_series(1, 500) g;"
        )
        await conn.execute(
            "ALTER TABLE camera_events DETACH PARTITION camera_events_p20260105 CONCURRENTLY"
        )
        await conn.execute(
            "ALTER TABLE frame_metadata DETACH PARTITION frame_metadata_p20260102 CONCURRENTLY"
        )
        await conn.execute(
            "ALTER TABLE frame_metadata_p20260102 RENAME TO frame_metadata_p2026010207;"
            "ALTER TABLE audit_log DETACH PARTITION audit_log_p202401;"
            "ALTER TABLE audit_log_p202401 SET SCHEMA vigil_archive;"
            "CREATE TABLE camera_events_p20261399 (LIKE camera_events);"
            "CREATE TABLE camera_events_pxyz (LIKE camera_events);"
        )
    finally:
        await conn.close()
    await _make_detach_pending(database_url, "camera_events", "camera_events_p20260120")


async def test_read_partitions_every_state_as_retention(
    database_url: str, role_database_url: Callable[[str], str]
) -> None:
    await _arrange(database_url)
    conn = await _as_retention(role_database_url)
    try:
        parts = await read_partitions(conn)
    finally:
        await conn.close()
    mine = {p.name: p for p in parts if p.start.year in (2024, 2026) and p.start.month == 1}
    expected = {
        ("camera_events", "camera_events_p20260105"): (
            utc(2026, 1, 5),
            utc(2026, 1, 6),
            PartitionState.DETACHED,
        ),
        ("camera_events", "camera_events_p20260110"): (
            utc(2026, 1, 10),
            utc(2026, 1, 11),
            PartitionState.ATTACHED,
        ),
        ("camera_events", "camera_events_odd"): (
            utc(2026, 1, 11),
            utc(2026, 1, 12),
            PartitionState.ATTACHED,
        ),
        ("camera_events", "camera_events_p20260120"): (
            utc(2026, 1, 20),
            utc(2026, 1, 21),
            PartitionState.DETACH_PENDING,
        ),
        ("frame_metadata", "frame_metadata_p2026010207"): (
            utc(2026, 1, 2),
            utc(2026, 1, 3),
            PartitionState.DETACHED,
        ),
        ("audit_log", "audit_log_p202401"): (
            utc(2024, 1, 1),
            utc(2024, 2, 1),
            PartitionState.ARCHIVED,
        ),
    }
    got = {(p.table, p.name): (p.start, p.end, p.state) for p in mine.values()}
    assert got == expected
    assert "camera_events_p20261399" not in {p.name for p in parts}
    assert "camera_events_pxyz" not in {p.name for p in parts}
    assert mine["audit_log_p202401"].schema == "vigil_archive"
    assert mine["camera_events_odd"].size_bytes > mine["camera_events_p20260110"].size_bytes > 0
    assert all(p.start.utcoffset() is not None for p in parts)
    assert parts == sorted(parts, key=lambda p: (p.table, p.start, p.name))


async def test_read_partitions_sees_the_migrations_partitions(
    role_database_url: Callable[[str], str], database_url: str
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        await admin.fetchval(
            "SELECT count(*) FROM vigil_ensure_partition_range("
            "'system_metrics', '2026-03-01 00:00+00', '2026-03-01 05:00+00')"
        )
    finally:
        await admin.close()
    conn = await _as_retention(role_database_url)
    try:
        parts = await read_partitions(conn)
    finally:
        await conn.close()
    hours = [
        p
        for p in parts
        if p.table == "system_metrics" and p.start.date().isoformat() == "2026-03-01"
    ]
    assert [(p.start.hour, (p.end - p.start).total_seconds()) for p in hours] == [
        (h, 3600.0) for h in range(6)
    ]
    assert {p.state for p in hours} == {PartitionState.ATTACHED}
    assert all(isinstance(p, Partition) for p in parts)


def _export(root: Path, table: str, partition: str, manifest: dict[str, object] | None) -> Path:
    folder = root / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{partition}.sql.gz"
    path.write_bytes(gzip.compress(b"-- export\n"))
    if manifest is not None:
        (folder / f"{partition}.json").write_text(json.dumps(manifest), encoding="utf-8")
    return path


def test_read_archive_files(tmp_path: Path) -> None:
    with_manifest = _export(
        tmp_path,
        "camera_events",
        "camera_events_odd",
        {"range": ["2026-01-11T00:00:00+00:00", "2026-01-12T00:00:00+00:00"]},
    )
    by_name = _export(tmp_path, "audit_log", "audit_log_p202412", None)
    _export(tmp_path, "camera_events", "camera_events_nosuffix", None)
    _export(tmp_path, "camera_events", "camera_events_p2026011", {"range": "bad"})
    (tmp_path / "camera_events" / ".camera_events_p20260101.sql.gz").write_bytes(b"x")
    (tmp_path / "camera_events" / "camera_events_p20260101.sql.gz.tmp").write_bytes(b"x")
    files = read_archive_files(tmp_path)
    assert [(f.table, f.partition, f.path, f.start, f.end) for f in files] == [
        ("audit_log", "audit_log_p202412", by_name, utc(2024, 12, 1), utc(2025, 1, 1)),
        ("camera_events", "camera_events_odd", with_manifest, utc(2026, 1, 11), utc(2026, 1, 12)),
    ]
    assert read_archive_files(tmp_path / "missing") == []


def test_suffix_time() -> None:
    assert suffix_time("system_metrics_p2026030105") == utc(2026, 3, 1, 5)
    assert suffix_time("camera_events_p20260301") == utc(2026, 3, 1)
    assert suffix_time("audit_log_p202603") == utc(2026, 3, 1)
    assert suffix_time("audit_log_p202613") is None
    assert suffix_time("audit_log_p2026031") is None
    assert suffix_time("audit_log") is None
