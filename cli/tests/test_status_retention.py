"""`vigil status`: the Retention section (partitions ahead, oldest partition, size per table,
the last retention run, the rollups' lag), read as the CLI's role, also with nothing run yet."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from click.testing import CliRunner, Result
from psycopg import sql

from vigil_cli.main import cli
from vigil_cli.retention_activity import fetch_retention
from vigil_cli.retention_views import format_bytes, format_duration
from vigil_schema.roles import CLI

NOW = datetime(2030, 1, 3, 12, tzinfo=UTC)
DAYS = [datetime(2030, 1, day, 6, tzinfo=UTC) for day in range(1, 6)]
PARTITIONS_SQL = "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass"
RUN_SQL = """
INSERT INTO retention_runs (started_at, finished_at, instance, dry_run, status, actions, error)
VALUES (%s, %s, 'r-1', false, %s, %s::jsonb, %s)
"""


@pytest.fixture
def env(role_database_url: Callable[[str], str], redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "VIGIL_DATABASE_URL": role_database_url(CLI),
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }


def _status(env: dict[str, str], tmp_path: Path, *args: str) -> Result:
    no_stack = str(tmp_path / "no-stack")
    return CliRunner().invoke(cli, ["status", "--data-dir", no_stack, *args], env=env)


@pytest.fixture
def history(database_url: str) -> int:
    """ingest_rejects: day partitions 2030-01-01..05, the first detached, a row in the second;
    health_logs: no partitions; two runs, the newer succeeded with 3 actions; occupancy_hourly
    final through 10:00 on NOW's day. Returns the four attached partitions' total size."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in ("ingest_rejects", "health_logs"):
            for (partition,) in conn.execute(PARTITIONS_SQL, (table,)).fetchall():
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(partition)))
        for ts in DAYS:
            conn.execute("SELECT vigil_ensure_partition('ingest_rejects', %s)", (ts,))
        conn.execute("ALTER TABLE ingest_rejects DETACH PARTITION ingest_rejects_p20300101")
        conn.execute(
            "INSERT INTO ingest_rejects (received_at, topic, payload_size, reason, detail)"
            " VALUES (%s, 't', 2, 'validation_error', 'x')",
            (DAYS[1],),
        )
        day_ago, hour_ago = NOW - timedelta(days=1), NOW - timedelta(hours=1)
        conn.execute(RUN_SQL, (day_ago, day_ago, "failed", "[]", "boom"))
        three = json.dumps([{"kind": "a"}, {"kind": "b"}, {"kind": "c"}])
        conn.execute(RUN_SQL, (hour_ago, hour_ago + timedelta(minutes=1), "succeeded", three, None))
        conn.execute(
            "UPDATE rollup_state SET finalized_through = %s WHERE rollup_name = 'occupancy_hourly'",
            (NOW - timedelta(hours=2),),
        )
        size = conn.execute(
            "SELECT sum(pg_total_relation_size(('ingest_rejects_p' || d)::regclass))"
            " FROM unnest(ARRAY['20300102', '20300103', '20300104', '20300105']) d"
        ).fetchone()
    assert size is not None
    return int(size[0])


async def test_retention_at_a_fixed_clock(
    role_database_url: Callable[[str], str], history: int
) -> None:
    conn = await asyncpg.connect(role_database_url(CLI))
    try:
        report = await fetch_retention(conn, NOW, 5.0)
    finally:
        await conn.close()
    tables: dict[str, dict[str, Any]] = {t.pop("table"): t for t in report["tables"]}
    assert len(tables) == 13
    assert history > 0
    assert tables["ingest_rejects"] == {
        "granularity": "day", "retention_days": 30, "expire_action": "drop", "partitions": 4,
        "ahead": 2, "oldest_partition": "ingest_rejects_p20300102",
        "oldest_start": datetime(2030, 1, 2, tzinfo=UTC), "total_bytes": history}  # fmt: skip
    assert {k: tables["health_logs"][k] for k in
            ("partitions", "ahead", "oldest_partition", "oldest_start", "total_bytes")} == {
        "partitions": 0, "ahead": 0, "oldest_partition": None, "oldest_start": None,
        "total_bytes": 0}  # fmt: skip
    run = report["last_run"]
    assert (run["started_at"], run["status"], run["action_count"], run["error"]) == (
        NOW - timedelta(hours=1), "succeeded", 3, None)  # fmt: skip
    rollups = {r["rollup"]: r for r in report["rollups"]}
    assert rollups["occupancy_hourly"]["lag_s"] == 7200.0
    assert rollups["occupancy_hourly"]["finalized_through"] == NOW - timedelta(hours=2)
    assert rollups["camera_stats_hourly"]["lag_s"] is None


def test_status_shows_retention_as_text_and_json(
    env: dict[str, str], tmp_path: Path, history: int
) -> None:
    result = _status(env, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    retention = json.loads(result.stdout)["retention"]
    row = next(t for t in retention["tables"] if t["table"] == "ingest_rejects")
    assert (row["partitions"], row["oldest_partition"], row["total_bytes"]) == (
        4, "ingest_rejects_p20300102", history)  # fmt: skip
    assert row["ahead"] == 4  # the wall clock is before 2030
    assert retention["last_run"]["started_at"] == "2030-01-03T11:00:00+00:00"
    assert retention["last_run"]["action_count"] == 3

    text = _status(env, tmp_path)
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert "Retention (last run: 2030-01-03 11:00:00+00:00, succeeded, 3 actions)" in lines
    header = lines.index(next(line for line in lines if line.startswith("table ")))
    assert lines[header].split() == ["table", "granularity", "days", "action", "partitions",
                                     "ahead", "oldest", "oldest_start", "size"]  # fmt: skip
    shown = next(line.split() for line in lines if line.startswith("ingest_rejects "))
    assert shown[:7] == ["ingest_rejects", "day", "30", "drop", "4", "4",
                         "ingest_rejects_p20300102"]  # fmt: skip
    assert shown[7:] == ["2030-01-02", "00:00:00+00:00", *str(format_bytes(history)).split()]


def test_status_retention_before_any_run(env: dict[str, str], tmp_path: Path) -> None:
    result = _status(env, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    retention = json.loads(result.stdout)["retention"]
    assert retention["last_run"] is None
    assert [(r["rollup"], r["finalized_through"], r["lag_s"]) for r in retention["rollups"]] == [
        ("camera_stats_hourly", None, None), ("occupancy_hourly", None, None),
        ("system_metrics_rollup_1m", None, None)]  # fmt: skip
    metrics = next(t for t in retention["tables"] if t["table"] == "system_metrics")
    assert metrics["ahead"] >= 1  # the template made hourly partitions ahead
    text = _status(env, tmp_path)
    assert "Retention (last run: none yet)" in text.output.splitlines()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (1800, "30m"), (5400, "1h30m"), (7 * 86_400, "7d"), (-120, "-2m")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0 B"), (1023, "1023 B"), (8192, "8.0 KiB"), (3 * 2**29, "1.5 GiB")]
)
def test_format_bytes(size: int, text: str) -> None:
    assert format_bytes(size) == text
