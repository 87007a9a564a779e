"""Cameras in maintenance, read by the alerter's own role from the real ``cameras`` table.

``cameras.desired_state = 'maintenance'`` is what means maintenance; the registry follows
changes (LISTEN/NOTIFY, and ``refresh``), and the rule evaluator fed by it ignores the
camera's detections while it is in maintenance and fires again once it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.rules import MaintenanceRegistry, RuleEvaluator

from .rules_support import NIGHT, Holder, detection, frame

PoolAs = Callable[[str], Awaitable[Any]]


async def _cameras(pool: Any, **states: str) -> None:
    for camera_id, state in states.items():
        await pool.execute(
            "INSERT INTO cameras (id, name, desired_state) VALUES ($1, $1, $2) "
            "ON CONFLICT (id) DO UPDATE SET desired_state = EXCLUDED.desired_state",
            camera_id, state,
        )  # fmt: skip


async def test_desired_state_maintenance_is_maintenance(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    await _cameras(pg_pool, **{"lot-1": "maintenance", "lot-2": "active", "lot-3": "disabled"})
    registry = MaintenanceRegistry(await pg_pool_as("vigil_alerter"))
    await registry.refresh()
    assert registry.camera_ids == {"lot-1"}
    assert registry.in_maintenance("lot-1")
    assert not registry.in_maintenance("lot-2")
    assert not registry.in_maintenance("unknown")
    await _cameras(pg_pool, **{"lot-1": "active", "lot-2": "maintenance"})
    await registry.refresh()
    assert registry.camera_ids == {"lot-2"}


async def test_a_change_notification_reloads_the_registry(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    await _cameras(pg_pool, **{"lot-1": "active"})
    registry = MaintenanceRegistry(await pg_pool_as("vigil_alerter"), refresh_s=3600)
    await registry.start()
    try:
        for _ in range(200):
            if registry.listening:
                break
            await asyncio.sleep(0.05)
        assert registry.listening
        await _cameras(pg_pool, **{"lot-1": "maintenance"})
        for _ in range(200):
            if registry.in_maintenance("lot-1"):
                break
            await asyncio.sleep(0.05)
        assert registry.in_maintenance("lot-1")
    finally:
        await registry.close()


async def test_rules_ignore_a_camera_while_it_is_in_maintenance(
    pg_pool: Any, pg_pool_as: PoolAs
) -> None:
    await _cameras(pg_pool, **{"lot-1": "maintenance"})
    registry = MaintenanceRegistry(await pg_pool_as("vigil_alerter"))
    await registry.refresh()
    received: list[IncomingAlert] = []

    async def sink(alerts: Sequence[IncomingAlert]) -> None:
        received.extend(alerts)

    rules = RuleEvaluator(Holder.from_yaml(), registry, sink, ManualClock(NIGHT))
    message = frame("lot-1", NIGHT, detection("person", 0.9, ["door"]))
    assert rules.record(message, NIGHT) == 0
    await _cameras(pg_pool, **{"lot-1": "active"})
    await registry.refresh()
    assert rules.record(message, NIGHT) == 1
    await rules.tick()
    assert [alert.labels["camera_id"] for alert in received] == ["lot-1"]
