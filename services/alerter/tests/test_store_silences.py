"""Silences as ``vigil_alerter``, with Alertmanager's rules: validation, create (a past start
becomes now), update in place or expire-and-replace, expire (active and pending), states
from the clock, and one audit row per change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from vigil_alerter.clock import ManualClock
from vigil_alerter.config.matchers import Matcher, parse_matcher
from vigil_alerter.store.silences import (
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


def _fields(clock: ManualClock, *matchers: Any, start: float = 0, hours: float = 2,
            by: str = "ann", comment: str = "maintenance") -> dict[str, Any]:  # fmt: skip
    starts = clock() + timedelta(seconds=start)
    return {
        "matchers": list(matchers or (CAM,)),
        "starts_at": starts,
        "ends_at": starts + hours * HOUR,
        "created_by": by,
        "comment": comment,
        "now": clock(),
    }


async def _actions(pool: Any, silence_id: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT action, actor FROM audit_log WHERE entity_type = 'silence' AND entity_id = $1"
        " ORDER BY ts, id",
        silence_id,
    )
    return [(r["action"], r["actor"]) for r in rows]


@pytest.mark.parametrize(
    ("matchers", "error"),
    [
        ([], "at least one matcher"),
        ([{"name": "camera id", "value": "x"}], r"matchers\[0\]: invalid label name"),
        ([CAM, {"name": "a", "value": "(", "isRegex": True}], r"matchers\[1\]: invalid regular"),
        ([{"name": "a", "value": ""}], "empty string"),
        ([parse_matcher('a=~".*"'), parse_matcher('b!="x"')], "empty string"),
        ([{"name": "a", "value": 3}], "must be a string"),
    ],
)
def test_invalid_matchers_are_refused(matchers: list[Any], error: str) -> None:
    clock = ManualClock()
    with pytest.raises(SilenceValidationError, match=error):
        validate_silence(matchers, clock(), clock() + HOUR, clock())


def test_times_are_checked() -> None:
    now = ManualClock()()
    with pytest.raises(SilenceValidationError, match="start time must be before end time"):
        validate_silence([CAM], now, now, now)
    with pytest.raises(SilenceValidationError, match="in the past"):
        validate_silence([CAM], now - 2 * HOUR, now - HOUR, now)
    regex = {"name": "camera_id", "value": "lot-.*", "isRegex": True}
    assert validate_silence([regex], now - HOUR, now + HOUR, now) == (
        Matcher("camera_id", "=~", "lot-.*"),
    )


async def test_create_then_states_follow_the_clock(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        sid = await create_silence(conn, **_fields(clock, start=-60), actor="api")
        pending = await create_silence(conn, **_fields(clock, start=3600))
    silence = await get_silence(alerter, sid)
    assert silence is not None
    assert silence.starts_at == clock()  # a start in the past becomes now
    assert (silence.state(clock()), silence.matchers) == ("active", (Matcher.from_api(CAM),))
    assert (silence.created_by, silence.comment) == ("ann", "maintenance")
    assert silence.rule().mutes({"camera_id": "lot-1", "alertname": "x"}, clock())
    pendings = await list_silences(alerter, now=clock(), state="pending")
    assert [s.id for s in pendings] == [pending]
    clock.advance(2 * HOUR)
    assert silence.state(clock()) == "expired"
    actives = await list_silences(alerter, now=clock(), state="active")
    assert [s.id for s in actives] == [pending]
    assert {s.id for s in await list_silences(alerter)} == {sid, pending}
    assert await _actions(pg_pool, sid) == [("silence.created", "api")]
    assert await _actions(pg_pool, pending) == [("silence.created", "ann")]


async def test_update_in_place_keeps_the_id(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        fields = _fields(clock)
        sid = await create_silence(conn, **fields)
        clock.advance(600)
        longer = {**fields, "ends_at": fields["ends_at"] + HOUR, "created_by": "bob",
                  "comment": "longer", "now": clock()}  # fmt: skip
        assert await update_silence(conn, sid, **longer) == sid
        silence = await get_silence(conn, sid)
    assert silence is not None
    assert (silence.ends_at, silence.comment, silence.created_by) == (
        fields["ends_at"] + HOUR, "longer", "bob")  # fmt: skip
    assert silence.starts_at == fields["starts_at"]
    assert await _actions(pg_pool, sid) == [("silence.created", "ann"), ("silence.updated", "bob")]


async def test_changed_matchers_expire_and_replace(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    other = parse_matcher('camera_id="lot-2"')
    async with alerter.acquire() as conn:
        sid = await create_silence(conn, **_fields(clock))
        clock.advance(600)
        new_id = await set_silence(conn, sid, **_fields(clock, other))
        assert new_id is not None
        assert new_id != sid
        old, new = await get_silence(conn, sid), await get_silence(conn, new_id)
    assert old is not None
    assert new is not None
    assert (old.state(clock()), old.ends_at) == ("expired", clock())
    assert (new.state(clock()), new.matchers) == ("active", (other,))
    assert [a for a, _ in await _actions(pg_pool, sid)] == ["silence.created", "silence.expired"]
    assert [a for a, _ in await _actions(pg_pool, new_id)] == ["silence.created"]
    details = await pg_pool.fetchval("SELECT details FROM audit_log WHERE entity_id = $1", new_id)
    assert details["replaces"] == sid


async def test_other_updates_replace_the_silence(pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        sid = await create_silence(conn, **_fields(clock))
        clock.advance(600)
        moved = await update_silence(conn, sid, **_fields(clock, hours=1))  # a new start
        assert moved not in (None, sid)
        clock.advance(3 * HOUR)  # an expired silence is replaced, not expired again
        assert await update_silence(conn, sid, **_fields(clock)) not in (None, sid)
        pending = await create_silence(conn, **_fields(clock, start=600))
        later = _fields(clock, start=1200)
        assert await update_silence(conn, pending, **later) == pending  # pending: in place
        assert await update_silence(conn, "nope", **later) is None
        unknown = "00000000-0000-0000-0000-000000000000"
        assert await set_silence(conn, unknown, **later) is None
        created = await set_silence(conn, None, **later)
        assert created not in (None, pending)


async def test_expire_active_and_pending(pg_pool: Any, pg_pool_as: PoolAs) -> None:
    clock = ManualClock()
    alerter = await pg_pool_as("vigil_alerter")
    async with alerter.acquire() as conn:
        active = await create_silence(conn, **_fields(clock))
        pending = await create_silence(conn, **_fields(clock, start=3600))
        clock.advance(60)
        assert await expire_silence(conn, active, actor="bob", now=clock())
        assert await expire_silence(conn, pending, actor="bob", now=clock())
        for sid in (active, pending):
            silence = await get_silence(conn, sid)
            assert silence is not None
            assert (silence.state(clock()), silence.ends_at) == ("expired", clock())
            assert silence.starts_at <= clock()
        with pytest.raises(SilenceStateError, match="already expired"):
            await expire_silence(conn, active, actor="bob", now=clock())
        for missing in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
            assert not await expire_silence(conn, missing, actor="bob", now=clock())
            assert await get_silence(conn, missing) is None
    assert await _actions(pg_pool, active) == [
        ("silence.created", "ann"), ("silence.expired", "bob")]  # fmt: skip
