"""vigil_ensure_partition since migration 0008: CREATE TABLE (LIKE parent INCLUDING ALL) + a
CHECK of the bounds + ATTACH PARTITION, so that the parent is never ACCESS EXCLUSIVE locked.

Contract checked here, against the real database:

- A partition it makes has the shape ``CREATE TABLE ... PARTITION OF`` would have given it, on
  every partitioned table: columns (types, NOT NULL, defaults, no identity of its own),
  constraints (CHECKs, primary key, foreign keys), indexes (each one attached to its parent
  index, none twice), triggers, owner, privileges; the temporary bounds CHECK is gone.
- What those catalogs promise holds: audit_log's immutability trigger fires on the new
  partition (through the parent and on the partition itself), ids come from the parent's
  identity, unique indexes reject duplicates.
- A reader (ACCESS SHARE) and a writer (ROW EXCLUSIVE) holding the parent in open
  transactions do not block it (``lock_timeout`` 2 s), where ``CREATE TABLE ... PARTITION OF``
  times out on the same locks.
- Concurrent creators of one partition (single and range calls, and a session that bypasses
  the advisory lock) all succeed and leave exactly one attached table.
- Writers through ``vigil_runtime.partitions.write_creating_partitions`` create the missing
  partition and write, concurrently, while a reader holds the parent.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import asyncpg
import psycopg
import pytest
from psycopg import errors, sql

from vigil_runtime.partitions import write_creating_partitions
from vigil_schema.tables import PARTITIONED_TABLES

FAR = datetime(2031, 5, 10, 12, tzinfo=UTC)
LOCK_TIMEOUT = "2s"

COLUMNS_SQL = """
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity::text,
           a.attgenerated::text, a.attislocal, a.attinhcount, pg_get_expr(d.adbin, d.adrelid)
      FROM pg_attribute a
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = %(rel)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum
"""
CONSTRAINTS_SQL = """
    SELECT conname, contype::text, conislocal, coninhcount, conparentid <> 0,
           pg_get_constraintdef(oid)
      FROM pg_constraint WHERE conrelid = %(rel)s::regclass ORDER BY conname
"""
INDEXES_SQL = """
    SELECT pg_get_indexdef(i.indexrelid), h.inhparent::regclass::text
      FROM pg_index i LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid
     WHERE i.indrelid = %(rel)s::regclass ORDER BY 2, 1
"""
TRIGGERS_SQL = """
    SELECT CASE WHEN tgisinternal THEN 'internal:' || tgfoid::regproc::text ELSE tgname END,
           tgenabled::text, tgparentid <> 0, tgtype
      FROM pg_trigger WHERE tgrelid = %(rel)s::regclass ORDER BY 1, 4
"""
CLASS_SQL = """
    SELECT relowner::regrole::text, relacl::text, reloptions, relpersistence::text,
           relreplident::text, relrowsecurity, pg_get_expr(relpartbound, oid) IS NOT NULL
      FROM pg_class WHERE oid = %(rel)s::regclass
