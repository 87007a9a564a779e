"""`vigil retention show|set|set-rollup` as the CLI's own role: the seeded policies and rollups
are listed, changes are validated before the database's CHECKs (the floor is named), written
with one audit row each, and a CHECK violation that still happens is worded the same way."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psycopg
import pytest
from click.testing import CliRunner, Result

from vigil_cli.main import cli
from vigil_cli.retention_store import RetentionError, apply_update
from vigil_schema.roles import CLI

Invoke = Callable[..., Result]
SEEDED_EVENTS: dict[str, Any] = {
    "granularity": "day", "retention_days": 30, "premake": 7, "expire_action": "archive_file",
    "archive_keep_days": 90, "min_retention_days": 0,
}  # fmt: skip


@pytest.fixture
def vigil(role_database_url: Callable[[str], str], tmp_path: Path) -> Invoke:
    env = {"VIGIL_DATABASE_URL": role_database_url(CLI),
           "VIGIL_ENV_FILE": str(tmp_path / "absent.env")}  # fmt: skip

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke


def policy(database_url: str, table: str) -> tuple[Any, ...]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT retention_days, premake, expire_action, archive_keep_days, granularity"
            " FROM retention_policies WHERE table_name = %s",
            (table,),
        ).fetchone()
    assert row is not None
    return tuple(row)


def audit(database_url: str) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT action, entity_type, entity_id, service, details FROM audit_log"
            " WHERE action LIKE 'retention.%' ORDER BY ts, id"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def test_show_lists_the_seeded_policies_and_rollups(vigil: Invoke) -> None:
    shown = vigil("retention", "show", "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    policies = {p["table_name"]: p for p in data["policies"]}
    assert len(policies) == 13
    events = policies["camera_events"]
    assert {k: events[k] for k in SEEDED_EVENTS} == SEEDED_EVENTS
    audit_log = policies["audit_log"]
    assert (audit_log["min_retention_days"], audit_log["expire_action"]) == (365, "archive_schema")
    rollups = {r["rollup_name"]: r for r in data["rollups"]}
    assert sorted(rollups) == ["camera_stats_hourly", "occupancy_hourly",
                               "system_metrics_rollup_1m"]  # fmt: skip
    hourly = rollups["occupancy_hourly"]
    assert (hourly["source_tables"], hourly["bucket_width_s"], hourly["lateness_s"],
            hourly["keep_days"], hourly["finalized_through"]) == (
        ["occupancy_events"], 3600.0, 1800.0, 730, None)  # fmt: skip

    table = vigil("retention", "show")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == "Retention policies (13)"
    assert lines[1].split() == ["table", "granularity", "days", "min_days", "premake", "action",
                                "archive_keep_days"]  # fmt: skip
    audit_row = next(line.split() for line in lines if line.startswith("audit_log "))
    assert audit_row == ["audit_log", "month", "365", "365", "3", "archive_schema", "-"]
    rollup_row = next(line.split() for line in lines if line.startswith("occupancy_hourly "))
    assert rollup_row[:5] == ["occupancy_hourly", "occupancy_events", "1h", "30m", "730"]


def test_set_changes_a_policy_with_an_audit_row(database_url: str, vigil: Invoke) -> None:
    result = vigil("retention", "set", "camera_events", "--days", "14", "--premake", "3",
                   "--archive-keep-days", "60")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "table camera_events:",
        "  retention_days: 30 -> 14",
        "  premake: 7 -> 3",
        "  archive_keep_days: 90 -> 60",
    ]
    assert policy(database_url, "camera_events") == (14, 3, "archive_file", 60, "day")
    ((action, entity, entity_id, service, details),) = audit(database_url)
    assert (action, entity, entity_id, service) == (
        "retention.policy_updated", "retention_policy", "camera_events", "vigil-cli")  # fmt: skip
    assert details == {"changes": {
        "retention_days": {"from": 30, "to": 14}, "premake": {"from": 7, "to": 3},
        "archive_keep_days": {"from": 90, "to": 60}}}  # fmt: skip

    dropped = vigil("retention", "set", "camera_events", "--action", "drop",
                    "--archive-keep-days", "none")  # fmt: skip
    assert dropped.exit_code == 0, dropped.output
    assert policy(database_url, "camera_events") == (14, 3, "drop", None, "day")

    same = vigil("retention", "set", "camera_events", "--days", "14")
    assert (same.exit_code, same.output.strip()) == (0, "table camera_events: unchanged")
    assert len(audit(database_url)) == 2


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["audit_log", "--days", "100"],
         "audit_log: 100 days is under its minimum retention of 365 days (min_retention_days)"),
        (["camera_events", "--archive-keep-days", "10"],
         "archive_keep_days 10 is under retention_days 30"),
        (["camera_events", "--days", "120"], "archive_keep_days 90 is under retention_days 120"),
        (["camera_events", "--action", "drop"], "add --archive-keep-days none"),
        (["frame_metadata", "--archive-keep-days", "30"], "expire action 'drop' makes no archives"),
        (["no_such_table", "--days", "3"], "unknown table 'no_such_table'; known: audit_log,"),
    ],
)  # fmt: skip
def test_set_refuses_with_a_clear_message(
    database_url: str, vigil: Invoke, args: list[str], error: str
) -> None:
    before = policy(database_url, "audit_log"), policy(database_url, "camera_events")
    result = vigil("retention", "set", *args)
    assert result.exit_code == 1, result.output
    assert error in result.output
    assert (policy(database_url, "audit_log"), policy(database_url, "camera_events")) == before
    assert audit(database_url) == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["audit_log"], "nothing to change"),
        (["audit_log", "--days", "0"], "--days"),
        (["audit_log", "--premake", "-1"], "--premake"),
        (["audit_log", "--action", "delete"], "--action"),
        (["audit_log", "--archive-keep-days", "soon"], "neither a number of days"),
        (["camera_events", "--granularity", "hour"], "partitions of another size would overlap"),
    ],
)
def test_set_usage_errors(database_url: str, vigil: Invoke, args: list[str], error: str) -> None:
    result = vigil("retention", "set", *args)
    assert result.exit_code == 2, result.output
    assert error in result.output
    assert policy(database_url, "camera_events")[4] == "day"


def test_set_help_explains_why_granularity_is_fixed(vigil: Invoke) -> None:
    shown = vigil("retention", "set", "--help")
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert "Granularity: the granularity of a table cannot be changed" in text
    assert "would overlap them" in text
    assert "--granularity" not in text


def test_set_rollup(database_url: str, vigil: Invoke) -> None:
    result = vigil("retention", "set-rollup", "occupancy_hourly", "--keep-days", "365",
                   "--lateness", "1h")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "rollup occupancy_hourly:", "  lateness: 30m -> 1h", "  keep_days: 730 -> 365"]  # fmt: skip
    forever = vigil("retention", "set-rollup", "occupancy_hourly", "--keep-days", "none")
    assert forever.exit_code == 0, forever.output
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT keep_days, lateness FROM rollup_state"
                           " WHERE rollup_name = 'occupancy_hourly'").fetchone()  # fmt: skip
    assert row == (None, timedelta(hours=1))
    assert [(a, e, i, d) for a, e, i, _, d in audit(database_url)] == [
        ("retention.rollup_updated", "rollup", "occupancy_hourly",
         {"changes": {"lateness": {"from": 1800.0, "to": 3600.0},
                      "keep_days": {"from": 730, "to": 365}}}),
        ("retention.rollup_updated", "rollup", "occupancy_hourly",
         {"changes": {"keep_days": {"from": 365, "to": None}}}),
    ]  # fmt: skip

    unknown = vigil("retention", "set-rollup", "daily_magic", "--keep-days", "3")
    assert (unknown.exit_code, "unknown rollup 'daily_magic'" in unknown.output) == (1, True)
    bad = vigil("retention", "set-rollup", "occupancy_hourly", "--lateness", "soon")
    assert (bad.exit_code, "not a duration" in bad.output) == (2, True)
    zero = vigil("retention", "set-rollup", "occupancy_hourly", "--keep-days", "0")
    assert zero.exit_code == 2
    assert len(audit(database_url)) == 2


async def test_a_check_violation_is_worded_like_the_validation(
    role_database_url: Callable[[str], str],
) -> None:
    """Past the validation (a concurrent change), the database's CHECK names the floor too."""
    conn = await asyncpg.connect(role_database_url(CLI))
    try:
        current = {"retention_days": 365, "min_retention_days": 365}
        with pytest.raises(RetentionError) as raised:
            await apply_update(conn, "retention_policies", "table_name", "audit_log",
                               {"retention_days": (365, 100)}, current)  # fmt: skip
        assert str(raised.value) == (
            "audit_log: 100 days is under its minimum retention of 365 days "
            "(min_retention_days); use --days 365 or more"
        )
        with pytest.raises(RetentionError, match="keep_days must be at least 1"):
            await apply_update(conn, "rollup_state", "rollup_name", "occupancy_hourly",
                               {"keep_days": (730, 0)}, {"keep_days": 730})  # fmt: skip
        days = await conn.fetchval(
            "SELECT retention_days FROM retention_policies WHERE table_name = 'audit_log'"
        )
        assert days == 365
    finally:
        await conn.close()
