"""Least-privilege roles (revision 0004): each can do what its service needs, and no more.

``EXPECTED`` is the contract, ARCHITECTURE §4's "written by" table plus what each service
reads: every (role, table, privilege) that is not listed must be refused, every listed one
granted. Statements are also run for real under ``SET ROLE`` (partition creation through
the SECURITY DEFINER helper, audit_log, refused writes); the service tests run the services
themselves under login roles that are members of these.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import errors, sql

from vigil_schema.roles import ALL_ROLES, CLI, OWNER, READONLY, SERVICE_ROLES
from vigil_schema.tables import ALL_TABLES, ALL_VIEWS

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
ALL_RELATIONS = sorted(spec.name for spec in ALL_TABLES + ALL_VIEWS)
SECRET_COLUMNS = ("credentials_encrypted", "connection_string_encrypted")
WRITERS = ("vigil_ingest", "vigil_analyzer", "vigil_optimizer", "vigil_alerter",
           "vigil_retention", CLI)  # fmt: skip

S, SI, SIU, SIUD = "S", "SI", "SIU", "SIUD"
EXPECTED: dict[str, dict[str, str]] = {
    "vigil_ingest": {
        "camera_events": "I",
        "frame_metadata": "I",
        "health_metrics": "I",
        "health_logs": SI,
        "system_metrics": "I",
        "ingest_rejects": "I",
        "retention_policies": S,
        "audit_log": "I",
    },
    "vigil_analyzer": {
        "detections": SIU,
        "occupancy_events": SIU,
        "heatmap_minutes": SIU,
        "claude_analyses": SIU,
        "frame_metadata": S,
        "camera_events": S,
        "ingest_rejects": "I",
        "audit_log": "I",
    },
    "vigil_optimizer": {
        "cameras": "SU",
        "snapshots": SIU,
        "optimizations": SIU,
        "applied_configs": SIU,
        "health_metrics": SI,
        "health_logs": SI,
        "camera_events": S,
        "frame_metadata": S,
        "detections": S,
        "claude_analyses": S,
        "retention_policies": S,
        "ingest_rejects": "I",
        "audit_log": "I",
    },
    "vigil_alerter": {
        "alerts": SIU,
        "notifications": SIU,
        "silences": SIU,
        "alert_groups": SIUD,
        "alert_group_members": SIUD,
        "camera_events": S,
        "detections": S,
        "occupancy_events": S,
        "claude_analyses": S,
        "health_logs": S,
        "ingest_rejects": "I",
        "audit_log": "SI",
    },
    "vigil_retention": {
        "system_metrics": SI,
        "system_metrics_rollup_1m": SIUD,
        "occupancy_hourly": SIUD,
        "camera_stats_hourly": SIUD,
        "retention_policies": S,
        "camera_events": S,
        "occupancy_events": S,
        "detections": S,
        "health_metrics": S,
        "audit_log": SI,
        "frame_metadata": S,
        "heatmap_minutes": S,
        "snapshots": S,
        "claude_analyses": S,
        "health_logs": S,
        "notifications": S,
        "ingest_rejects": S,
        "retention_runs": SIUD,
        "rollup_state": "SU",
    },
    CLI: {
        **dict.fromkeys(ALL_RELATIONS, S),
        "cameras": SIUD,
        "users": SIUD,
        "silences": SIUD,
        "alerts": "SU",
        "optimizations": "SU",
        "retention_policies": "SU",
        "applied_configs": SI,
        "ingest_rejects": "SD",
        "audit_log": SI,
    },
    READONLY: {name: S for name in ALL_RELATIONS if name not in ("users", "cameras")},
}
"""Role → relation → privileges (S, I, U, D); absent: none. cameras' column grants apart."""

CAMERA_READERS = ("vigil_ingest", "vigil_analyzer", "vigil_alerter", "vigil_retention", READONLY)
"""Roles reading cameras without its encrypted columns (a column-level grant)."""


def _as(db: psycopg.Connection, role: str) -> None:
    db.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))


def _privileges(db: psycopg.Connection, role: str) -> dict[str, str]:
    granted: dict[str, str] = {}
    for relation in ALL_RELATIONS:
        letters = "".join(
            priv[0]
            for priv in PRIVILEGES
            if db.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (role, relation, priv)
            ).fetchone()
            == (True,)
        )
        if letters:
            granted[relation] = letters
    return granted


