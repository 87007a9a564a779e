"""planner.plan: unit tests with a fixed clock, and properties over generated catalogs."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil_retention.models import (
    Action,
    ActionKind,
    ArchiveFile,
    Held,
    Partition,
    PartitionState,
    Plan,
    Policy,
    RollupState,
)
from vigil_retention.planner import floor_period, plan, shift_periods
from vigil_schema.enums import ExpireAction, Granularity

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
DAY = timedelta(days=1)
KIND_ORDER = list(ActionKind)


def policy(
    table: str = "camera_events",
    granularity: Granularity = Granularity.DAY,
    retention_days: int = 30,
    premake: int = 2,
    expire_action: ExpireAction = ExpireAction.DROP,
    archive_keep_days: int | None = None,
    min_retention_days: int = 0,
) -> Policy:
    return Policy(
        table=table,
        granularity=granularity,
        retention_days=retention_days,
        premake=premake,
        expire_action=expire_action,
        archive_keep_days=archive_keep_days,
        min_retention_days=min_retention_days,
    )


def day_part(
    table: str, start: datetime, state: PartitionState = PartitionState.ATTACHED
) -> Partition:
    return Partition(
        table=table,
        name=f"{table}_p{start:%Y%m%d}",
        start=start,
        end=start + DAY,
        state=state,
    )


def days_ahead(table: str, count: int) -> list[Partition]:
    """Today's partition and ``count - 1`` after it."""
    today = floor_period(NOW, Granularity.DAY)
    return [day_part(table, today + i * DAY) for i in range(count)]


def rollup(
    name: str, sources: tuple[str, ...], final: datetime | None, keep_days: int | None = None
) -> RollupState:
    return RollupState(
        name=name,
        source_tables=sources,
        bucket_width=timedelta(hours=1),
        lateness=timedelta(minutes=30),
        keep_days=keep_days,
        finalized_through=final,
        refreshed_through=final,
    )


def kinds(result: Plan) -> list[tuple[ActionKind, str, str | None]]:
    return [(a.kind, a.table, a.partition.name if a.partition else None) for a in result.actions]


# --- periods ---------------------------------------------------------------------------------


def test_floor_and_shift_periods() -> None:
    ts = datetime(2026, 11, 30, 23, 59, 59, 999, tzinfo=UTC)
    assert floor_period(ts, Granularity.HOUR) == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert floor_period(ts, Granularity.DAY) == datetime(2026, 11, 30, tzinfo=UTC)
    month = floor_period(ts, Granularity.MONTH)
    assert month == datetime(2026, 11, 1, tzinfo=UTC)
    assert shift_periods(month, Granularity.MONTH, 3) == datetime(2027, 2, 1, tzinfo=UTC)
    assert shift_periods(month, Granularity.MONTH, -11) == datetime(2025, 12, 1, tzinfo=UTC)
    assert shift_periods(month, Granularity.DAY, 2) == datetime(2026, 11, 3, tzinfo=UTC)
    other_zone = datetime(2026, 3, 10, 1, 0, tzinfo=UTC).astimezone(
        datetime(2026, 1, 1, tzinfo=UTC).astimezone().tzinfo
    )
    assert floor_period(other_zone, Granularity.DAY) == datetime(2026, 3, 10, tzinfo=UTC)


# --- CREATE_AHEAD ----------------------------------------------------------------------------


def test_create_ahead_when_a_period_is_missing() -> None:
    result = plan(NOW, [policy(premake=2)], days_ahead("camera_events", 2), [], [])
    assert [a.describe() for a in result.actions] == [
        {
            "kind": "create_ahead",
            "table": "camera_events",
            "until": "2026-03-12T00:00:00+00:00",
            "reason": "1 of 3 partitions missing, first from 2026-03-12T00:00:00+00:00",
        }
    ]


def test_no_create_ahead_when_all_exist() -> None:
    result = plan(NOW, [policy(premake=2)], days_ahead("camera_events", 3), [], [])
    assert result.actions == []
    assert result.held == []


