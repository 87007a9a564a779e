"""Rules into the real intake (PostgreSQL as ``vigil_alerter``): a stream of matching frames
is one ``alerts`` row refreshed about once a second, resolved ``resolve_after`` after the last
match; if the evaluator dies with the episode open, the alert still expires at its
``ends_at``; a camera in maintenance raises nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.expiry import expire_alerts
from vigil_alerter.engine.intake import Intake
from vigil_alerter.rules import MaintenanceRegistry, RuleEvaluator

from .rules_support import NIGHT, RULES_YAML, detection, frame

Source = Callable[[str], Any]


async def _camera(pool: Any, camera_id: str, state: str = "active") -> None:
    await pool.execute(
        "INSERT INTO cameras (id, name, desired_state) VALUES ($1, $1, $2)", camera_id, state
    )


async def _evaluator(pool: Any, source: Any, clock: ManualClock) -> RuleEvaluator:
    maintenance = MaintenanceRegistry(pool)
    await maintenance.refresh()
    return RuleEvaluator(source, maintenance, Intake(pool, source, clock).ingest, clock)


async def _rows(pool: Any) -> list[Any]:
    rows: list[Any] = await pool.fetch(
        "SELECT labels, source, status, active, occurrences, first_seen_at, ends_at, "
        "resolved_by, camera_id FROM alerts ORDER BY id"
    )
    return rows


async def test_a_stream_of_matches_is_one_alert_row_resolved_after_the_last(
    alerter_pool: Any, pg_pool: Any, config_source: Source
) -> None:
    await _camera(pg_pool, "lot-1")
    clock = ManualClock(NIGHT)
    source = config_source(RULES_YAML)
    rules = await _evaluator(alerter_pool, source, clock)
    for number in range(1, 301):  # 300 frames in 10 s
        rules.record(frame("lot-1", NIGHT, detection("person", 0.9, ["door"]), number=number),
                     clock())  # fmt: skip
        await rules.tick()
        clock.advance(1 / 30)
    last_match = clock() - timedelta(seconds=1 / 30)
    [row] = await _rows(pg_pool)
    assert (row["source"], row["status"], row["active"], row["camera_id"]) == (
        "rule", "new", True, "lot-1")  # fmt: skip
    assert row["labels"]["alertname"] == "intruder"
    assert row["labels"]["zone"] == "door"
    assert 10 <= row["occurrences"] <= 12
    assert row["first_seen_at"] == NIGHT
    clock.advance(timedelta(minutes=2))
    assert await rules.tick() == 1
    [row] = await _rows(pg_pool)
    assert (row["status"], row["active"], row["resolved_by"]) == ("resolved", False, "source")
    assert abs(row["ends_at"] - (last_match + timedelta(minutes=2))) < timedelta(seconds=1)


async def test_an_open_episode_of_a_dead_evaluator_expires_at_its_ends_at(
    alerter_pool: Any, pg_pool: Any, config_source: Source
) -> None:
    await _camera(pg_pool, "lot-1")
    clock = ManualClock(NIGHT)
    source = config_source(RULES_YAML)
    rules = await _evaluator(alerter_pool, source, clock)
    rules.record(frame("lot-1", NIGHT, detection("person", 0.9, ["door"])), clock())
    await rules.tick()
    del rules  # the process dies; its episode is gone
    clock.advance(timedelta(minutes=2) - timedelta(seconds=1))
    assert await expire_alerts(alerter_pool, clock) == 0
    clock.advance(1)
    assert await expire_alerts(alerter_pool, clock) == 1
    [row] = await _rows(pg_pool)
    assert (row["active"], row["ends_at"]) == (False, NIGHT + timedelta(minutes=2))


async def test_a_camera_in_maintenance_raises_no_alert(
    alerter_pool: Any, pg_pool: Any, config_source: Source
) -> None:
    await _camera(pg_pool, "lot-1", "maintenance")
    await _camera(pg_pool, "lot-2")
    clock = ManualClock(NIGHT)
    rules = await _evaluator(alerter_pool, config_source(RULES_YAML), clock)
    for camera in ("lot-1", "lot-2"):
        rules.record(frame(camera, NIGHT, detection("person", 0.9, ["door"])), clock())
    await rules.tick()
    assert [row["camera_id"] for row in await _rows(pg_pool)] == ["lot-2"]