def test_roles_exist_and_cannot_log_in(db: psycopg.Connection) -> None:
    rows = db.execute(
        "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = ANY(%s)", (list(ALL_ROLES),)
    ).fetchall()
    assert sorted(rows) == sorted((role, False) for role in ALL_ROLES)
    gone = db.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname IN ('vigil_app', 'vigil_maintenance')"
    ).fetchone()
    assert gone == (0,)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_table_privileges_are_exactly_the_contract(db: psycopg.Connection, role: str) -> None:
    assert _privileges(db, role) == EXPECTED[role]


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_camera_secrets_only_for_the_optimizer_and_cli(db: psycopg.Connection, role: str) -> None:
    readable = db.execute(
        "SELECT has_any_column_privilege(%s, 'cameras', 'SELECT')", (role,)
    ).fetchone()
    assert readable == (role in (*CAMERA_READERS, "vigil_optimizer", CLI),)
    for column in SECRET_COLUMNS:
        secret = db.execute(
            "SELECT has_column_privilege(%s, 'cameras', %s, 'SELECT')", (role, column)
        ).fetchone()
        assert secret == (role in ("vigil_optimizer", CLI),), column


def test_every_object_belongs_to_the_owner(db: psycopg.Connection) -> None:
    """A revision that forgets ``SELECT vigil_adopt_ownership()`` fails here."""
    strays = db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN ('public', 'vigil_archive') AND c.relkind IN ('r', 'p', 'v', 'm')"
        " AND c.relowner <> %s::regrole"
        " UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' AND p.proowner <> %s::regrole",
        (OWNER, OWNER),
    ).fetchall()
    assert strays == []


def test_every_table_is_written_by_some_role(db: psycopg.Connection) -> None:
    """A new table without grants fails here (retention_policies: migrations and CLI)."""
    unwritten = [
        spec.name
        for spec in ALL_TABLES
        if not any(
            "I" in EXPECTED[role].get(spec.name, "") or "U" in EXPECTED[role].get(spec.name, "")
            for role in EXPECTED
        )
    ]
    assert unwritten == []


@pytest.mark.parametrize("role", WRITERS)
def test_writers_create_partitions_through_the_helper(db: psycopg.Connection, role: str) -> None:
    """Every partitioned table a role inserts into: the role creates the partition itself."""
    partitioned = {row[0] for row in db.execute("SELECT table_name FROM retention_policies")}
    tables = sorted(t for t, privs in EXPECTED[role].items() if "I" in privs and t in partitioned)
    assert "audit_log" in tables
    ts = datetime(2037, 3, 4, 5, tzinfo=UTC)
    _as(db, role)
    names = [
        db.execute("SELECT vigil_ensure_partition(%s, %s)", (table, ts)).fetchone()
        for table in tables
    ]
    db.execute(
        "INSERT INTO audit_log (ts, actor, action, entity_type) VALUES (%s, %s, 'test', 'system')",
        (ts, role),
    )
    db.execute("RESET ROLE")
    for (name,) in [n for n in names if n is not None]:
        owner = db.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", (name,)
        ).fetchone()
        assert owner == (OWNER,), name


