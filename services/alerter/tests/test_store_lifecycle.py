"""The alert lifecycle as ``vigil_alerter``: allowed moves, the fields each sets, the audit
row, the time-to-acknowledge metric, closed states being final, and two racing operators."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from vigil_alerter.clock import ManualClock
from vigil_alerter.store.lifecycle import (
    AlertNotFoundError,
    InvalidTransitionError,
    transition_alert,
)
from vigil_schema.enums import AlertStatus

PoolAs = Callable[[str], Awaitable[Any]]
S = AlertStatus


async def _alert(pool: Any, clock: ManualClock, severity: str = "warning") -> int:
    alert_id: int = await pool.fetchval(
        "INSERT INTO alerts (fingerprint, rule, severity, title, first_seen_at, last_seen_at)"
        " VALUES (md5(random()::text), 'r', $1, 't', $2, $2) RETURNING id",
        severity, clock(),
    )  # fmt: skip
    return alert_id


def _acks(severity: str) -> float:
    value = REGISTRY.get_sample_value(
        "vigil_alerter_time_to_acknowledge_seconds_count", {"severity": severity}
    )
    return value or 0.0


async def _audit(pool: Any, alert_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await pool.fetch(
        "SELECT action, actor, details FROM audit_log WHERE entity_type = 'alert'"
        " AND entity_id = $1 ORDER BY ts, id",
        str(alert_id),
    )
    return [(r["action"], r["actor"], r["details"]) for r in rows]


async def test_acknowledge_then_investigate_then_resolve(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    alert_id = await _alert(pg_pool, clock, "critical")
    before = _acks("critical")
    clock.advance(90)
    async with alerter.acquire() as conn:
        acked = await transition_alert(conn, alert_id, S.ACKNOWLEDGED, "ann", None, clock())
        assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "ann")
        assert acked["acknowledged_at"] == clock()
        assert _acks("critical") == before + 1
        clock.advance(60)
        busy = await transition_alert(conn, alert_id, S.INVESTIGATING, "bob", "looking", clock())
        assert (busy["acknowledged_by"], busy["resolved_at"]) == ("ann", None)
        clock.advance(60)
        done = await transition_alert(conn, alert_id, S.RESOLVED, "bob", "fixed cable", clock())
    assert (done["status"], done["resolved_by"], done["resolution_notes"]) == (
        "resolved", "bob", "fixed cable")  # fmt: skip
    assert done["resolved_at"] == clock()
    assert _acks("critical") == before + 1  # acknowledged once
    assert await _audit(pg_pool, alert_id) == [
        ("alert.acknowledged", "ann", {"from": "new", "to": "acknowledged", "notes": None}),
        ("alert.investigating", "bob",
         {"from": "acknowledged", "to": "investigating", "notes": "looking"}),
        ("alert.resolved", "bob",
         {"from": "investigating", "to": "resolved", "notes": "fixed cable"}),
    ]  # fmt: skip


@pytest.mark.parametrize("closed", [S.RESOLVED, S.FALSE_POSITIVE, S.DISMISSED])
async def test_a_closed_alert_is_final(pg_pool: Any, pg_pool_as: PoolAs, closed: S) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    alert_id = await _alert(pg_pool, clock)
    before = _acks("warning")
    async with alerter.acquire() as conn:
        row = await transition_alert(conn, alert_id, closed, "ann", "noise", clock())
        assert row["acknowledged_by"] is None  # closing is not acknowledging
        assert _acks("warning") == before
        for target in S:
            with pytest.raises(InvalidTransitionError, match=r"closed state|already"):
                await transition_alert(conn, alert_id, target, "bob", None, clock())
    assert [a for a, _, _ in await _audit(pg_pool, alert_id)] == [f"alert.{closed.value}"]
    assert await pg_pool.fetchval("SELECT status FROM alerts WHERE id = $1", alert_id) == closed


async def test_moves_the_lifecycle_does_not_allow(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    alert_id = await _alert(pg_pool, clock)
    async with alerter.acquire() as conn:
        with pytest.raises(InvalidTransitionError, match="already new"):
            await transition_alert(conn, alert_id, S.NEW, "ann", None, clock())
        await transition_alert(conn, alert_id, S.INVESTIGATING, "ann", None, clock())
        with pytest.raises(InvalidTransitionError, match="allowed: dismissed, false_pos"):
            await transition_alert(conn, alert_id, S.ACKNOWLEDGED, "ann", None, clock())
        with pytest.raises(AlertNotFoundError, match="no alert 999999"):
            await transition_alert(conn, 999_999, S.ACKNOWLEDGED, "ann", None, clock())
    row = await pg_pool.fetchrow("SELECT * FROM alerts WHERE id = $1", alert_id)
    assert (row["status"], row["acknowledged_by"]) == ("investigating", "ann")


async def test_a_failed_move_inside_a_transaction_leaves_it_usable(
    pg_pool: Any, pg_pool_as: PoolAs
) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    first, second = await _alert(pg_pool, clock), await _alert(pg_pool, clock)
    async with alerter.acquire() as conn, conn.transaction():
        await transition_alert(conn, first, S.DISMISSED, "ann", None, clock())
        with pytest.raises(InvalidTransitionError):
            await transition_alert(conn, first, S.RESOLVED, "ann", None, clock())
        await transition_alert(conn, second, S.ACKNOWLEDGED, "ann", None, clock())
    statuses = await pg_pool.fetch("SELECT status FROM alerts ORDER BY id")
    assert [r["status"] for r in statuses] == ["dismissed", "acknowledged"]


async def test_two_operators_acknowledging_at_once_one_wins(
    pg_pool: Any, pg_pool_as: PoolAs
) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    alert_id = await _alert(pg_pool, clock)

    async def ack(actor: str) -> str:
        async with alerter.acquire() as conn:
            try:
                await transition_alert(conn, alert_id, S.ACKNOWLEDGED, actor, None, clock())
            except InvalidTransitionError:
                return "refused"
            return "done"

    outcomes = await asyncio.gather(ack("ann"), ack("bob"))
    assert sorted(outcomes) == ["done", "refused"]
    assert len(await _audit(pg_pool, alert_id)) == 1
