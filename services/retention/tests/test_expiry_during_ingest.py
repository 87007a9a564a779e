"""Expiry while the ingest writes: camsim → Mosquitto → vigil-ingest (a real subprocess) →
today's camera_events partition, and meanwhile a retention run detaches (CONCURRENTLY),
exports and drops an expired camera_events partition.

Guarantee checked: the run completes while the stream is still flowing, the ingest stores
exactly the events camsim had acknowledged (no write blocked into failure, none lost), and
the expired partition is gone with its export on disk.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from vigil_retention.run import RetentionRunner
from vigil_retention.settings import RetentionSettings
from vigil_runtime.db import create_pool
from vigil_runtime.testing.services import ServiceLauncher
from vigil_tools.camsim.config import FleetConfig
from vigil_tools.camsim.fleet import Fleet

OLD_ROWS = 2000


class _FleetThread:
    """A camsim fleet on its own thread; ``result()`` is its summary."""

    def __init__(self, config: FleetConfig) -> None:
        self._fleet = Fleet(config)
        self._summary: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._summary = self._fleet.run_sync()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def result(self, timeout_s: float = 60.0) -> dict[str, Any]:
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "camsim did not finish"
        return self._summary


def _rows(database_url: str, camera_ids: list[str]) -> int:
    with psycopg.connect(database_url, autocommit=True) as db:
        found = db.execute(
            "SELECT count(*) FROM camera_events WHERE camera_id = ANY(%s)", (camera_ids,)
        ).fetchone()
    assert found is not None
    return int(found[0])


def _old_partition(database_url: str, at: datetime) -> str:
    with psycopg.connect(database_url, autocommit=True) as db:
        found = db.execute("SELECT vigil_ensure_partition('camera_events', %s)", (at,)).fetchone()
        assert found is not None
        db.execute(
            "INSERT INTO camera_events (camera_id, event_type, ts, frame_number)"
            " SELECT 'old-cam', 'motion', %s + i * interval '1 second', i"
            " FROM generate_series(0, %s - 1) AS i",
            (at, OLD_ROWS),
        )
    return str(found[0])


def _wait(probe: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_expiry_while_the_ingest_writes_today(
    run_service_process: ServiceLauncher,
    database_url: str,
    mqtt_url: str,
    retention_url: str,
    retention_settings: RetentionSettings,
) -> None:
    token = secrets.token_hex(4)
    now = datetime.now(UTC)
    old = _old_partition(database_url, now - timedelta(days=45))
    config = FleetConfig(
        url=mqtt_url, cameras=4, camera_prefix=f"ret-{token}-", client_id_prefix=f"cs-{token}",
        batch=5, fps=100.0, duration_s=8.0, health_interval_s=1.0, seed=5, drain_timeout_s=20.0,
    )  # fmt: skip
    cameras = list(config.camera_ids())
    with psycopg.connect(database_url, autocommit=True) as db, db.cursor() as cur:
        cur.executemany("INSERT INTO cameras (id, name) VALUES (%s, %s)", [(c, c) for c in cameras])
    env = {"VIGIL_MQTT_CLIENT_ID": f"ingest-{token}", "VIGIL_MQTT_SHARED_GROUP": f"t{token}",
           "VIGIL_SESSION_EXPIRY_S": "5"}  # fmt: skip
    with run_service_process("ingest", env=env):
        fleet = _FleetThread(config)
        _wait(lambda: _rows(database_url, cameras) > 50, "the first events stored")
        report = asyncio.run(_run_retention(retention_url, retention_settings, now))
        assert fleet.running, "the stream ended before the run: nothing tested"
        summary = fleet.result()
        assert summary["failed"] == 0, summary
        assert summary["events_acked"] == summary["events"], summary
        expected = int(summary["events"])
        _wait(lambda: _rows(database_url, cameras) >= expected, f"{expected} rows", 60.0)
    assert _rows(database_url, cameras) == expected
    assert report.errors == [], report.errors
    with psycopg.connect(database_url, autocommit=True) as db:
        gone = db.execute("SELECT to_regclass(%s) IS NULL", (f"public.{old}",)).fetchone()
    assert gone == (True,)
    manifest = retention_settings.archive_dir / "camera_events" / f"{old}.json"
    assert json.loads(manifest.read_text())["rows"] == OLD_ROWS


async def _run_retention(url: str, settings: RetentionSettings, now: datetime) -> Any:
    pool = await create_pool(url, application_name="retention-test")
    try:
        return await RetentionRunner(pool, settings).run(now)
    finally:
        await pool.close()