def test_create_ahead_month_and_hour() -> None:
    now = datetime(2026, 11, 15, 7, 45, tzinfo=UTC)
    policies = [
        policy("audit_log", Granularity.MONTH, 365, 3, min_retention_days=365),
        policy("system_metrics", Granularity.HOUR, 7, 24),
    ]
    result = plan(now, policies, [], [], [])
    assert [(a.kind, a.table, a.until) for a in result.actions] == [
        (ActionKind.CREATE_AHEAD, "audit_log", datetime(2027, 2, 1, tzinfo=UTC)),
        (ActionKind.CREATE_AHEAD, "system_metrics", datetime(2026, 11, 16, 7, tzinfo=UTC)),
    ]


def test_an_odd_partition_covering_the_period_counts() -> None:
    today = floor_period(NOW, Granularity.DAY)
    odd = Partition(
        "camera_events", "camera_events_odd", today, today + 3 * DAY, PartitionState.ATTACHED
    )
    result = plan(NOW, [policy(premake=2)], [odd], [], [])
    assert result.actions == []


# --- EXPIRE ----------------------------------------------------------------------------------


def test_expire_only_whole_partitions_older_than_retention() -> None:
    cutoff = NOW - 30 * DAY  # 2026-02-08 12:30
    parts = [
        *days_ahead("camera_events", 3),
        day_part("camera_events", datetime(2026, 2, 7, tzinfo=UTC)),  # ends 02-08 00:00
        day_part("camera_events", datetime(2026, 2, 8, tzinfo=UTC)),  # ends 02-09: too young
        day_part("camera_events", datetime(2026, 2, 1, tzinfo=UTC)),
        Partition(
            "camera_events", "camera_events_edge", cutoff - DAY, cutoff, PartitionState.ATTACHED
        ),
        Partition(
            "camera_events",
            "camera_events_late",
            cutoff - DAY,
            cutoff + timedelta(microseconds=1),
            PartitionState.ATTACHED,
        ),
    ]
    result = plan(NOW, [policy(expire_action=ExpireAction.ARCHIVE_FILE)], parts, [], [])
    assert kinds(result) == [
        (ActionKind.EXPIRE, "camera_events", "camera_events_p20260201"),
        (ActionKind.EXPIRE, "camera_events", "camera_events_p20260207"),
        (ActionKind.EXPIRE, "camera_events", "camera_events_edge"),
    ]
    assert {a.expire_action for a in result.actions} == {ExpireAction.ARCHIVE_FILE}
    assert result.held == []


def test_unfinished_expired_partitions_go_first_and_young_detached_ones_are_left() -> None:
    parts = [
        *days_ahead("camera_events", 3),
        day_part("camera_events", datetime(2026, 1, 1, tzinfo=UTC)),
        day_part("camera_events", datetime(2026, 1, 10, tzinfo=UTC), PartitionState.DETACHED),
        day_part("camera_events", datetime(2026, 1, 20, tzinfo=UTC), PartitionState.DETACH_PENDING),
        day_part("camera_events", datetime(2026, 3, 5, tzinfo=UTC), PartitionState.DETACHED),
        day_part("camera_events", datetime(2025, 1, 1, tzinfo=UTC), PartitionState.ARCHIVED),
    ]
    result = plan(NOW, [policy()], parts, [], [])
    assert kinds(result) == [
        (ActionKind.EXPIRE, "camera_events", "camera_events_p20260110"),
        (ActionKind.EXPIRE, "camera_events", "camera_events_p20260120"),
        (ActionKind.EXPIRE, "camera_events", "camera_events_p20260101"),
    ]
    assert [a.reason for a in result.actions] == [
        "unfinished (detached)",
        "unfinished (detach_pending)",
        "range ended 30 days ago or more",
    ]
    assert result.held == []  # the detached 2026-03-05, not expired: an operator's, left alone


