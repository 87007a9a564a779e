"""`vigil status` against the test stack: cameras from PostgreSQL, services from heartbeats."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import redis
from click.testing import CliRunner, Result

from vigil_cli.main import cli
from vigil_schema.roles import CLI, SERVICE_ROLES


@pytest.fixture
def env(role_database_url: Callable[[str], str], redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "VIGIL_DATABASE_URL": role_database_url(CLI),  # the CLI's own role
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }


def _status(env: dict[str, str], tmp_path: Path, *args: str) -> Result:
    no_stack = str(tmp_path / "no-stack")
    return CliRunner().invoke(cli, ["status", "--data-dir", no_stack, *args], env=env)


@pytest.fixture
def ingest(
    env: dict[str, str], stack_env: dict[str, str], tmp_path: Path,
    role_database_url: Callable[[str], str],
) -> Iterator[int]:  # fmt: skip
    """A running `vigil-ingest` skeleton; yields its HTTP port once it heartbeats."""
    proc_env = {**os.environ, **stack_env, **env, "VIGIL_HTTP_PORT": "0",
                "VIGIL_DATABASE_URL": role_database_url(SERVICE_ROLES["ingest"]),
                "VIGIL_HTTP_HOST": "127.0.0.1", "VIGIL_HEARTBEAT_INTERVAL_S": "0.5"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil_ingest.main"], env=proc_env, cwd=tmp_path,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis.from_url(env["VIGIL_REDIS_URL"], decode_responses=True)
    try:
        yield _wait_ready_heartbeat(client)
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def _wait_ready_heartbeat(client: redis.Redis) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for key in client.scan_iter(match="vigil:service:ingest:*"):
            beat = client.hgetall(key)
            if beat.get("status") == "running":
                return int(beat["http_port"])
        time.sleep(0.1)
    raise AssertionError("vigil-ingest did not heartbeat as running")


def test_status_json_shows_cameras_and_a_heartbeating_service(
    env: dict[str, str], tmp_path: Path, ingest: int
) -> None:
    with psycopg.connect(env["VIGIL_DATABASE_URL"]) as conn:
        conn.execute("INSERT INTO cameras (id, name) VALUES ('cam-a', 'Front door')")
        conn.execute(
            "INSERT INTO cameras (id, name, desired_state) VALUES ('cam-b', 'Yard', 'disabled')"
        )
    client = redis.Redis.from_url(env["VIGIL_REDIS_URL"])
    analysed_at = datetime.now(UTC).isoformat()
    client.hset("vigil:camera:cam-a:state", mapping={
        "status": "online", "last_seen": "T1", "analyzer_fps": "4.8", "analyzer_objects": "3",
        "analyzer_occupancy": '{"lot":2}', "analyzer_at": analysed_at,
    })  # fmt: skip
    client.close()

    result = _status(env, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["postgres"]["ok"]
    assert report["redis"]["ok"]
    assert report["stack"] is None
    quiet = {"events_1m": 0, "events_per_s": 0.0, "rejects_1m": 0}
    analyzer = report["cameras"][0].pop("analyzer")
    assert analyzer.pop("age_s") < 60
    assert analyzer == {"fps": 4.8, "objects": 3, "occupancy": {"lot": 2}}
    assert report["cameras"] == [
        {"id": "cam-a", "name": "Front door", "desired_state": "active", **quiet,
         "status": "online", "last_seen": "T1", "last_seen_age_s": None},
        {"id": "cam-b", "name": "Yard", "desired_state": "disabled", **quiet,
         "status": None, "last_seen": None, "last_seen_age_s": None, "analyzer": None},
    ]  # fmt: skip
    assert report["fleet"] == {"cameras": 2, "online": 1, "offline": 0, "events_1m": 0,
                               "events_per_s": 0.0, "rejects_1m": 0, "window_s": 60}  # fmt: skip
    (service,) = report["services"]
    assert service["service"] == "ingest"
    assert service["http_port"] == str(ingest)
    assert (service["state"], service["live"], service["ready"]) == ("running", True, True)


def test_status_table_is_aligned_text(env: dict[str, str], tmp_path: Path, ingest: int) -> None:
    result = _status(env, tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("service ")))
    row = lines[header + 1].split()
    assert row[0] == "ingest"
    assert row[2] == str(ingest)
    assert row[3:6] == ["running", "yes", "yes"]
    assert "Cameras (0)" in result.output


def test_status_shows_what_is_unreachable_and_fails_when_nothing_is(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    env = {
        "VIGIL_DATABASE_URL": f"postgresql://vigil:hunter2@127.0.0.1:{unused_tcp_port}/vigil",
        "VIGIL_REDIS_URL": f"redis://127.0.0.1:{unused_tcp_port}/0",
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }
    result = _status(env, tmp_path, "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert not report["postgres"]["ok"]
    assert not report["redis"]["ok"]
    assert "hunter2" not in result.output
    assert report["postgres"]["url"].startswith("postgresql://vigil:***@")
