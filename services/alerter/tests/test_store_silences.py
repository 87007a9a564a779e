"""Silences as ``vigil_alerter``, with Alertmanager's rules: validation, create (a past start
becomes now), update in place or expire-and-replace, expire (active and pending), states
from the clock, the API shape, and one audit row per change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigil_alerter.clock import ManualClock
from vigil_alerter.store.silences import (
    SilenceNotFoundError,
    SilenceSpec,
    SilenceStateError,
    SilenceValidationError,
    create_silence,
    expire_silence,
    get_silence,
    list_silences,
    set_silence,
    update_silence,
    validate_silence,
)

PoolAs = Callable[[str], Awaitable[Any]]
HOUR = timedelta(hours=1)
CAM = {"name": "camera_id", "value": "lot-1", "isRegex": False, "isEqual": True}


def _spec(clock: ManualClock, *matchers: dict[str, Any], start: float = 0, hours: float = 2,
          comment: str = "maintenance") -> SilenceSpec:  # fmt: skip
    starts = clock() + timedelta(seconds=start)
    return SilenceSpec(
        matchers=matchers or (CAM,),
        starts_at=starts,
        ends_at=starts + hours * HOUR,
        created_by="ann",
        comment=comment,
    )


async def _actions(pool: Any, silence_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT action FROM audit_log WHERE entity_type = 'silence' AND entity_id = $1"
        " ORDER BY ts, id",
        silence_id,
    )
    return [r["action"] for r in rows]


@pytest.mark.parametrize(
    ("matchers", "error"),
    [
        ((), "at least one matcher"),
        (({"name": "camera id", "value": "x"},), "invalid label name"),
        (({"name": "a", "value": "(", "isRegex": True},), "invalid regular expression"),
        (({"name": "a", "value": ""},), "empty string"),
        (
            (
                {"name": "a", "value": ".*", "isRegex": True},
                {"name": "b", "value": "x", "isEqual": False},
            ),
            "empty string",
        ),
        (({"name": "a", "value": 3},), "value must be a string"),
    ],
)
def test_invalid_matchers_are_refused(matchers: tuple[dict[str, Any], ...], error: str) -> None:
    clock = ManualClock()
    spec = SilenceSpec(matchers, clock(), clock() + HOUR, "ann")
    with pytest.raises(SilenceValidationError, match=error):
        validate_silence(spec, clock())


def test_times_and_author_are_checked() -> None:
    clock = ManualClock()
    with pytest.raises(SilenceValidationError, match="start time must be before end time"):
        validate_silence(_spec(clock, hours=0), clock())
    with pytest.raises(SilenceValidationError, match="in the past"):
        validate_silence(_spec(clock, start=-7200, hours=1), clock())
    with pytest.raises(SilenceValidationError, match="createdBy"):
        validate_silence(SilenceSpec((CAM,), clock(), clock() + HOUR, " "), clock())
    regex = {"name": "camera_id", "value": "lot-.*", "isRegex": True}
    normalized = validate_silence(_spec(clock, regex), clock())
    assert normalized.matchers == ({**regex, "isEqual": True},)


async def test_create_then_states_follow_the_clock(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        sid = await create_silence(conn, _spec(clock, start=-60), now=clock())
        pending = await create_silence(conn, _spec(clock, start=3600), now=clock())
        silence = await get_silence(conn, sid)
        assert silence.starts_at == clock()  # a start in the past becomes now
        assert silence.state(clock()) == "active"
        assert [s.id for s in await list_silences(conn, clock(), state="pending")] == [pending]
        clock.advance(2 * HOUR)
        assert silence.state(clock()) == "expired"
        assert [s.id for s in await list_silences(conn, clock(), state="active")] == [pending]
        stored = await get_silence(conn, pending)
    assert stored.state(clock()) == "active"
    assert list(stored.matchers) == [CAM]
    assert (stored.created_by, stored.comment) == ("ann", "maintenance")
    assert await _actions(pg_pool, sid) == ["silence.created"]


async def test_update_in_place_keeps_the_id(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        spec = _spec(clock)
        sid = await create_silence(conn, spec, now=clock())
        clock.advance(600)
        longer = SilenceSpec(spec.matchers, spec.starts_at, spec.ends_at + HOUR, "bob", "longer")
        assert await update_silence(conn, sid, longer, now=clock()) == sid
        silence = await get_silence(conn, sid)
    assert (silence.ends_at, silence.comment, silence.created_by) == (
        spec.ends_at + HOUR, "longer", "bob")  # fmt: skip
    assert await _actions(pg_pool, sid) == ["silence.created", "silence.updated"]


async def test_changed_matchers_expire_and_replace(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    other = {"name": "camera_id", "value": "lot-2", "isRegex": False, "isEqual": True}
    async with alerter.acquire() as conn:
        sid = await create_silence(conn, _spec(clock), now=clock())
        clock.advance(600)
        new_id = await set_silence(conn, _spec(clock, other), now=clock(), silence_id=sid)
        assert new_id != sid
        old, new = await get_silence(conn, sid), await get_silence(conn, new_id)
    assert (old.state(clock()), old.ends_at) == ("expired", clock())
    assert (new.state(clock()), new.matchers) == ("active", (other,))
    assert await _actions(pg_pool, sid) == ["silence.created", "silence.expired"]
    assert await _actions(pg_pool, new_id) == ["silence.created"]
    replaced = await pg_pool.fetchval("SELECT details FROM audit_log WHERE entity_id = $1", new_id)
    assert replaced["replaces"] == sid


async def test_moving_an_active_silences_start_replaces_it(pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        sid = await create_silence(conn, _spec(clock), now=clock())
        clock.advance(600)
        assert await update_silence(conn, sid, _spec(clock, hours=1), now=clock()) != sid
        # an expired silence is not expired again: a new one simply replaces it
        clock.advance(3 * HOUR)
        assert await update_silence(conn, sid, _spec(clock), now=clock()) != sid


async def test_expire_active_and_pending(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        active = await create_silence(conn, _spec(clock), now=clock())
        pending = await create_silence(conn, _spec(clock, start=3600), now=clock())
        clock.advance(60)
        await expire_silence(conn, active, actor="bob", now=clock())
        await expire_silence(conn, pending, actor="bob", now=clock())
        for sid in (active, pending):
            silence = await get_silence(conn, sid)
            assert (silence.state(clock()), silence.ends_at) == ("expired", clock())
        assert (await get_silence(conn, pending)).starts_at == clock()
        with pytest.raises(SilenceStateError, match="already expired"):
            await expire_silence(conn, active, actor="bob", now=clock())
        for missing in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
            with pytest.raises(SilenceNotFoundError):
                await expire_silence(conn, missing, actor="bob", now=clock())
            with pytest.raises(SilenceNotFoundError):
                await get_silence(conn, missing)
    actor = await pg_pool.fetchval(
        "SELECT actor FROM audit_log WHERE action = 'silence.expired' AND entity_id = $1", active
    )
    assert actor == "bob"


async def test_in_place_updates_alertmanager_allows(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock(datetime(2026, 1, 6, 12, 0, 0, 400_000, tzinfo=UTC))
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        spec = _spec(clock)
        sid = await create_silence(conn, spec, now=clock(), actor="api")
        clock.advance(60)
        # the start as an API client sends it back: to the second (Alertmanager's Unix())
        echoed = replace(spec, starts_at=spec.starts_at.replace(microsecond=0), comment="x")
        assert await set_silence(conn, echoed, now=clock(), silence_id=sid, actor="bob") == sid
        stored = await get_silence(conn, sid)
        assert stored.starts_at == spec.starts_at
        pending = await create_silence(conn, _spec(clock, start=600), now=clock())
        later = _spec(clock, start=1200)
        assert await update_silence(conn, pending, later, now=clock()) == pending
        assert (await get_silence(conn, pending)).starts_at == later.starts_at
        with pytest.raises(SilenceNotFoundError):
            await update_silence(conn, "00000000-0000-0000-0000-000000000000", later, now=clock())
    rows = await pg_pool.fetch(
        "SELECT action, actor FROM audit_log WHERE entity_id = $1 ORDER BY ts, id", sid
    )
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("silence.created", "api"), ("silence.updated", "bob")]  # fmt: skip


def test_matcher_flags_must_be_booleans() -> None:
    clock = ManualClock()
    bad = SilenceSpec(({**CAM, "isRegex": "yes"},), clock(), clock() + HOUR, "ann")
    with pytest.raises(SilenceValidationError, match="booleans"):
        validate_silence(bad, clock())
    missing = SilenceSpec(({"name": "a"},), clock(), clock() + HOUR, "ann")
    with pytest.raises(SilenceValidationError, match="needs 'value'"):
        validate_silence(missing, clock())
