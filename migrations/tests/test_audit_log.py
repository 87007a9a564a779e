"""audit_log is append-only: INSERT works, UPDATE and DELETE raise (even for a superuser)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors


def _insert_entry(db: psycopg.Connection) -> int:
    row = db.execute(
        "INSERT INTO audit_log (actor, action, entity_type, entity_id, details)"
        " VALUES ('cli:alice', 'camera.created', 'camera', 'cam-1', '{\"name\": \"Lobby\"}')"
        " RETURNING id"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_insert_is_allowed(db: psycopg.Connection) -> None:
    entry_id = _insert_entry(db)
    row = db.execute(
        "SELECT actor, action_status, severity, details->>'name' FROM audit_log WHERE id = %s",
        (entry_id,),
    ).fetchone()
    assert row == ("cli:alice", "success", "info", "Lobby")


def test_update_raises(db: psycopg.Connection) -> None:
    entry_id = _insert_entry(db)
    with pytest.raises(errors.InsufficientPrivilege, match="immutable"):
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = %s", (entry_id,))
    row = db.execute("SELECT actor FROM audit_log WHERE id = %s", (entry_id,)).fetchone()
    assert row == ("cli:alice",)


def test_delete_raises(db: psycopg.Connection) -> None:
    entry_id = _insert_entry(db)
    with pytest.raises(errors.InsufficientPrivilege, match="immutable"):
        db.execute("DELETE FROM audit_log WHERE id = %s", (entry_id,))
    row = db.execute("SELECT count(*) FROM audit_log WHERE id = %s", (entry_id,)).fetchone()
    assert row == (1,)
