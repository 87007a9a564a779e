"""camera_events after 0003: the dedup key's index serves camera + time ranges; 0002 back."""

from __future__ import annotations

import psycopg

import vigil_migrations

INDEXES_SQL = """
    SELECT indexname, indexdef FROM pg_indexes
     WHERE schemaname = 'public' AND tablename = 'camera_events' ORDER BY indexname
"""
CAMERA_RANGE_SQL = """
    EXPLAIN (COSTS OFF)
    SELECT count(*) FROM camera_events
     WHERE camera_id = 'cam-1' AND ts >= now() - interval '1 minute' AND ts <= now()
"""


def _indexes(conn: psycopg.Connection) -> dict[str, str]:
    return {str(row[0]): str(row[1]) for row in conn.execute(INDEXES_SQL)}


def test_dedup_key_leads_with_camera_and_time(db: psycopg.Connection) -> None:
    indexes = _indexes(db)
    assert "camera_events_camera_ts_idx" not in indexes
    assert indexes["camera_events_dedup_key"].endswith(
        "USING btree (camera_id, ts, event_type, frame_number)"
    )
    assert "UNIQUE" in indexes["camera_events_dedup_key"]
    db.execute("SELECT vigil_ensure_partition('camera_events', now())")
    db.execute(
        "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
        " SELECT 'cam-' || (g % 50), 'motion', now() - g * interval '1 ms', g"
        " FROM generate_series(1, 20000) g"
    )
    db.execute("ANALYZE camera_events")
    plan = "\n".join(row[0] for row in db.execute(CAMERA_RANGE_SQL))
    assert "camera_id_ts_event_type" in plan, plan  # the partition's copy of the dedup index


def test_downgrade_to_0002_restores_its_indexes(empty_database_url: str) -> None:
    vigil_migrations.upgrade(empty_database_url)
    vigil_migrations.downgrade(empty_database_url, "0002")
    with psycopg.connect(empty_database_url) as conn:
        indexes = _indexes(conn)
    assert indexes["camera_events_camera_ts_idx"].endswith("USING btree (camera_id, ts DESC)")
    assert indexes["camera_events_dedup_key"].endswith(
        "USING btree (camera_id, event_type, frame_number, ts)"
    )
    vigil_migrations.upgrade(empty_database_url)
