"""The retention plan: what one run does, decided from a catalog read and a clock (no I/O).

``plan(now, policies, partitions, rollups, archive_files)`` is pure and deterministic: the same
inputs give the same :class:`~vigil_retention.models.Plan`, whatever their order. Actions come
in execution order:

1. ``CREATE_AHEAD`` per table (by name) whose partitions from ``now``'s period through
   ``until`` (the start of the ``premake``-th period after it) are not all attached; the
   executor runs ``vigil_ensure_partition_range(table, now, until)``.
2. ``EXPIRE`` per table (by name): first the previous run's unfinished work
   (``DETACH_PENDING`` and ``DETACHED`` partitions whose range has expired), then the attached
   partitions whose range ended at least ``retention_days`` ago, oldest first. A partition
   whose ``end > now - retention_days`` is never expired (a detached or pending one of that
   age is an operator's, left alone).
3. ``DROP_ARCHIVED``: ``vigil_archive`` tables whose range ended ``archive_keep_days`` ago.
4. ``DELETE_ARCHIVE_FILE``: exports whose range ended ``archive_keep_days`` ago.
5. ``PRUNE_ROLLUP``: per rollup with ``keep_days``, rows before ``now - keep_days``
   (floored to the rollup's bucket).

Held back (:class:`~vigil_retention.models.Held`), whatever the policy says:

- a partition whose range ends after ``now - min_retention_days`` (audit_log: never under
  :data:`AUDIT_LOG_MIN_RETENTION_DAYS`, even if its policy row says less);
- the expiry of an attached partition while a rollup over the table is not final past the
  partition's end: reason ``"rollup <name> final only through <ts>"``. Unfinished partitions
  are not held for rollups: their rows are already invisible through the parent (so no
  rollup can read them again), and a parent with a detach-pending partition refuses the
  next ``DETACH ... CONCURRENTLY`` until it is finalized.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

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
from vigil_schema.enums import Granularity

__all__ = [
    "AUDIT_LOG_MIN_RETENTION_DAYS",
    "floor_period",
    "plan",
    "shift_periods",
]

AUDIT_LOG_MIN_RETENTION_DAYS = 365
"""audit_log is never expired (nor its archive deleted) before this age (seed 001)."""

_UNFINISHED = (PartitionState.DETACH_PENDING, PartitionState.DETACHED)
_LIVE = (PartitionState.ATTACHED, PartitionState.DETACH_PENDING)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def plan(
    now: datetime,
    policies: Iterable[Policy],
    partitions: Iterable[Partition],
    rollups: Iterable[RollupState],
    archive_files: Iterable[ArchiveFile],
) -> Plan:
    """The run's actions in execution order and the expiries it holds back (see module doc)."""
    _require_aware(now)
    by_table = {p.table: p for p in sorted(policies, key=lambda p: p.table)}
    parts = sorted(
        (p for p in partitions if p.table in by_table), key=lambda p: (p.table, p.start, p.name)
    )
    rollup_list = sorted(rollups, key=lambda r: r.name)
    result = Plan(now=now)
    for policy in by_table.values():
        own = [p for p in parts if p.table == policy.table]
        create = _create_ahead(now, policy, own)
        if create is not None:
            result.actions.append(create)
    for policy in by_table.values():
        own = [p for p in parts if p.table == policy.table]
        _plan_expiry(result, policy, own, rollup_list)
    for policy in by_table.values():
        own = [p for p in parts if p.table == policy.table]
        _plan_drop_archived(result, policy, own)
    files = sorted(archive_files, key=lambda f: (f.table, f.start, f.partition, str(f.path)))
    for policy in by_table.values():
        _plan_delete_files(result, policy, [f for f in files if f.table == policy.table])
    for rollup in rollup_list:
        prune = _prune_rollup(now, rollup)
        if prune is not None:
            result.actions.append(prune)
    return result