"""
SHAPE_QUERIES = (COLUMNS_SQL, CONSTRAINTS_SQL, INDEXES_SQL, TRIGGERS_SQL, CLASS_SQL)


def _one(
    conn: psycopg.Connection, query: str, params: tuple[Any, ...] | dict[str, Any] = ()
) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None, query
    return row[0]


def _bounds(conn: psycopg.Connection, parent: str, ts: datetime) -> tuple[str, datetime, datetime]:
    row = conn.execute("SELECT * FROM vigil_partition_bounds(%s, %s)", (parent, ts)).fetchone()
    assert row is not None
    return str(row[0]), row[1], row[2]


def _ensure(conn: psycopg.Connection, parent: str, ts: datetime) -> str:
    return str(_one(conn, "SELECT vigil_ensure_partition(%s, %s)", (parent, ts)))


def _partition_of(conn: psycopg.Connection, parent: str, ts: datetime) -> str:
    """The pre-0008 way: ``CREATE TABLE ... PARTITION OF`` (ACCESS EXCLUSIVE on the parent)."""
    name, start, end = _bounds(conn, parent, ts)
    conn.execute(
        sql.SQL(
            "CREATE TABLE public.{} PARTITION OF public.{} FOR VALUES FROM ({}) TO ({})"
        ).format(sql.Identifier(name), sql.Identifier(parent), sql.Literal(start), sql.Literal(end))
    )
    return name


def _shape(conn: psycopg.Connection, partition: str) -> list[list[tuple[Any, ...]]]:
    """Everything catalogued about ``partition``, its own name replaced by ``<p>``."""
    shape = []
    for query in SHAPE_QUERIES:
        rows = conn.execute(query, {"rel": partition}).fetchall()
        shape.append(
            [
                tuple(re.sub(rf"\b{partition}", "<p>", v) if isinstance(v, str) else v for v in r)
                for r in rows
            ]
        )
    return shape


def _attached(conn: psycopg.Connection, parent: str) -> set[str]:
    rows = conn.execute(
        "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
        (parent,),
    ).fetchall()
    return {str(r[0]) for r in rows}


def _tables_named_like(conn: psycopg.Connection, parent: str) -> set[str]:
    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s",
        (f"{parent}\\_p%",),
    ).fetchall()
    return {str(r[0]) for r in rows}


def test_partition_has_the_shape_partition_of_gives(db: psycopg.Connection) -> None:
    assert len(PARTITIONED_TABLES) >= 10
    mismatched = []
    for spec in PARTITIONED_TABLES:
        attached = _ensure(db, spec.name, FAR)
        _, _, end = _bounds(db, spec.name, FAR)
        db.execute("SET ROLE vigil_owner")  # the owner the SECURITY DEFINER function runs as
        created = _partition_of(db, spec.name, end)
        db.execute("RESET ROLE")
        assert {attached, created} <= _attached(db, spec.name)
        shape = _shape(db, attached)
        assert all(shape[i] for i in (0, 1, 2, 4)), spec.name  # columns, keys, indexes, owner
        if shape != _shape(db, created):
            mismatched.append(spec.name)
        parent_indexes = db.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass",
            (spec.name,),
        ).fetchall()
        child_parents = [row[1] for row in db.execute(INDEXES_SQL, {"rel": attached})]
        assert sorted(child_parents) == sorted(r[0] for r in parent_indexes), spec.name
        assert not [c for c in shape[1] if c[0].endswith("_bounds")]
    assert mismatched == []


def test_audit_log_partition_is_immutable(db: psycopg.Connection) -> None:
    partition = _ensure(db, "audit_log", FAR)
    assert partition == "audit_log_p203105"
    entry = _one(
        db,
        "INSERT INTO audit_log (ts, actor, action, entity_type) VALUES (%s, 'test', 'probe',"
        " 'system') RETURNING id",
        (FAR,),
    )
    assert _one(db, "SELECT tableoid::regclass::text FROM audit_log WHERE id = %s", (entry,)) == (
        partition
    )
    for target in ("audit_log", partition):
        with pytest.raises(errors.InsufficientPrivilege, match="immutable"):
            db.execute(f"UPDATE {target} SET actor = 'mallory' WHERE id = %s", (entry,))
        with pytest.raises(errors.InsufficientPrivilege, match="immutable"):
            db.execute(f"DELETE FROM {target} WHERE id = %s", (entry,))
    assert _one(db, "SELECT actor FROM audit_log WHERE id = %s", (entry,)) == "test"


def test_ids_come_from_the_parent_identity_and_unique_indexes_hold(db: psycopg.Connection) -> None:
    sequences = _one(db, "SELECT count(*) FROM pg_class WHERE relkind = 'S'")
    partition = _ensure(db, "camera_events", FAR)
    assert _one(db, "SELECT count(*) FROM pg_class WHERE relkind = 'S'") == sequences
    assert _one(db, "SELECT pg_get_serial_sequence(%s, 'id')", (partition,)) is None
    insert = (
        "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
        " VALUES ('cam-1', 'motion', %s, %s) RETURNING id, tableoid::regclass::text"
    )
    now = datetime.now(UTC)  # an existing partition (the migration made today's)
    ids = []
    for ts, frame in ((now, 1), (FAR, 1), (now, 2), (FAR, 2)):
        row = db.execute(insert, (ts, frame)).fetchone()
        assert row is not None
        ids.append(int(row[0]))
        assert (row[1] == partition) == (ts == FAR)
    assert ids == sorted(ids)  # one sequence across partitions
    assert len(set(ids)) == 4
    with pytest.raises(errors.UniqueViolation, match=partition):
        db.execute(insert, (FAR, 1))  # camera_events_dedup_key's index on the new partition
    with pytest.raises(errors.UniqueViolation, match=partition):
        db.execute(
            "INSERT INTO camera_events (id, camera_id, event_type, ts, frame_number)"
            " OVERRIDING SYSTEM VALUE VALUES (%s, 'cam-2', 'motion', %s, 9)",
            (ids[1], FAR),
        )
    with pytest.raises(errors.NotNullViolation):  # a partition has no identity of its own
        db.execute(
            f"INSERT INTO {partition} (camera_id, event_type, ts, frame_number)"
            " VALUES ('cam-3', 'motion', %s, 1)",
            (FAR,),
        )


def test_open_readers_and_writers_do_not_block_it(
    db: psycopg.Connection, database_url: str, role_database_url: Callable[[str], str]
) -> None:
    now = datetime.now(UTC)
    with (
        psycopg.connect(role_database_url("vigil_retention"), autocommit=True) as retention,
        psycopg.connect(database_url) as holder,
    ):
        holder.execute("SELECT count(*) FROM camera_events").fetchone()  # ACCESS SHARE
        holder.execute(
            "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
            " VALUES ('cam-1', 'motion', %s, 1)",
            (now,),
        )  # ROW EXCLUSIVE, uncommitted
        held = db.execute(
            "SELECT mode FROM pg_locks WHERE relation = 'camera_events'::regclass AND pid = %s",
            (holder.info.backend_pid,),
        ).fetchall()
        assert {"AccessShareLock", "RowExclusiveLock"} <= {r[0] for r in held}

        retention.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        started = time.monotonic()
        name = _ensure(retention, "camera_events", FAR)
        assert time.monotonic() - started < 2.0  # under lock_timeout: it never waited
        assert name in _attached(db, "camera_events")

        retention.execute("SET ROLE vigil_owner")
        _, _, end = _bounds(retention, "camera_events", FAR)
        with pytest.raises(errors.LockNotAvailable):
            _partition_of(retention, "camera_events", end)  # ACCESS EXCLUSIVE: waits, times out
        holder.commit()
        assert _partition_of(retention, "camera_events", end) in _attached(db, "camera_events")


def test_concurrent_creators_leave_one_attached_partition(database_url: str) -> None:
    ts = datetime(2032, 7, 4, 12, tzinfo=UTC)
    calls = [
        ("SELECT vigil_ensure_partition('detections', %(ts)s)", "detections_p20320704"),
        (
            "SELECT p FROM vigil_ensure_partition_range('detections', %(ts)s - interval '1 day',"
            " %(ts)s + interval '1 day') AS p ORDER BY 1 OFFSET 1 LIMIT 1",
            "detections_p20320704",
        ),
        ("SELECT vigil_ensure_partition('audit_log', %(ts)s)", "audit_log_p203207"),
    ] * 4
    barrier = threading.Barrier(len(calls))

    def create(call: tuple[str, str]) -> tuple[str, str]:
        with psycopg.connect(database_url, autocommit=True) as conn:
            barrier.wait(timeout=10)
            return str(_one(conn, call[0], {"ts": ts})), call[1]

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(create, calls))
    assert all(got == expected for got, expected in results)
    with psycopg.connect(database_url, autocommit=True) as db:
        for parent, day in (("detections", "20320703"), ("detections", "20320705")):
            assert f"{parent}_p{day}" in _attached(db, parent)
        for parent in ("detections", "audit_log"):
            assert _tables_named_like(db, parent) <= _attached(db, parent)  # no orphan


def test_a_creator_that_bypassed_the_advisory_lock_wins_quietly(database_url: str) -> None:
    ts = datetime(2033, 2, 3, tzinfo=UTC)
    with (
        psycopg.connect(database_url) as bypass,
        psycopg.connect(database_url, autocommit=True) as ensurer,
    ):
        name = _partition_of(bypass, "camera_events", ts)  # uncommitted

        def commit_later() -> None:
            time.sleep(0.5)
            bypass.commit()

        committer = threading.Thread(target=commit_later)
        committer.start()
        started = time.monotonic()
        assert _ensure(ensurer, "camera_events", ts) == name  # waited, then found it
        committer.join()
        assert time.monotonic() - started >= 0.4
        assert name in _attached(ensurer, "camera_events")


async def test_writers_create_the_partition_while_a_reader_holds_the_parent(
    database_url: str, pg_pool_as: Callable[[str], Any]
) -> None:
    pool = await pg_pool_as("vigil_ingest")
    ts = datetime(2034, 9, 9, 9, tzinfo=UTC)
    reader = await asyncpg.connect(database_url)
    try:
        reader_tx = reader.transaction()
        await reader_tx.start()
        assert await reader.fetchval("SELECT count(*) FROM camera_events") == 0

        async def write(frame: int) -> None:
            async with pool.acquire() as conn:
                await conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
                await write_creating_partitions(
                    conn,
                    "camera_events",
                    [ts],
                    lambda: conn.execute(
                        "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
                        " VALUES ('cam-1', 'motion', $1, $2)",
                        ts,
                        frame,
                    ),
                )

        await asyncio.wait_for(asyncio.gather(*(write(f) for f in range(1, 9))), timeout=20)
        await reader_tx.rollback()
        rows = await reader.fetch(
            "SELECT frame_number, tableoid::regclass::text AS p FROM camera_events"
            " WHERE ts = $1 ORDER BY 1",
            ts,
        )
        assert [(r["frame_number"], r["p"]) for r in rows] == [
            (f, "camera_events_p20340909") for f in range(1, 9)
        ]
    finally:
        await reader.close()
