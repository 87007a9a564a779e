"""CameraRegistry: initial load, NOTIFY-driven refresh, removal callback, retention windows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from vigil_ingest.registry import CameraRegistry
from vigil_schema.enums import DesiredState


async def _until(predicate: Callable[[], bool], limit_s: float) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > limit_s:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_changes_arrive_through_notify(pg_pool: Any) -> None:
    await pg_pool.execute("INSERT INTO cameras (id, name, health_interval_s) VALUES ('a', 'A', 15)")
    removed: list[frozenset[str]] = []
    # A periodic refresh far in the future: only NOTIFY can explain a quick update.
    registry = CameraRegistry(pg_pool, refresh_s=3600, on_removed=removed.append)
    await registry.start()
    try:
        info = registry.get("a")
        assert info is not None
        assert (info.desired_state, info.health_interval_s) == (DesiredState.ACTIVE, 15)
        assert registry.get("b") is None
        await _until(lambda: registry.listening, limit_s=5)

        await pg_pool.execute("INSERT INTO cameras (id, name) VALUES ('b', 'B')")
        assert await _until(lambda: registry.get("b") is not None, limit_s=1.0) < 1.0

        await pg_pool.execute("UPDATE cameras SET desired_state = 'disabled' WHERE id = 'a'")
        await _until(lambda: getattr(registry.get("a"), "disabled", False), limit_s=1.0)

        await pg_pool.execute("DELETE FROM cameras WHERE id = 'b'")
        await _until(lambda: registry.get("b") is None, limit_s=1.0)
        assert removed == [frozenset({"b"})]
    finally:
        await registry.close()


async def test_listener_reconnects_after_its_connection_is_killed(pg_pool: Any) -> None:
    registry = CameraRegistry(pg_pool, refresh_s=3600)
    await registry.start()
    try:
        await _until(lambda: registry.listening, limit_s=5)
        await pg_pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database() "
            "AND query LIKE '%FROM retention_policies'"  # the listener's last statement
        )
        await _until(lambda: not registry.listening, limit_s=5)
        await pg_pool.execute("INSERT INTO cameras (id, name) VALUES ('late', 'L')")
        await _until(lambda: registry.get("late") is not None, limit_s=10)
    finally:
        await registry.close()


async def test_max_age_comes_from_retention_policies(pg_pool: Any) -> None:
    registry = CameraRegistry(pg_pool)
    await registry.start()
    try:
        assert registry.max_age("camera_events", timedelta(days=1)) == timedelta(days=30)
        assert registry.max_age("frame_metadata", timedelta(days=1)) == timedelta(days=7)
        assert registry.max_age("no_such_table", timedelta(days=1)) == timedelta(days=1)
    finally:
        await registry.close()
