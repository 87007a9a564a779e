"""`vigil ask`: an operator's question queued in Redis for a registered camera, audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import redis
from click.testing import CliRunner, Result

from vigil_cli.main import cli
from vigil_schema.roles import CLI
from vigil_schema.streams import CLAUDE_QUESTIONS_KEY


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def test_a_question_is_queued_for_the_camera_and_audited(
    database_url: str, role_database_url: Callable[[str], str], redis_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO cameras (id, name) VALUES ('cam-q', 'Loading bay')")
    env = {"VIGIL_DATABASE_URL": role_database_url(CLI), "VIGIL_REDIS_URL": redis_url,
           "VIGIL_ENV_FILE": str(tmp_path / "absent.env")}  # fmt: skip
    client = redis.Redis.from_url(redis_url)

    result = invoke(env, "ask", "cam-q", "  Is the bay door open?  ")
    assert result.exit_code == 0, result.output
    assert client.hget(CLAUDE_QUESTIONS_KEY, "cam-q") == b"Is the bay door open?"
    with psycopg.connect(database_url) as conn:
        (details,) = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'claude.ask' AND entity_id = 'cam-q'"
        ).fetchone() or (None,)
    assert details == {"question": "Is the bay door open?"}

    unknown = invoke(env, "ask", "cam-nope", "Anyone there?")
    assert unknown.exit_code == 1
    assert "no camera 'cam-nope'" in unknown.output
    empty = invoke(env, "ask", "cam-q", "   ")
    assert empty.exit_code == 2
    assert client.hkeys(CLAUDE_QUESTIONS_KEY) == [b"cam-q"]
