"""status_report: per-table status (pure and from a real catalog read) and the gauges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import REGISTRY

from vigil_retention.models import Held, Partition, PartitionState, Policy, RollupState
from vigil_retention.status_report import build_status, read_status, set_gauges
from vigil_schema.enums import ExpireAction, Granularity

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def _policy(table: str) -> Policy:
    return Policy(table, Granularity.DAY, 30, 2, ExpireAction.DROP, None, 0)


def _part(table: str, day: int, state: PartitionState, size: int) -> Partition:
    start = datetime(2026, 3, day, tzinfo=UTC)
    return Partition(table, f"{table}_p202603{day:02}", start, start + DAY, state, size)


def _sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_build_status_and_gauges() -> None:
    parts = [
        _part("st_events", 12, PartitionState.ATTACHED, 300),
        _part("st_events", 2, PartitionState.ATTACHED, 100),
        _part("st_events", 10, PartitionState.ATTACHED, 200),
        _part("st_events", 11, PartitionState.ATTACHED, 50),
        _part("st_events", 1, PartitionState.DETACHED, 7000),
        _part("st_events", 1, PartitionState.ARCHIVED, 9000),
        _part("st_other", 1, PartitionState.ARCHIVED, 10),
    ]
    statuses = build_status(NOW, [_policy("st_other"), _policy("st_events")], parts)
    events, other = statuses
    assert (events.table, events.attached, events.ahead, events.size_bytes) == (
        "st_events",
        4,
        2,
        650,
    )
    assert (events.oldest_partition, events.oldest_start) == (
        "st_events_p20260302",
        datetime(2026, 3, 2, tzinfo=UTC),
    )
    assert events.oldest_age_s == (8 * DAY + timedelta(hours=12)).total_seconds()
    assert events.by_state == {
        PartitionState.ATTACHED: 4,
        PartitionState.DETACH_PENDING: 0,
        PartitionState.DETACHED: 1,
        PartitionState.ARCHIVED: 1,
    }
    assert (other.table, other.attached, other.oldest_age_s, other.size_bytes) == (
        "st_other",
        0,
        None,
        0,
    )

    final = datetime(2026, 3, 10, 11, tzinfo=UTC)
    rollups = [RollupState("st_rollup", ("st_events",), DAY, DAY, None, final, final)]
    set_gauges(statuses, [Held("st_events", "x", "r"), Held("st_events", "y", "r")], rollups)
    assert _sample("vigil_retention_partitions_ahead", table="st_events") == 2
    assert _sample("vigil_retention_table_size_bytes", table="st_events") == 650
    assert _sample("vigil_retention_partitions", table="st_events", state="detached") == 1
    assert _sample("vigil_retention_partitions", table="st_events", state="detach_pending") == 0
    assert _sample("vigil_retention_expiry_held", table="st_events") == 2
    assert _sample("vigil_retention_expiry_held", table="st_other") == 0
    assert _sample("vigil_retention_oldest_partition_age_seconds", table="st_events") == (
        events.oldest_age_s
    )
    assert _sample("vigil_retention_oldest_partition_age_seconds", table="st_other") is None
    assert (
        _sample("vigil_retention_rollup_finalized_timestamp_seconds", rollup="st_rollup")
        == final.timestamp()
    )

    # The table's last attached partition gone: its age sample goes too.
    set_gauges(build_status(NOW, [_policy("st_events")], parts[4:]))
    assert _sample("vigil_retention_oldest_partition_age_seconds", table="st_events") is None
    assert _sample("vigil_retention_partitions_ahead", table="st_events") == 0


async def test_read_status_as_retention(
    database_url: str, role_database_url: Callable[[str], str]
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        await admin.fetchval(
            "SELECT count(*) FROM vigil_ensure_partition_range('detections', $1, $2)",
            NOW - 3 * DAY,
            NOW + 4 * DAY,
        )
        await admin.execute(
            "DELETE FROM retention_policies WHERE table_name NOT IN ('detections', 'audit_log')"
        )
    finally:
        await admin.close()
    conn = await asyncpg.connect(role_database_url("vigil_retention"))
    try:
        statuses = {s.table: s for s in await read_status(conn, NOW)}
    finally:
        await conn.close()
    assert sorted(statuses) == ["audit_log", "detections"]
    detections = statuses["detections"]
    starts = [NOW.replace(hour=0) + i * DAY for i in range(-3, 5)]
    own_ahead = sum(1 for s in starts if s > NOW)
    assert detections.ahead >= own_ahead == 4
    assert detections.oldest_start is not None
    assert detections.oldest_start <= starts[0]
    assert detections.size_bytes > 0
    assert detections.by_state[PartitionState.ATTACHED] == detections.attached >= 8