def test_ingest_writes_its_tables_and_nothing_else(db: psycopg.Connection) -> None:
    ts = datetime(2037, 1, 2, 3, tzinfo=UTC)
    _as(db, "vigil_ingest")
    with pytest.raises(errors.CheckViolation):  # no partition yet: the writer makes it
        db.execute(
            "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
            " VALUES ('cam-1', 'motion', %s, 7)",
            (ts,),
        )
    db.execute("SELECT vigil_ensure_partition('camera_events', %s)", (ts,))
    db.execute(
        "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
        " VALUES ('cam-1', 'motion', %s, 7) ON CONFLICT DO NOTHING",
        (ts,),
    )
    # The COPY writer's slow path, with no SELECT on camera_events: stage, then insert.
    db.execute(
        "CREATE TEMP TABLE stage AS"
        " SELECT camera_id, event_type, ts, frame_number FROM camera_events WITH NO DATA"
    )
    db.execute("INSERT INTO stage VALUES ('cam-1', 'motion', %s, 7), ('cam-1', 'motion', %s, 8)",
               (ts, ts))  # fmt: skip
    inserted = db.execute(
        "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
        " SELECT * FROM stage ON CONFLICT DO NOTHING"
    ).rowcount
    assert inserted == 1
    db.execute("SELECT id, desired_state, health_interval_s FROM cameras")
    db.execute("SELECT table_name, retention_days FROM retention_policies")
    refused = [
        "SELECT credentials_encrypted FROM cameras",
        "SELECT count(*) FROM camera_events",
        "UPDATE camera_events SET motion_score = 1",
        "DELETE FROM camera_events",
        "INSERT INTO alerts (fingerprint, rule, severity, title) VALUES ('f', 'r', 'info', 't')",
        "INSERT INTO cameras (id, name) VALUES ('cam-x', 'x')",
        "SELECT vigil_drop_partition('camera_events_p20000101')",
        "CREATE TABLE camera_events_p20370105 PARTITION OF camera_events"
        " FOR VALUES FROM ('2037-01-05') TO ('2037-01-06')",
    ]
    for statement in refused:
        with pytest.raises(errors.InsufficientPrivilege):
            db.execute(statement)


@pytest.mark.parametrize("role", [*ALL_ROLES])
def test_nobody_changes_the_audit_log(db: psycopg.Connection, role: str) -> None:
    ts = datetime(2037, 2, 1, tzinfo=UTC)
    db.execute("SELECT vigil_ensure_partition('audit_log', %s)", (ts,))
    db.execute(
        "INSERT INTO audit_log (ts, actor, action, entity_type) VALUES (%s, 't', 'a', 'system')",
        (ts,),
    )
    _as(db, role)
    statements = ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"]
    if role != OWNER:  # the owner may TRUNCATE (no row trigger fires); it is the migrations'
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        # Others lack the privilege; for the owner the immutability trigger refuses the rows.
        with pytest.raises(errors.InsufficientPrivilege):
            db.execute(statement)


def test_readonly_reads_and_writes_nothing(db: psycopg.Connection) -> None:
    _as(db, READONLY)
    for relation in ALL_RELATIONS:
        if relation in ("users", "cameras"):
            continue
        db.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.Identifier(relation)))
    db.execute("SELECT id, name FROM cameras")
    for statement in (
        "INSERT INTO silences (matchers, ends_at, created_by) VALUES ('{}', now(), 'x')",
        "SELECT password_hash FROM users",
        "SELECT vigil_ensure_partition('camera_events', now())",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            db.execute(statement)


def test_retention_drops_and_archives_only_managed_partitions(db: psycopg.Connection) -> None:
    ts = datetime(2036, 6, 1, tzinfo=UTC)
    db.execute("SELECT vigil_ensure_partition('detections', %s)", (ts,))
    db.execute("SELECT vigil_ensure_partition('audit_log', %s)", (ts,))
    db.execute(
        "INSERT INTO audit_log (ts, actor, action, entity_type) VALUES (%s, 't', 'a', 'system')",
        (ts,),
    )
    _as(db, "vigil_retention")
    assert db.execute("SELECT vigil_drop_partition('cameras')").fetchone() == (False,)
    assert db.execute("SELECT vigil_drop_partition('detections_p20360601')").fetchone() == (True,)
    assert db.execute("SELECT vigil_archive_partition('audit_log_p203606')").fetchone() == (True,)
    with pytest.raises(errors.InsufficientPrivilege):
        db.execute("DROP TABLE camera_stats_hourly")
    db.execute("RESET ROLE")
    assert db.execute("SELECT to_regclass('detections_p20360601')").fetchone() == (None,)
    archived = db.execute("SELECT count(*) FROM vigil_archive.audit_log_p203606").fetchone()
    assert archived == (1,)


@pytest.mark.parametrize("role", [r for r in EXPECTED if r != "vigil_retention"])
def test_only_retention_drops_partitions(db: psycopg.Connection, role: str) -> None:
    _as(db, role)
    for function in ("vigil_drop_partition", "vigil_archive_partition"):
        with pytest.raises(errors.InsufficientPrivilege):
            db.execute(sql.SQL("SELECT {}('audit_log_p200001')").format(sql.Identifier(function)))


def test_service_roles_cover_every_service() -> None:
    assert set(SERVICE_ROLES.values()) <= set(EXPECTED)
