"""Least-privilege roles: exist as NOLOGIN groups and can do only what they need."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors

ROLES = ("vigil_ingest", "vigil_app", "vigil_maintenance", "vigil_readonly")


def test_roles_exist_and_cannot_log_in(db: psycopg.Connection) -> None:
    rows = db.execute(
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)", (list(ROLES),)
    ).fetchall()
    assert sorted(rows) == sorted((role, False) for role in ROLES)


def _as(db: psycopg.Connection, role: str) -> None:
    db.execute(f"SET ROLE {role}")


def test_ingest_can_insert_events_but_not_change_or_read_other_tables(
    db: psycopg.Connection,
) -> None:
    _as(db, "vigil_ingest")
    db.execute(
        "INSERT INTO camera_events (camera_id, event_type, ts, frame_number, motion_score)"
        " VALUES ('cam-1', 'motion', now(), 7, 0.5)"
    )
    db.execute(
        "INSERT INTO ingest_rejects (topic, payload, payload_size, reason, detail)"
        " VALUES ('vigil/cameras/x/events', '\\x00', 1, 'invalid_json', 'bad')"
    )
    db.execute("SELECT id FROM cameras LIMIT 1")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("UPDATE camera_events SET motion_score = 1")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("DELETE FROM camera_events")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("SELECT * FROM alerts")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("INSERT INTO cameras (id, name) VALUES ('cam-x', 'x')")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("SELECT vigil_drop_partition('camera_events_p20000101')")


def test_ingest_can_create_partitions_and_insert_into_them(db: psycopg.Connection) -> None:
    ts = datetime(2035, 1, 2, 3, tzinfo=UTC)
    _as(db, "vigil_ingest")
    with pytest.raises(errors.CheckViolation):
        db.execute(
            "INSERT INTO health_metrics (camera_id, ts, metric_type, value)"
            " VALUES ('cam-1', %s, 'brightness', 118)",
            (ts,),
        )
    assert db.execute("SELECT vigil_ensure_partition('health_metrics', %s)", (ts,)).fetchone() == (
        "health_metrics_p20350102",
    )
    db.execute(
        "INSERT INTO health_metrics (camera_id, ts, metric_type, value)"
        " VALUES ('cam-1', %s, 'brightness', 118)",
        (ts,),
    )
    db.execute("RESET ROLE")
    owner = db.execute(
        "SELECT pg_get_userbyid(relowner) = current_user FROM pg_class"
        " WHERE relname = 'health_metrics_p20350102'"
    ).fetchone()
    assert owner == (True,)


def test_readonly_reads_everything_and_writes_nothing(db: psycopg.Connection) -> None:
    tables = [
        row[0]
        for row in db.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')"
            " AND NOT c.relispartition AND c.relname <> 'alembic_version'"
        )
    ]
    _as(db, "vigil_readonly")
    for table in tables:
        db.execute(f"SELECT * FROM {table} LIMIT 1")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("INSERT INTO silences (matchers, ends_at, created_by) VALUES ('{}', now(), 'x')")


def test_app_manages_alerts_but_cannot_rewrite_events(db: psycopg.Connection) -> None:
    _as(db, "vigil_app")
    db.execute("INSERT INTO cameras (id, name) VALUES ('cam-2', 'Gate')")
    db.execute(
        "INSERT INTO alerts (fingerprint, rule, severity, camera_id, title)"
        " VALUES ('fp1', 'motion_at_night', 'warning', 'cam-2', 'Motion')"
    )
    db.execute("UPDATE alerts SET status = 'acknowledged' WHERE fingerprint = 'fp1'")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("DELETE FROM camera_events")
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("SELECT vigil_drop_partition('camera_events_p20000101')")


def test_maintenance_drops_partitions_only_of_managed_tables(db: psycopg.Connection) -> None:
    ts = datetime(2036, 6, 1, tzinfo=UTC)
    db.execute("SELECT vigil_ensure_partition('detections', %s)", (ts,))
    _as(db, "vigil_maintenance")
    assert db.execute("SELECT vigil_drop_partition('cameras')").fetchone() == (False,)
    assert db.execute("SELECT vigil_drop_partition('detections_p20360601')").fetchone() == (True,)
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("DROP TABLE camera_stats_hourly")
    db.execute(
        "INSERT INTO camera_stats_hourly (camera_id, bucket, event_count, motion_events,"
        " object_events, scene_changes) VALUES ('cam-1', %s, 1, 1, 0, 0)",
        (ts,),
    )
    db.execute("RESET ROLE")
    gone = db.execute("SELECT to_regclass('detections_p20360601')").fetchone()
    assert gone == (None,)


def test_maintenance_archives_audit_partitions(db: psycopg.Connection) -> None:
    ts = datetime(2036, 6, 1, tzinfo=UTC)
    db.execute("SELECT vigil_ensure_partition('audit_log', %s)", (ts,))
    db.execute(
        "INSERT INTO audit_log (ts, actor, action, entity_type) VALUES (%s, 't', 'a', 'system')",
        (ts,),
    )
    _as(db, "vigil_maintenance")
    assert db.execute("SELECT vigil_archive_partition('audit_log_p203606')").fetchone() == (True,)
    db.execute("RESET ROLE")
    archived = db.execute("SELECT count(*) FROM vigil_archive.audit_log_p203606").fetchone()
    assert archived == (1,)
    live = db.execute("SELECT count(*) FROM audit_log WHERE ts = %s", (ts,)).fetchone()
    assert live == (0,)
