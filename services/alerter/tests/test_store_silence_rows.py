"""Reading silences: only those active at the clock's now, unreadable ones skipped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from vigil_alerter.clock import ManualClock
from vigil_alerter.store.silence_rows import active_silences


async def add(pool: Any, clock: ManualClock, start: float, end: float, value: str) -> str:
    uuid = await pool.fetchval(
        "INSERT INTO silences (matchers, starts_at, ends_at, created_by)"
        " VALUES ($1, $2, $3, 'test') RETURNING uuid",
        [{"name": "camera_id", "value": value, "isRegex": True, "isEqual": True}],
        clock() + timedelta(seconds=start),
        clock() + timedelta(seconds=end),
    )
    return str(uuid)


async def test_only_active_silences_are_read(alerter_pool: Any, clock: ManualClock) -> None:
    active = await add(alerter_pool, clock, -60, 60, "lot-.*")
    await add(alerter_pool, clock, 10, 60, "pending")
    await add(alerter_pool, clock, -60, 0, "expired")  # ends_at == now: expired
    await add(alerter_pool, clock, -60, 60, "(unclosed")

    async with alerter_pool.acquire() as conn:
        silences = await active_silences(conn, clock())

    assert [s.id for s in silences] == [active]
    [silence] = silences
    assert silence.mutes({"camera_id": "lot-1"}, clock())
    assert not silence.mutes({"camera_id": "xlot-1"}, clock())