def test_audit_log_never_before_its_floor() -> None:
    old = datetime(2025, 2, 1, tzinfo=UTC)  # ended 2025-03-01: 374 days before NOW
    young = datetime(2025, 3, 1, tzinfo=UTC)  # ends 2025-04-01: 343 days before NOW
    parts = [
        Partition("audit_log", "audit_log_p202502", old, young, PartitionState.ATTACHED),
        Partition(
            "audit_log",
            "audit_log_p202503",
            young,
            datetime(2025, 4, 1, tzinfo=UTC),
            PartitionState.ATTACHED,
        ),
        Partition(
            "audit_log",
            "audit_log_p202504",
            datetime(2025, 4, 1, tzinfo=UTC),
            datetime(2025, 5, 1, tzinfo=UTC),
            PartitionState.DETACHED,
        ),
    ]
    # A policy row that says less than the year (a hand edit): the planner still holds.
    bad = policy("audit_log", Granularity.MONTH, 30, 0, ExpireAction.ARCHIVE_SCHEMA)
    result = plan(NOW, [bad], parts, [], [])
    assert kinds(result) == [
        (ActionKind.CREATE_AHEAD, "audit_log", None),
        (ActionKind.EXPIRE, "audit_log", "audit_log_p202502"),
    ]
    assert result.held == [
        Held("audit_log", "audit_log_p202504", "under min_retention_days 365"),
        Held("audit_log", "audit_log_p202503", "under min_retention_days 365"),
    ]


def test_min_retention_days_of_any_table() -> None:
    parts = [day_part("detections", datetime(2026, 1, 1, tzinfo=UTC), PartitionState.DETACHED)]
    result = plan(NOW, [policy("detections", premake=0, min_retention_days=90)], parts, [], [])
    assert [a.kind for a in result.actions] == [ActionKind.CREATE_AHEAD]
    assert result.held == [
        Held("detections", "detections_p20260101", "under min_retention_days 90")
    ]


def test_rollups_not_final_hold_expiry() -> None:
    parts = [
        day_part("camera_events", datetime(2026, 1, 1, tzinfo=UTC)),
        day_part("camera_events", datetime(2026, 1, 2, tzinfo=UTC)),
        day_part("camera_events", datetime(2026, 1, 3, tzinfo=UTC)),
        day_part("occupancy_events", datetime(2026, 1, 1, tzinfo=UTC)),
        day_part("frame_metadata", datetime(2026, 1, 1, tzinfo=UTC)),
        # Unfinished: invisible to the rollups already, so never held for them.
        day_part("occupancy_events", datetime(2026, 1, 5, tzinfo=UTC), PartitionState.DETACHED),
    ]
    rollups = [
        rollup(
            "camera_stats_hourly",
            ("camera_events", "frame_metadata"),
            datetime(2026, 1, 3, tzinfo=UTC),
        ),
        rollup("other", ("camera_events",), datetime(2026, 1, 2, 6, tzinfo=UTC)),
        rollup("occupancy_hourly", ("occupancy_events",), None),
    ]
    policies = [
        policy(t, premake=0) for t in ("camera_events", "occupancy_events", "frame_metadata")
    ]
    result = plan(
        NOW,
        policies,
        [
            *parts,
            *(
                p
                for t in ("camera_events", "occupancy_events", "frame_metadata")
                for p in days_ahead(t, 1)
            ),
        ],
        rollups,
        [],
    )
    assert kinds(result) == [
        (ActionKind.EXPIRE, "camera_events", "camera_events_p20260101"),
        (ActionKind.EXPIRE, "frame_metadata", "frame_metadata_p20260101"),
        (ActionKind.EXPIRE, "occupancy_events", "occupancy_events_p20260105"),
    ]
    assert result.held == [
        Held(
            "camera_events",
            "camera_events_p20260102",
            "rollup other final only through 2026-01-02T06:00:00+00:00",
        ),
        Held(
            "camera_events",
            "camera_events_p20260103",
            "rollup camera_stats_hourly final only through 2026-01-03T00:00:00+00:00",
        ),
        Held(
            "occupancy_events",
            "occupancy_events_p20260101",
            "rollup occupancy_hourly final only through nothing",
        ),
    ]


# --- archives and rollups ----------------------------------------------------------------------


