"""vigil_ensure_partition / vigil_partition_bounds: naming, UTC bounds, idempotence, races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import errors

from vigil_schema.enums import Granularity
from vigil_schema.tables import PARTITIONED_TABLES

TS = datetime(2031, 3, 15, 13, 45, 10, tzinfo=UTC)

CASES = [
    (
        "system_metrics",
        "system_metrics_p2031031513",
        datetime(2031, 3, 15, 13, tzinfo=UTC),
        datetime(2031, 3, 15, 14, tzinfo=UTC),
    ),
    (
        "camera_events",
        "camera_events_p20310315",
        datetime(2031, 3, 15, tzinfo=UTC),
        datetime(2031, 3, 16, tzinfo=UTC),
    ),
    (
        "audit_log",
        "audit_log_p203103",
        datetime(2031, 3, 1, tzinfo=UTC),
        datetime(2031, 4, 1, tzinfo=UTC),
    ),
]

PARTITIONS_SQL = """
    SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = %s::regclass
"""

STEP = {
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
    Granularity.MONTH: timedelta(days=31),
}


def _partitions(db: psycopg.Connection, parent: str) -> dict[str, str]:
    return dict(db.execute(PARTITIONS_SQL, (parent,)).fetchall())


def _insert_probe(db: psycopg.Connection, parent: str, ts: datetime) -> None:
    """Insert one minimal row into ``parent`` at ``ts``."""
    statements = {
        "system_metrics": "INSERT INTO system_metrics (ts, metric_name, metric_type, component,"
        " value) VALUES (%s, 'probe', 'gauge', 'test', 1)",
        "camera_events": "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
        " VALUES ('cam-1', 'motion', %s, 1)",
        "audit_log": "INSERT INTO audit_log (ts, actor, action, entity_type)"
        " VALUES (%s, 'test', 'probe', 'system')",
    }
    db.execute(statements[parent], (ts,))


def test_bounds_are_utc_whatever_the_session_time_zone(db: psycopg.Connection) -> None:
    for session_tz in ("UTC", "America/New_York", "Asia/Kolkata"):
        db.execute(f"SET TimeZone = '{session_tz}'")
        for parent, name, start, end in CASES:
            row = db.execute("SELECT * FROM vigil_partition_bounds(%s, %s)", (parent, TS))
            assert row.fetchone() == (name, start, end), session_tz
            assert name not in _partitions(db, parent), "bounds must not create the partition"


@pytest.mark.parametrize(("parent", "name", "start", "end"), CASES)
def test_ensure_creates_the_partition_once(
    db: psycopg.Connection, parent: str, name: str, start: datetime, end: datetime
) -> None:
    db.execute("SET TimeZone = 'America/New_York'")  # the bounds must still be UTC
    with pytest.raises(errors.CheckViolation, match="no partition"):
        _insert_probe(db, parent, TS)

    before = _partitions(db, parent)
    last_instant = end - timedelta(microseconds=1)
    for ts in (TS, last_instant, start, TS):
        row = db.execute("SELECT vigil_ensure_partition(%s, %s)", (parent, ts)).fetchone()
        assert row == (name,)
    after = _partitions(db, parent)
    assert set(after) - set(before) == {name}

    db.execute("SET TimeZone = 'UTC'")
    bound = db.execute(
        "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = %s", (name,)
    ).fetchone()
    fmt = "%Y-%m-%d %H:%M:%S"
    assert bound == (f"FOR VALUES FROM ('{start:{fmt}}+00') TO ('{end:{fmt}}+00')",)

    _insert_probe(db, parent, TS)
    count = db.execute(f"SELECT count(*) FROM {name}").fetchone()
    assert count == (1,)


def test_ensure_is_safe_under_concurrent_callers(database_url: str) -> None:
    ts = datetime(2032, 7, 4, 12, tzinfo=UTC)

    def ensure(_: int) -> str:
        with psycopg.connect(database_url, autocommit=True) as conn:
            row = conn.execute("SELECT vigil_ensure_partition('camera_events', %s)", (ts,))
            result = row.fetchone()
            assert result is not None
            return str(result[0])

    with ThreadPoolExecutor(max_workers=6) as pool:
        names = set(pool.map(ensure, range(12)))
    assert names == {"camera_events_p20320704"}


def test_ensure_range_covers_every_period(db: psycopg.Connection) -> None:
    rows = db.execute(
        "SELECT * FROM vigil_ensure_partition_range('audit_log', %s, %s)",
        (datetime(2033, 11, 20, tzinfo=UTC), datetime(2034, 2, 1, tzinfo=UTC)),
    ).fetchall()
    assert [row[0] for row in rows] == [
        "audit_log_p203311",
        "audit_log_p203312",
        "audit_log_p203401",
        "audit_log_p203402",
    ]


def test_unknown_parent_is_refused(db: psycopg.Connection) -> None:
    with pytest.raises(errors.InvalidParameterValue, match="retention_policies"):
        db.execute("SELECT vigil_ensure_partition('cameras', now())")
    with pytest.raises(errors.InvalidParameterValue):
        db.execute("SELECT vigil_partition_bounds('no_such_table', now())")


def test_initial_partitions_cover_yesterday_to_premake(db: psycopg.Connection) -> None:
    now = datetime.now(UTC)
    missing = []
    for spec in PARTITIONED_TABLES:
        assert spec.granularity is not None
        row = db.execute(
            "SELECT premake FROM retention_policies WHERE table_name = %s", (spec.name,)
        ).fetchone()
        assert row is not None
        # The template was migrated a little before now: check up to premake - 1 periods ahead
        # so that a period boundary passed since then cannot make the test flaky.
        ahead = [now + STEP[spec.granularity] * i for i in range(1, int(row[0]))]
        existing = _partitions(db, spec.name)
        for ts in [now - timedelta(days=1), now, *ahead]:
            bounds = db.execute(
                "SELECT partition_name FROM vigil_partition_bounds(%s, %s)", (spec.name, ts)
            ).fetchone()
            assert bounds is not None
            if bounds[0] not in existing:
                missing.append(bounds[0])
    assert missing == []
