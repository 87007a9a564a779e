"""A whole retention run on a controlled clock, against the real database as vigil_retention.

The test database starts with the migrations' partitions (yesterday through `premake` ahead).
Rows are written into today's partitions; the runner is then told it is 40 days later: the
partitions of today are past camera_events' 30 days (archived to a file) and frame_metadata's
7 days (dropped), but not detections' 90 days. Rollups are computed first, so the hour's
counts survive the raw rows. A second runner that finds the lock taken does nothing.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from vigil_retention.run import RetentionRunner
from vigil_retention.run_lock import RunLock
from vigil_retention.settings import RetentionSettings

HOUR = timedelta(hours=1)


def _today_noon() -> datetime:
    return datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def _seed(database_url: str, at: datetime, events: int) -> None:
    """``events`` camera_events (motion, object_count i % 4), frame rows and detections."""
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "INSERT INTO camera_events (camera_id, event_type, ts, frame_number, motion_score,"
            " object_count) SELECT 'cam-r', 'motion', %s + i * interval '1 second', i, 0.5,"
            " i %% 4 FROM generate_series(0, %s - 1) AS i",
            (at, events),
        )
        db.execute(
            "INSERT INTO frame_metadata (camera_id, ts, frame_number, frame_hash, size_bytes)"
            " SELECT 'cam-r', %s + i * interval '1 second', i, md5(i::text), 1000"
            " FROM generate_series(0, 9) AS i",
            (at,),
        )


def _partition_of(database_url: str, table: str, at: datetime) -> str:
    with psycopg.connect(database_url, autocommit=True) as db:
        row = db.execute("SELECT partition_name FROM vigil_partition_bounds(%s, %s)", (table, at))
        found = row.fetchone()
    assert found is not None
    return str(found[0])


def _exists(database_url: str, qualified: str) -> bool:
    with psycopg.connect(database_url, autocommit=True) as db:
        found = db.execute("SELECT to_regclass(%s) IS NOT NULL", (qualified,)).fetchone()
    assert found is not None
    return bool(found[0])


def _one(database_url: str, sql: str, *params: Any) -> Any:
    with psycopg.connect(database_url, autocommit=True) as db:
        found = db.execute(sql, params).fetchone()
    assert found is not None
    return found[0]


def _missing_ahead(database_url: str, now: datetime) -> list[str]:
    """Partitions from ``now``'s period through ``premake`` periods ahead that do not exist,
    for every policy table."""
    with psycopg.connect(database_url, autocommit=True) as db:
        rows = db.execute(
            "SELECT b.partition_name FROM retention_policies p,"
            " generate_series(0, p.premake) AS k,"
            " vigil_partition_bounds(p.table_name,"
            "   %s + k * ('1 ' || p.granularity)::interval) AS b"
            " WHERE to_regclass('public.' || b.partition_name) IS NULL",
            (now,),
        ).fetchall()
    return [str(row[0]) for row in rows]


async def test_a_run_expires_per_policy_after_rolling_up(
    database_url: str, retention_pool: Any, retention_settings: RetentionSettings
) -> None:
    at = _today_noon()
    _seed(database_url, at, 120)
    events = _partition_of(database_url, "camera_events", at)
    frames = _partition_of(database_url, "frame_metadata", at)
    later = at + timedelta(days=40)
    assert _missing_ahead(database_url, later) != []  # the clock jumped: nothing made yet

    report = await RetentionRunner(retention_pool, retention_settings).run(later)

    assert report.held
    assert report.errors == [], report.errors
    assert not _exists(database_url, f"public.{events}")
    assert not _exists(database_url, f"public.{frames}")
    assert _exists(database_url, f"public.{_partition_of(database_url, 'detections', at)}")
    export = retention_settings.archive_dir / "camera_events" / f"{events}.sql.gz"
    with gzip.open(export, "rt") as script:
        assert sum(1 for line in script if "\tcam-r\t" in line) == 120
    stats = _one(
        database_url,
        "SELECT (event_count, frame_count, max_objects)::text FROM camera_stats_hourly"
        " WHERE camera_id = 'cam-r' AND bucket = %s",
        at,
    )
    assert stats == "(120,10,3)"
    assert _missing_ahead(database_url, later) == []
    run = _one(database_url, "SELECT (status, dry_run)::text FROM retention_runs WHERE id = %s",
               report.run_id)  # fmt: skip
    assert run == "(succeeded,f)"
    audited = _one(
        database_url,
        "SELECT count(*) FROM audit_log WHERE actor = 'vigil-retention' AND entity_id = %s",
        events,
    )
    assert audited >= 2  # detached, then archived


async def test_a_dry_run_changes_nothing_and_records_the_plan(
    database_url: str, retention_pool: Any, retention_settings: RetentionSettings
) -> None:
    at = _today_noon()
    _seed(database_url, at, 30)
    events = _partition_of(database_url, "camera_events", at)

    report = await RetentionRunner(retention_pool, retention_settings).run(
        at + timedelta(days=40), dry_run=True
    )

    assert report.held
    assert report.errors == []
    assert _exists(database_url, f"public.{events}")
    assert _one(database_url, "SELECT count(*) FROM camera_stats_hourly") == 0
    planned = _one(
        database_url, "SELECT actions FROM retention_runs WHERE id = %s AND dry_run", report.run_id
    )
    assert any(step.get("partition") == events for step in planned), planned
    assert not (retention_settings.archive_dir / "camera_events").exists()


async def test_a_second_runner_started_meanwhile_does_nothing(
    database_url: str, retention_pool: Any, retention_settings: RetentionSettings
) -> None:
    at = _today_noon()
    _seed(database_url, at, 10)
    events = _partition_of(database_url, "camera_events", at)
    runner = RetentionRunner(retention_pool, retention_settings)

    async with RunLock(retention_settings.database_url) as first:
        assert first.held
        second = await runner.run(at + timedelta(days=40))

    assert not second.held
    assert second.run_id is None
    assert _exists(database_url, f"public.{events}")
    assert _one(database_url, "SELECT count(*) FROM retention_runs") == 0
    after = await runner.run(at + timedelta(days=40))  # the lock is free again
    assert after.held
    assert not _exists(database_url, f"public.{events}")
