"""`vigil status` shows every stream's bound and, per group, lag and entries trimmed unread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from vigil_cli.main import cli
from vigil_schema.streams import ALL_STREAMS, EVENTS, FRAMES


@pytest.fixture
def env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }


def test_status_reports_lag_and_entries_trimmed_before_read(
    env: dict[str, str], tmp_path: Path
) -> None:
    """vigil:events with a group that read 2 of 10 entries, then 6 trimmed: length 4, lag 4
    (what is left to read), 4 trimmed before the group read them."""
    client = redis.Redis.from_url(env["VIGIL_REDIS_URL"])
    try:
        client.xgroup_create(EVENTS, "alerter", id="0", mkstream=True)
        for n in range(10):
            client.xadd(EVENTS, {"n": str(n)})
        client.xreadgroup("alerter", "a", {EVENTS: ">"}, count=2)
        client.xtrim(EVENTS, maxlen=4, approximate=False)
    finally:
        client.close()
    args = ["status", "--data-dir", str(tmp_path / "none"), "--json"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    streams = json.loads(result.output)["streams"]
    assert {row["stream"] for row in streams} == set(ALL_STREAMS)
    [events] = [row for row in streams if row["stream"] == EVENTS]
    assert events["group"] == "alerter"
    assert (events["length"], events["lag"], events["pending"]) == (4, 4, 2)
    assert events["trimmed_unread"] == 4
    assert events["bound"] == "2h, ~1,000,000"
    assert events["start"] == "$"
    table = CliRunner().invoke(cli, args[:-1], env=env)
    assert "trimmed unread" in table.output


def test_status_reads_a_stream_whose_entries_hold_jpeg_bytes(
    env: dict[str, str], tmp_path: Path
) -> None:
    """XINFO STREAM returns the first and last entries whole: a frame's JPEG bytes must not
    break the status (it reads them undecoded), nor hide the stream's figures."""
    client = redis.Redis.from_url(env["VIGIL_REDIS_URL"])
    try:
        for n in range(3):
            client.xadd(FRAMES, {"type": "frame", "jpeg": b"\xff\xd8\xff\xe0" + bytes([n])})
    finally:
        client.close()
    args = ["status", "--data-dir", str(tmp_path / "none"), "--json"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    [frames] = [row for row in json.loads(result.output)["streams"] if row["stream"] == FRAMES]
    assert "error" not in frames, frames
    assert frames["length"] == 3
