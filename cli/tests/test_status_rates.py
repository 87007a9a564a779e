"""`vigil status`: per-camera event and reject rates, last-seen ages and the fleet total."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from click.testing import CliRunner, Result

from vigil_cli.camera_activity import age_seconds, format_age
from vigil_cli.main import cli

EVENT_SQL = """
INSERT INTO camera_events (camera_id, event_type, ts, frame_number)
VALUES (%s, 'motion', now() - make_interval(secs => %s), %s)
"""
REJECT_SQL = """
INSERT INTO ingest_rejects (received_at, topic, camera_id, payload_size, reason, detail)
VALUES (now() - make_interval(secs => %s), %s, %s, 2, %s, 'test')
"""


@pytest.fixture
def env(database_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
    }


@pytest.fixture
def activity(env: dict[str, str]) -> None:
    """Two cameras: cam-a busy (3 recent events, 1 old; 2 recent rejects, 1 old), cam-b idle,
    one recent reject that names no camera, and cam-a's live state seen 5 s ago."""
    with psycopg.connect(env["VIGIL_DATABASE_URL"]) as conn:
        conn.execute("INSERT INTO cameras (id, name) VALUES ('cam-a', 'Front door'), "
                     "('cam-b', 'Yard')")  # fmt: skip
        for frame, age_s in enumerate((5, 10, 20, 120)):
            conn.execute(EVENT_SQL, ("cam-a", age_s, frame))
        for age_s, camera in ((1, "cam-a"), (30, "cam-a"), (300, "cam-a"), (2, None)):
            reason = "validation_error" if camera else "unsupported_topic"
            conn.execute(REJECT_SQL, (age_s, "vigil/cameras/x/events", camera, reason))
    seen = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    client = redis.Redis.from_url(env["VIGIL_REDIS_URL"])
    client.hset("vigil:camera:cam-a:state", mapping={"status": "online", "last_seen": seen})
    client.hset("vigil:camera:cam-b:state", mapping={"status": "offline"})
    client.close()


def _status(env: dict[str, str], tmp_path: Path, *args: str) -> Result:
    no_stack = str(tmp_path / "no-stack")
    return CliRunner().invoke(cli, ["status", "--data-dir", no_stack, *args], env=env)


@pytest.mark.usefixtures("activity")
def test_json_has_rates_last_seen_and_fleet_totals(env: dict[str, str], tmp_path: Path) -> None:
    result = _status(env, tmp_path, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    cam_a, cam_b = report["cameras"]
    assert (cam_a["id"], cam_a["status"]) == ("cam-a", "online")
    assert (cam_a["events_1m"], cam_a["events_per_s"], cam_a["rejects_1m"]) == (3, 0.05, 2)
    assert 4.0 <= cam_a["last_seen_age_s"] < 60.0
    assert (cam_b["events_1m"], cam_b["rejects_1m"], cam_b["status"]) == (0, 0, "offline")
    assert (cam_b["last_seen"], cam_b["last_seen_age_s"]) == (None, None)
    assert report["fleet"] == {"cameras": 2, "online": 1, "offline": 1, "events_1m": 3,
                               "events_per_s": 0.05, "rejects_1m": 3, "window_s": 60}  # fmt: skip


@pytest.mark.usefixtures("activity")
def test_table_shows_rate_and_age_columns_aligned(env: dict[str, str], tmp_path: Path) -> None:
    result = _status(env, tmp_path)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("id "))
    header, cam_a, cam_b, fleet = lines[header_at : header_at + 4]
    assert header.split() == ["id", "name", "desired_state", "status", "last_seen",
                              "events/min", "events/s", "rejects/min", "analyzed/s", "objects",
                              "occupancy"]  # fmt: skip
    # no analyzer state for these cameras: its columns show "-"
    assert re.fullmatch(r"cam-a +Front door +active +online +\d+s ago +3 +0\.05 +2 +- +- +-", cam_a)
    assert re.fullmatch(r"cam-b +Yard +active +offline +- +0 +0\.0 +0 +- +- +-", cam_b)
    for column in ("status", "last_seen", "events/min", "rejects/min"):  # aligned columns
        start = header.index(column)
        assert (cam_a[start - 1], cam_b[start - 1]) == (" ", " ")
        assert " " not in (cam_a[start], cam_b[start])
    assert fleet == "fleet: 2 cameras, 1 online, 1 offline, 3 events/min (0.05/s), 3 rejects/min"


def test_age_parsing_and_formatting() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert age_seconds("2024-05-01T11:59:58+00:00", now) == 2.0
    assert age_seconds("2024-05-01T11:59:58", now) == 2.0  # naive: taken as UTC
    assert age_seconds("2024-05-01T12:00:09+00:00", now) == 0.0  # clock ahead: not negative
    assert age_seconds("yesterday", now) is None
    assert age_seconds(None, now) is None
    assert [format_age(s) for s in (0.4, 59.9, 60, 3599, 3600, 86_400 * 3 + 5, None)] == [
        "0s ago", "59s ago", "1m ago", "59m ago", "1h ago", "3d ago", None,
    ]  # fmt: skip
