"""`vigil migrate` against a real PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

import vigil_migrations
from vigil_cli.main import cli

HEAD = vigil_migrations.head()


@pytest.fixture
def run(tmp_path: Path):
    """Invoke `vigil` with only the given database in the environment."""

    def invoke(url: str, *args: str) -> Result:
        env = {
            "VIGIL_DATABASE_URL": url,
            "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
        }
        return CliRunner().invoke(cli, ["migrate", *args], env=env)

    return invoke


def _has_cameras_table(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('public.cameras') IS NOT NULL").fetchone()
    assert row is not None
    return bool(row[0])


def test_show_reports_head_on_migrated_database(run, database_url: str) -> None:
    result = run(database_url, "--show")
    assert result.exit_code == 0, result.output
    assert f"revision {HEAD}" in result.output


def test_show_changes_nothing_on_empty_database(run, empty_database_url: str) -> None:
    result = run(empty_database_url, "--show")
    assert result.exit_code == 0, result.output
    assert "none (not migrated)" in result.output
    assert not _has_cameras_table(empty_database_url)


def test_upgrade_then_downgrade(run, empty_database_url: str) -> None:
    up = run(empty_database_url)
    assert up.exit_code == 0, up.output
    assert f"revision {HEAD}" in up.output
    assert _has_cameras_table(empty_database_url)

    again = run(empty_database_url)
    assert again.exit_code == 0, again.output

    down = run(empty_database_url, "--downgrade", "base")
    assert down.exit_code == 0, down.output
    assert "none (not migrated)" in down.output
    assert not _has_cameras_table(empty_database_url)


def test_unknown_revision_is_a_clear_error(run, empty_database_url: str) -> None:
    result = run(empty_database_url, "--revision", "nonexistent")
    assert result.exit_code == 1
    assert "migration failed" in result.output
    assert "nonexistent" in result.output


def test_show_and_downgrade_are_exclusive(run, database_url: str) -> None:
    result = run(database_url, "--show", "--downgrade", "base")
    assert result.exit_code == 2
    assert "cannot be combined" in result.output


def test_unreachable_database_is_a_clear_error_without_password(run) -> None:
    url = "postgresql://vigil:topsecret@127.0.0.1:1/vigil"
    result = run(url, "--show")
    assert result.exit_code == 1
    assert "migration failed" in result.output
    assert "topsecret" not in result.output