def test_drop_archived_and_delete_files_after_keep_days() -> None:
    keep = policy(expire_action=ExpireAction.ARCHIVE_FILE, archive_keep_days=60, premake=0)
    gone = day_part("camera_events", datetime(2026, 1, 8, tzinfo=UTC), PartitionState.ARCHIVED)
    kept = day_part("camera_events", datetime(2026, 1, 9, tzinfo=UTC), PartitionState.ARCHIVED)
    files = [
        ArchiveFile(
            "camera_events",
            "camera_events_p20260108",
            Path("a/08.sql.gz"),
            datetime(2026, 1, 8, tzinfo=UTC),
            datetime(2026, 1, 9, tzinfo=UTC),
        ),
        ArchiveFile(
            "camera_events",
            "camera_events_p20260109",
            Path("a/09.sql.gz"),
            datetime(2026, 1, 9, tzinfo=UTC),
            datetime(2026, 1, 10, tzinfo=UTC),
        ),
        ArchiveFile(
            "unknown_table",
            "x_p20200101",
            Path("a/x.sql.gz"),
            datetime(2020, 1, 1, tzinfo=UTC),
            datetime(2020, 1, 2, tzinfo=UTC),
        ),
    ]
    result = plan(NOW, [keep], [kept, gone, *days_ahead("camera_events", 1)], [], files)
    assert [(a.kind, a.partition.name if a.partition else a.path) for a in result.actions] == [
        (ActionKind.DROP_ARCHIVED, "camera_events_p20260108"),
        (ActionKind.DELETE_ARCHIVE_FILE, Path("a/08.sql.gz")),
    ]
    never = plan(NOW, [replace(keep, archive_keep_days=None)], [gone], [], files)
    assert ActionKind.DROP_ARCHIVED not in [a.kind for a in never.actions]
    assert ActionKind.DELETE_ARCHIVE_FILE not in [a.kind for a in never.actions]


def test_prune_rollups_floored_to_the_bucket() -> None:
    rollups = [
        rollup("system_metrics_rollup_1m", ("system_metrics",), None, keep_days=90),
        rollup("camera_stats_hourly", ("camera_events",), None, keep_days=None),
    ]
    result = plan(NOW, [], [], rollups, [])
    assert [a.describe() for a in result.actions] == [
        {
            "kind": "prune_rollup",
            "table": "system_metrics_rollup_1m",
            "until": "2025-12-10T12:00:00+00:00",
            "reason": "keep_days 90",
        }
    ]


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(datetime(2026, 1, 1), [], [], [], [])


def test_full_plan_order_and_determinism() -> None:
    policies = [
        policy("camera_events", expire_action=ExpireAction.ARCHIVE_FILE, archive_keep_days=60),
        policy("audit_log", Granularity.MONTH, 365, 3, ExpireAction.ARCHIVE_SCHEMA, 400, 365),
    ]
    parts = [
        day_part("camera_events", datetime(2026, 1, 1, tzinfo=UTC)),
        day_part("camera_events", datetime(2025, 12, 1, tzinfo=UTC), PartitionState.ARCHIVED),
        Partition(
            "audit_log",
            "audit_log_p202401",
            datetime(2024, 1, 1, tzinfo=UTC),
            datetime(2024, 2, 1, tzinfo=UTC),
            PartitionState.ARCHIVED,
        ),
        Partition(
            "audit_log",
            "audit_log_p202501",
            datetime(2025, 1, 1, tzinfo=UTC),
            datetime(2025, 2, 1, tzinfo=UTC),
            PartitionState.ATTACHED,
        ),
    ]
    files = [
        ArchiveFile(
            "camera_events",
            "camera_events_p20251101",
            Path("f.sql.gz"),
            datetime(2025, 11, 1, tzinfo=UTC),
            datetime(2025, 11, 2, tzinfo=UTC),
        )
    ]
    rollups = [rollup("camera_stats_hourly", ("camera_events",), NOW, keep_days=730)]
    result = plan(NOW, policies, parts, rollups, files)
    assert [(a.kind, a.table) for a in result.actions] == [
        (ActionKind.CREATE_AHEAD, "audit_log"),
        (ActionKind.CREATE_AHEAD, "camera_events"),
        (ActionKind.EXPIRE, "audit_log"),
        (ActionKind.EXPIRE, "camera_events"),
        (ActionKind.DROP_ARCHIVED, "audit_log"),
        (ActionKind.DROP_ARCHIVED, "camera_events"),
        (ActionKind.DELETE_ARCHIVE_FILE, "camera_events"),
        (ActionKind.PRUNE_ROLLUP, "camera_stats_hourly"),
    ]
    shuffled = random.Random(7)
    for _ in range(5):
        p, q, r = list(policies), list(parts), list(rollups)
        for items in (p, q, r):
            shuffled.shuffle(items)
        assert plan(NOW, p, q, r, files) == result


