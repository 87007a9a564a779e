"""`vigil rejects list|replay` against a real, migrated PostgreSQL database.

The replay's way through MQTT and the ingest is tested end to end in
services/ingest/tests/test_ingest_faults_e2e.py; here: filters, what cannot be replayed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from vigil_cli.commands.rejects import parse_since
from vigil_cli.main import cli
from vigil_schema.roles import CLI

NOW = datetime.now(UTC)


@pytest.fixture
def vigil(role_database_url: Callable[[str], str], tmp_path: Path):
    env = {"VIGIL_DATABASE_URL": role_database_url(CLI),  # the CLI's own role
           "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
           "VIGIL_MQTT_URL": "mqtt://127.0.0.1:1"}  # fmt: skip  # nothing listens: no publish

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def add_reject(database_url: str, *, camera: str, reason: str, age: timedelta,
               payload: bytes = b"[]", size: int | None = None,
               topic: str | None = None) -> None:  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT vigil_ensure_partition('ingest_rejects', %s)", (NOW - age,))
        conn.execute(
            "INSERT INTO ingest_rejects (received_at, topic, camera_id, payload, payload_size,"
            " reason, detail) VALUES (%s, %s, %s, %s, %s, %s, 'test')",
            (NOW - age, topic or f"vigil/cameras/{camera}/events", camera, payload,
             len(payload) if size is None else size, reason),
        )  # fmt: skip


def test_parse_since_takes_durations_and_iso_times() -> None:
    now = datetime(2026, 1, 2, 12, tzinfo=UTC)
    assert parse_since("30m", now) == now - timedelta(minutes=30)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-01-01T00:00:00", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_since(None, now) is None


def test_list_filters_by_reason_time_and_camera(vigil, database_url: str) -> None:
    add_reject(database_url, camera="a", reason="unknown_camera", age=timedelta(minutes=5))
    add_reject(database_url, camera="b", reason="unknown_camera", age=timedelta(hours=3))
    add_reject(database_url, camera="a", reason="invalid_json", age=timedelta(minutes=1))
    result = vigil("rejects", "list", "--json", "--reason", "unknown_camera", "--since", "1h")
    assert result.exit_code == 0, result.output
    assert [row["camera_id"] for row in json.loads(result.output)] == ["a"]
    result = vigil("rejects", "list", "--json", "--camera", "a")
    assert [row["reason"] for row in json.loads(result.output)] == ["unknown_camera",
                                                                    "invalid_json"]  # fmt: skip
    table = vigil("rejects", "list")
    assert table.exit_code == 0, table.output
    assert "unknown_camera" in table.output
    assert "invalid_json" in table.output


def test_replay_skips_and_keeps_rows_it_cannot_replay(vigil, database_url: str) -> None:
    add_reject(database_url, camera="a", reason="payload_too_large", age=timedelta(minutes=1),
               payload=b"x" * 10, size=70_000)  # fmt: skip
    add_reject(database_url, camera="a", reason="dead_letter", age=timedelta(minutes=1),
               topic="vigil:events")  # fmt: skip
    result = vigil("rejects", "replay")
    assert result.exit_code == 0, result.output
    assert "replayed 0 of 2" in result.output
    assert "payload truncated (10 of 70000 bytes kept)" in result.output
    assert "not an MQTT message" in result.output
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM ingest_rejects").fetchone() == (2,)


def test_replay_fails_clearly_and_removes_nothing_when_the_broker_is_away(
    vigil, database_url: str
) -> None:
    add_reject(database_url, camera="a", reason="unknown_camera", age=timedelta(minutes=1))
    result = vigil("rejects", "replay", "--reason", "unknown_camera")
    assert result.exit_code != 0
    assert "cannot connect to the MQTT broker" in result.output
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM ingest_rejects").fetchone() == (1,)
        audit = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'rejects.replay'")
        assert audit.fetchone() == (0,)