def floor_period(ts: datetime, granularity: Granularity) -> datetime:
    """Start (UTC) of the ``granularity`` period holding ``ts`` (as vigil_partition_bounds)."""
    utc = ts.astimezone(UTC)
    if granularity is Granularity.HOUR:
        return utc.replace(minute=0, second=0, microsecond=0)
    if granularity is Granularity.DAY:
        return utc.replace(hour=0, minute=0, second=0, microsecond=0)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def shift_periods(start: datetime, granularity: Granularity, count: int) -> datetime:
    """``start`` (a period start) moved ``count`` periods later (earlier when negative)."""
    if granularity is Granularity.HOUR:
        return start + timedelta(hours=count)
    if granularity is Granularity.DAY:
        return start + timedelta(days=count)
    months = start.year * 12 + (start.month - 1) + count
    return start.replace(year=months // 12, month=months % 12 + 1)


def _create_ahead(now: datetime, policy: Policy, own: Sequence[Partition]) -> Action | None:
    """CREATE_AHEAD through the start of the premake-th period after now's, if one is missing."""
    first = floor_period(now, policy.granularity)
    until = shift_periods(first, policy.granularity, policy.premake)
    live = [p for p in own if p.state in _LIVE]
    missing = [
        start
        for start in (
            shift_periods(first, policy.granularity, i) for i in range(policy.premake + 1)
        )
        if not any(p.start <= start < p.end for p in live)
    ]
    if not missing:
        return None
    return Action(
        kind=ActionKind.CREATE_AHEAD,
        table=policy.table,
        until=until,
        reason=f"{len(missing)} of {policy.premake + 1} partitions missing, first from "
        f"{missing[0].isoformat()}",
    )


def _floor_days(policy: Policy) -> int:
    """Days a partition's range must have ended before it may go: min_retention_days."""
    if policy.table == "audit_log":
        return max(policy.min_retention_days, AUDIT_LOG_MIN_RETENTION_DAYS)
    return policy.min_retention_days


def _plan_expiry(
    result: Plan, policy: Policy, own: Sequence[Partition], rollups: Sequence[RollupState]
) -> None:
    """EXPIRE the unfinished partitions, then the expired attached ones (oldest first)."""
    cutoff = result.now - timedelta(days=policy.retention_days)
    # A previous run's unfinished work (it only detaches expired partitions); a detached or
    # pending table whose range has not expired is an operator's, and is left alone.
    unfinished = [p for p in own if p.state in _UNFINISHED and p.end <= cutoff]
    expired = [p for p in own if p.state is PartitionState.ATTACHED and p.end <= cutoff]
    for part in [*unfinished, *expired]:
        reason = _hold_reason(result.now, policy, part, rollups)
        if reason is not None:
            result.held.append(Held(table=policy.table, partition=part.name, reason=reason))
            continue
        why = (
            f"unfinished ({part.state.value})"
            if part.state in _UNFINISHED
            else f"range ended {policy.retention_days} days ago or more"
        )
        result.actions.append(
            Action(
                kind=ActionKind.EXPIRE,
                table=policy.table,
                partition=part,
                expire_action=policy.expire_action,
                reason=why,
            )
        )


def _hold_reason(
    now: datetime, policy: Policy, part: Partition, rollups: Sequence[RollupState]
) -> str | None:
    """Why ``part`` may not expire yet, or None."""
    floor = _floor_days(policy)
    if part.end > now - timedelta(days=floor):
        return f"under min_retention_days {floor}"
    if part.state is not PartitionState.ATTACHED:
        return None
    for rollup in rollups:
        if policy.table not in rollup.source_tables:
            continue
        final = rollup.finalized_through
        if final is None or final < part.end:
            through = "nothing" if final is None else final.isoformat()
            return f"rollup {rollup.name} final only through {through}"
    return None


def _plan_drop_archived(result: Plan, policy: Policy, own: Sequence[Partition]) -> None:
    """DROP_ARCHIVED the vigil_archive tables past archive_keep_days (never under the floor)."""
    if policy.archive_keep_days is None:
        return
    days = max(policy.archive_keep_days, _floor_days(policy))
    cutoff = result.now - timedelta(days=days)
    for part in own:
        if part.state is PartitionState.ARCHIVED and part.end <= cutoff:
            result.actions.append(
                Action(
                    kind=ActionKind.DROP_ARCHIVED,
                    table=policy.table,
                    partition=part,
                    reason=f"archive range ended {days} days ago or more",
                )
            )


def _plan_delete_files(result: Plan, policy: Policy, files: Sequence[ArchiveFile]) -> None:
    """DELETE_ARCHIVE_FILE the exports past archive_keep_days (never under the floor)."""
    if policy.archive_keep_days is None:
        return
    days = max(policy.archive_keep_days, _floor_days(policy))
    cutoff = result.now - timedelta(days=days)
    for file in files:
        if file.end <= cutoff:
            result.actions.append(
                Action(
                    kind=ActionKind.DELETE_ARCHIVE_FILE,
                    table=policy.table,
                    path=file.path,
                    reason=f"{file.partition}: range ended {days} days ago or more",
                )
            )


def _prune_rollup(now: datetime, rollup: RollupState) -> Action | None:
    """PRUNE_ROLLUP the buckets before now - keep_days (floored to the bucket width)."""
    if rollup.keep_days is None:
        return None
    cut = now - timedelta(days=rollup.keep_days)
    width = rollup.bucket_width
    until = _EPOCH + ((cut - _EPOCH) // width) * width if width > timedelta(0) else cut
    return Action(
        kind=ActionKind.PRUNE_ROLLUP,
        table=rollup.name,
        until=until,
        reason=f"keep_days {rollup.keep_days}",
    )


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