# --- properties ------------------------------------------------------------------------------

TABLES = ("camera_events", "audit_log", "detections")
_times = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@st.composite
def catalogs(draw: st.DrawFn) -> tuple[datetime, list[Policy], list[Partition], list[RollupState]]:
    now = draw(_times)
    policies = []
    for table in TABLES:
        floor = draw(st.integers(0, 400))
        policies.append(
            policy(
                table,
                draw(st.sampled_from(list(Granularity))),
                draw(st.integers(max(floor, 1), 800)),
                draw(st.integers(0, 5)),
                draw(st.sampled_from(list(ExpireAction))),
                draw(st.none() | st.integers(800, 900)),
                floor,
            )
        )
    parts = []
    for i in range(draw(st.integers(0, 25))):
        table = draw(st.sampled_from(TABLES))
        start = draw(_times)
        length = draw(st.sampled_from([timedelta(hours=1), DAY, 31 * DAY]))
        state = draw(st.sampled_from(list(PartitionState)))
        parts.append(Partition(table, f"{table}_{i}", start, start + length, state))
    rollups = [
        rollup(
            f"r{i}",
            tuple(draw(st.lists(st.sampled_from(TABLES), max_size=2))),
            draw(st.none() | _times),
        )
        for i in range(draw(st.integers(0, 3)))
    ]
    return now, policies, parts, rollups


def _check_expire(
    action: Action, now: datetime, policies: dict[str, Policy], rollups: list[RollupState]
) -> None:
    part = action.partition
    assert part is not None
    pol = policies[action.table]
    floor = max(pol.min_retention_days, 365 if pol.table == "audit_log" else 0)
    assert part.end <= now - timedelta(days=floor)
    if part.state is PartitionState.ATTACHED:
        assert part.end <= now - timedelta(days=pol.retention_days)
    assert part.state is not PartitionState.ARCHIVED
    for r in rollups:
        if action.table in r.source_tables and part.state is PartitionState.ATTACHED:
            assert r.finalized_through is not None
            assert r.finalized_through >= part.end


@settings(max_examples=300, deadline=None)
@given(catalogs(), st.randoms(use_true_random=False))
def test_plan_properties(
    catalog: tuple[datetime, list[Policy], list[Partition], list[RollupState]],
    rnd: random.Random,
) -> None:
    now, policies, parts, rollups = catalog
    result = plan(now, policies, parts, rollups, [])
    by_table = {p.table: p for p in policies}
    order = [KIND_ORDER.index(a.kind) for a in result.actions]
    assert order == sorted(order)
    expired = [
        a.partition.name
        for a in result.actions
        if a.kind is ActionKind.EXPIRE and a.partition is not None
    ]
    assert len(expired) == len(set(expired))
    for action in result.actions:
        if action.kind is ActionKind.EXPIRE:
            _check_expire(action, now, by_table, rollups)
    # Every due partition is either expired or held, never silently skipped.
    due = {
        p.name
        for p in parts
        if p.state is not PartitionState.ARCHIVED
        and p.end <= now - timedelta(days=by_table[p.table].retention_days)
    }
    assert set(expired) | {h.partition for h in result.held} == due
    assert not set(expired) & {h.partition for h in result.held}
    shuffled = list(parts)
    rnd.shuffle(shuffled)
    assert plan(now, list(reversed(policies)), shuffled, list(reversed(rollups)), []) == result
