"""vigil_schema's table specs and CHECKED_ENUMS must match the migrated database exactly."""

from __future__ import annotations

import re

import psycopg

from vigil_schema.tables import (
    ALL_TABLES,
    ALL_VIEWS,
    CHECKED_ENUMS,
    INGEST_REJECT_PAYLOAD_MAX_BYTES,
    PARTITIONED_TABLES,
)

COLUMNS_SQL = """
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, a.attidentity <> ''
      FROM pg_attribute a
     WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum
"""

CHECKS_SQL = """
    SELECT c.relname, pg_get_constraintdef(k.oid)
      FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND k.contype = 'c' AND NOT c.relispartition
"""

# pg_get_constraintdef prints `col IN ('a', 'b')` as `(col = ANY (ARRAY['a'::text, 'b'::text]))`.
VALUE_SET_CHECK = re.compile(r"^CHECK \(\(?(\w+) = ANY \(+ARRAY\[(.*)\]\)+$")
LITERAL = re.compile(r"'((?:[^']|'')*)'::text")


def _relations(db: psycopg.Connection, kinds: tuple[str, ...]) -> set[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = ANY(%s) AND NOT c.relispartition"
        " AND c.relname <> 'alembic_version'",
        (list(kinds),),
    )
    return {row[0] for row in rows}


def _value_set_checks(db: psycopg.Connection) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for table, definition in db.execute(CHECKS_SQL):
        match = VALUE_SET_CHECK.match(definition)
        if match is None:
            continue
        column, array = match.groups()
        assert (table, column) not in found, f"two value-set CHECKs on {table}.{column}"
        found[(table, column)] = {v.replace("''", "'") for v in LITERAL.findall(array)}
    return found


def test_tables_and_views_are_exactly_the_specs(db: psycopg.Connection) -> None:
    assert _relations(db, ("r", "p")) == {spec.name for spec in ALL_TABLES}
    assert _relations(db, ("v", "m")) == {spec.name for spec in ALL_VIEWS}
    assert len({spec.name for spec in ALL_TABLES}) == len(ALL_TABLES)


def test_columns_match(db: psycopg.Connection) -> None:
    mismatches = {}
    for spec in ALL_TABLES + ALL_VIEWS:
        actual = [tuple(row) for row in db.execute(COLUMNS_SQL, (spec.name,))]
        expected = [(c.name, c.pg_type, c.nullable, c.generated) for c in spec.columns]
        if actual != expected:
            mismatches[spec.name] = {"database": actual, "spec": expected}
    assert mismatches == {}


def _partitioning(db: psycopg.Connection, table: str) -> tuple[object, ...] | None:
    row = db.execute(
        "SELECT pt.partstrat, a.attname, pt.partnatts, rp.granularity"
        "  FROM pg_partitioned_table pt"
        "  JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]"
        "  LEFT JOIN retention_policies rp ON rp.table_name = %s"
        " WHERE pt.partrelid = %s::regclass",
        (table, table),
    ).fetchone()
    return None if row is None else tuple(row)


def test_partitioning_matches(db: psycopg.Connection) -> None:
    actual = {spec.name: _partitioning(db, spec.name) for spec in ALL_TABLES}
    expected = {
        spec.name: None
        if spec.partition_key is None
        else ("r", spec.partition_key, 1, spec.granularity)
        for spec in ALL_TABLES
    }
    assert actual == expected
    for spec in PARTITIONED_TABLES:
        assert spec.partition_key is not None
        assert spec.column(spec.partition_key).pg_type == "timestamp with time zone"


def test_retention_policies_cover_exactly_the_partitioned_tables(db: psycopg.Connection) -> None:
    names = {row[0] for row in db.execute("SELECT table_name FROM retention_policies")}
    assert names == {spec.name for spec in PARTITIONED_TABLES}


def test_no_default_partitions(db: psycopg.Connection) -> None:
    rows = db.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relispartition"
        " AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'"
    ).fetchall()
    assert rows == []


def test_checked_enums_match_check_constraints(db: psycopg.Connection) -> None:
    checks = _value_set_checks(db)
    assert set(checks) == set(CHECKED_ENUMS), "CHECKED_ENUMS and value-set CHECKs differ"
    for key, enum in CHECKED_ENUMS.items():
        assert checks[key] == {member.value for member in enum}, f"{key} vs {enum.__name__}"


def test_check_parser_sees_the_known_constraints(db: psycopg.Connection) -> None:
    checks = _value_set_checks(db)
    assert checks[("camera_events", "event_type")] == {
        "motion",
        "object_detected",
        "scene_change",
        "manual_trigger",
    }


def test_ingest_reject_payload_cap(db: psycopg.Connection) -> None:
    definition = db.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conname = 'ingest_rejects_payload_cap'"
    ).fetchone()
    assert definition is not None
    assert f"<= {INGEST_REJECT_PAYLOAD_MAX_BYTES}" in definition[0]


def test_column_names_are_the_copy_column_list() -> None:
    camera_events = next(spec for spec in ALL_TABLES if spec.name == "camera_events")
    assert camera_events.all_column_names[0] == "id"
    assert camera_events.column_names == camera_events.all_column_names[1:]
    assert camera_events.insert_column_names == camera_events.column_names


UNIQUE_INDEXES_SQL = """
    SELECT c.relname, array_agg(a.attname::text ORDER BY a.attname)
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
     WHERE n.nspname = 'public' AND i.indisunique AND NOT i.indisprimary
       AND i.indpred IS NULL AND NOT c.relispartition
     GROUP BY i.indexrelid, c.relname
"""


def test_dedup_keys_are_the_unique_indexes_of_the_partitioned_tables(
    db: psycopg.Connection,
) -> None:
    """``TableSpec.dedup_key`` (stream entries' idempotency keys derive from it) names
    exactly the columns of the table's unique index, for every partitioned table."""
    indexes: dict[str, set[tuple[str, ...]]] = {}
    for table, columns in db.execute(UNIQUE_INDEXES_SQL):
        indexes.setdefault(table, set()).add(tuple(columns))
    declared = {spec.name: tuple(sorted(spec.dedup_key)) for spec in ALL_TABLES if spec.dedup_key}
    actual = {
        spec.name: next(iter(indexes[spec.name]))
        for spec in PARTITIONED_TABLES
        if len(indexes.get(spec.name, ())) == 1
    }
    assert declared == actual
